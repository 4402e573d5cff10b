// Sandbox tests: real boxes, real limits, a probe that tries to break out.
// Tagged [v2] where they also run on a cgroup v2 kernel in QEMU (.ci/run).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <functional>
#include <sstream>
#include <thread>

#include "core/util/fd.h"
#include "tests/support.h"

using namespace execd;
using namespace execd::test;
using Catch::Matchers::Contains;

namespace {

LimitOverrides limits_with(int64_t time_ms) {
    LimitOverrides l;
    l.time_ms = time_ms;
    return l;
}

// Nothing of a finished job may remain: no process with a box uid, no box
// cgroup, no work dir.
void require_nothing_left() {
    CHECK(box_uid_processes().empty());
    Sandbox& sb = shared_sandbox();
    if (sb.cgroup_version() == 1) {
        for (const char* c : {"memory", "pids", "cpuacct"})
            for (int slot = 0; slot < 4; ++slot) {
                std::string dir = std::string("/sys/fs/cgroup/") + c + "/" + test_cgroup_parent() + "/box-" +
                                  std::to_string(test_uid_base() + slot);
                CHECK(access(dir.c_str(), F_OK) != 0);
            }
    }
    // The work area holds no job's directory.
    std::string listing;
    if (DIR* d = opendir("/run/execd/ns/work")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') listing += e->d_name;
        closedir(d);
    }
    CHECK(listing.empty());
}

}  // namespace

TEST_CASE("hello world runs and is measured", "[sandbox][v2]") {
    auto r = run_code("python", "print('hello')\n");
    INFO(r.run.message);
    REQUIRE(r.run.verdict == Verdict::OK);
    CHECK(r.run.stdout_data == "hello\n");
    CHECK(r.run.exit_code == 0);
    CHECK(r.run.memory_kb > 1000);
    CHECK(r.run.time_ms < 3000);
    require_nothing_left();
}

TEST_CASE("the probe finds no way out of the box", "[sandbox]") {
    const std::string probe = read_text(EXECD_SOURCE_DIR "/tests/sandbox/probe.c");
    REQUIRE_FALSE(probe.empty());
    auto r = run_code("c", probe);
    INFO(r.run.message << (r.compile ? r.compile->stderr_data : ""));
    REQUIRE(r.run.verdict == Verdict::OK);
    const std::string& out = r.run.stdout_data;
    INFO(out);
    CHECK_THAT(out, !Contains("BREACH"));
    // clang-format off
    for (const char* check :
         {"uid ok", "setuid0 ok", "cap_effective ok", "cap_permitted ok", "cap_bounding ok", "no_new_privs ok",
          "seccomp ok", "connect_127.0.0.1 ok", "connect_127.0.0.53 ok", "udp_127.0.0.1 ok", "connect_::1 ok",
          "loopback_down ok", "only_loopback_interface ok", "write_box ok", "mkdir_box ok", "write_tmp ok",
          "write_root ok", "write_usr ok", "write_dev ok", "write_proc_sys ok", "open_sys_cgroup ok",
          "open_block_device ok", "read_shadow ok", "dev_null_works ok", "proc_shows_only_box ok",
          "environment_allowlist ok", "hostname ok", "unshare_user ok", "unshare_net ok", "clone_newuser ok",
          "clone3_unavailable ok", "ptrace_traceme ok", "ptrace_attach_init ok", "mount_tmpfs ok", "chroot ok",
          "bpf ok", "perf_event_open ok", "io_uring_setup ok", "userfaultfd ok", "keyctl ok",
          "open_proc_1_mem ok", "kill_init ok"})
        CHECK_THAT(out, Contains(std::string("\n") + check) || Catch::Matchers::StartsWith(check));
    // clang-format on
    require_nothing_left();
}

TEST_CASE("foreign system-call ABIs kill the program", "[sandbox]") {
    // int 0x80 is the 32-bit entry; nr 20 there is getpid.
    auto i386 = run_code(
        "c", "int main(void){ long r; __asm__ volatile(\"int $0x80\" : \"=a\"(r) : \"a\"(20L)); return 0; }\n");
    // Killed either by the filter (SIGSYS) or, where the kernel has no
    // 32-bit emulation at all, by a general protection fault (SIGSEGV).
    CHECK(i386.run.verdict == Verdict::RuntimeError);
    CHECK((i386.run.exit_code == 128 + SIGSYS || i386.run.exit_code == 128 + SIGSEGV));
    // x32: the x86_64 entry with bit 30 set.
    auto x32 = run_code("c",
                        "#define _GNU_SOURCE\n#include <unistd.h>\n#include <sys/syscall.h>\nint main(void){ "
                        "syscall(0x40000000L | 39); return 0; }\n");
    CHECK(x32.run.verdict == Verdict::RuntimeError);
    CHECK(x32.run.exit_code == 128 + SIGSYS);
}

TEST_CASE("the compile step may write its work dir, the run step may not", "[sandbox]") {
    auto r = run_code("c",
                      "#include <stdio.h>\nint main(void){ FILE* f = fopen(\"/box/out.txt\", \"w\"); "
                      "printf(\"%s\\n\", f ? \"wrote\" : \"refused\"); return 0; }\n");
    REQUIRE(r.compile.has_value());
    CHECK(r.compile->verdict == Verdict::OK);
    CHECK(r.run.stdout_data == "refused\n");
}

TEST_CASE("an infinite loop is TimeLimitExceeded with exit code 124", "[sandbox][v2]") {
    auto r = run_code("python", "while True: pass\n", {}, limits_with(1000));
    CHECK(r.run.verdict == Verdict::TimeLimitExceeded);
    CHECK(r.run.exit_code == 124);
    CHECK(r.run.time_ms >= 1000);
    CHECK(r.run.time_ms < 2500);
    require_nothing_left();
}

TEST_CASE("sleeping past the wall limit is TimeLimitExceeded", "[sandbox][v2]") {
    auto r = run_code("python", "import time\ntime.sleep(60)\n", {}, limits_with(2000));
    CHECK(r.run.verdict == Verdict::TimeLimitExceeded);
    CHECK(r.run.exit_code == 124);
    CHECK(r.run.cpu_ms < r.run.time_ms / 2);  // sleeping costs no CPU
    CHECK(r.run.time_ms < 3500);
    require_nothing_left();
}

TEST_CASE("CPU time is limited across threads too", "[sandbox]") {
    LimitOverrides l;
    l.time_ms = 5000;
    l.cpu_ms = 500;
    auto r = run_code("python", "while True: pass\n", {}, l);
    CHECK(r.run.verdict == Verdict::TimeLimitExceeded);
    CHECK(r.run.time_ms < 2000);
    CHECK(r.run.message.find("CPU") != std::string::npos);
}

TEST_CASE("allocating 1 GiB is MemoryLimitExceeded from the OOM counter", "[sandbox][v2]") {
    // In 1 MiB pieces: one 1 GiB request can be refused up front by the
    // kernel's overcommit heuristic on a small machine (MemoryError), which
    // would test Python rather than the cgroup.
    auto r = run_code("python", "chunks = [b'x' * (1 << 20) for _ in range(1024)]\nprint(len(chunks))\n", {},
                      limits_with(20000));
    CHECK(r.run.verdict == Verdict::MemoryLimitExceeded);
    CHECK(r.run.exit_code == 137);
    CHECK(r.run.stdout_data.empty());
    require_nothing_left();
}

TEST_CASE("memoryKb is the program's peak: a known footprint within 10 %, a hello world above 0, a tree's sum",
          "[sandbox][v2]") {
    // The program measures itself: its peak resident set (what /usr/bin/time
    // reports) after touching 50 MiB, printed at the end.
    const char* touch50 =
        "#include <stdio.h>\n#include <stdlib.h>\n#include <sys/resource.h>\n"
        "int main(void) {\n"
        "  size_t n = 50u << 20; volatile char* p = malloc(n);\n"
        "  for (size_t i = 0; i < n; i += 4096) p[i] = 1;\n"
        "  struct rusage ru; getrusage(RUSAGE_SELF, &ru);\n"
        "  printf(\"%ld\\n\", ru.ru_maxrss); return p[4096] - 1;\n}\n";
    for (int round = 0; round < 2; ++round) {  // the second one reuses what the first left warm
        auto r = run_code("c", touch50);
        INFO(r.run.message << (r.compile ? r.compile->message : ""));
        REQUIRE(r.run.verdict == Verdict::OK);
        const double self_kb = std::stod(r.run.stdout_data);
        INFO("program's own maxrss " << self_kb << " KB, memoryKb " << r.run.memory_kb);
        CHECK(self_kb > 50 * 1024);
        CHECK(std::abs(static_cast<double>(r.run.memory_kb) - self_kb) <= 0.10 * self_kb);
    }

    auto hello = run_code("c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n");
    REQUIRE(hello.run.verdict == Verdict::OK);
    CHECK(hello.run.memory_kb > 0);

    // Two processes holding 30 and 20 MiB at the same moment: the box's
    // peak is their sum, not either one's.
    const char* pair =
        "#include <stdlib.h>\n#include <unistd.h>\n#include <sys/wait.h>\n"
        "static void touch(size_t mb) { volatile char* p = malloc(mb << 20);\n"
        "  for (size_t i = 0; i < (mb << 20); i += 4096) p[i] = 1; }\n"
        "int main(void) { int ready[2], done[2]; char c; pipe(ready); pipe(done);\n"
        "  if (fork() == 0) { touch(30); write(ready[1], \"x\", 1); read(done[0], &c, 1); _exit(0); }\n"
        "  read(ready[0], &c, 1); touch(20); write(done[1], \"x\", 1); wait(0); return 0; }\n";
    auto both = run_code("c", pair);
    INFO(both.run.message);
    REQUIRE(both.run.verdict == Verdict::OK);
    INFO("memoryKb " << both.run.memory_kb);
    CHECK(both.run.memory_kb >= 50 * 1024 * 9 / 10);  // well above either one's 30 MiB
    CHECK(both.run.memory_kb <= 50 * 1024 * 13 / 10);
    require_nothing_left();
}

TEST_CASE("memory just under the limit is fine and reported", "[sandbox][v2]") {
    auto r = run_code("python", "b = bytearray(64 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('ok')\n");
    INFO(r.run.message);
    CHECK(r.run.verdict == Verdict::OK);
    CHECK(r.run.memory_kb >= 64 * 1024);
    CHECK(r.run.memory_kb <= 128 * 1024);
}

namespace {

// The smallest regular file of at least 64 MiB below /usr/lib: larger than
// the room a box has left at its memory limit, and no more I/O than that
// (a cgroup v2 guest reads /usr over 9p, a page a fault).
std::string large_usr_file() {
    std::string best;
    off_t best_size = 0;
    std::function<void(const std::string&, int)> walk = [&](const std::string& dir, int depth) {
        DIR* d = opendir(dir.c_str());
        if (!d) return;
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            const std::string path = dir + "/" + e->d_name;
            struct stat st {};
            if (lstat(path.c_str(), &st) != 0) continue;
            if (S_ISDIR(st.st_mode) && depth < 4) walk(path, depth + 1);
            if (S_ISREG(st.st_mode) && st.st_size >= (64 << 20) && (best.empty() || st.st_size < best_size))
                best = path, best_size = st.st_size;
        }
        closedir(d);
    };
    walk("/usr/lib", 0);
    INFO("the smallest file of at least 64 MiB below /usr/lib: " << best << ", " << (best_size >> 20) << " MiB");
    REQUIRE(!best.empty());
    return best;
}

// Holds `hold` MiB, drops the file named on stdin from the page cache (so
// its pages are charged to this box when read back), then goes over it
// `passes` times, through a mapping (every page, in a scattered order) or
// with read(2); prints what it saw.
std::string held_file_reader(int hold, int passes, bool mapped) {
    return "#include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
           "#include <sys/mman.h>\n#include <sys/stat.h>\n#include <unistd.h>\n"
           "int main(void) {\n"
           "  char path[4096] = {0}; if (!fgets(path, sizeof path, stdin)) return 2;\n"
           "  path[strcspn(path, \"\\n\")] = 0;\n"
           "  size_t hold = (size_t)" +
           std::to_string(hold) +
           " << 20; char* held = malloc(hold); memset(held, 1, hold);\n"
           "  int fd = open(path, O_RDONLY); if (fd < 0) return 3;\n"
           "  struct stat st; fstat(fd, &st); posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);\n"
           "  unsigned long seen = 0;\n"
           "  static char buf[1 << 16];\n"
           "  const char* map = " +
           (mapped ? "mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)" : "0") +
           ";\n"
           // Page by page in a scattered order, each fault reading one page:
           // the kernel reads no cluster around it.
           "  if (map) madvise((void*)map, st.st_size, MADV_RANDOM);\n"
           "  for (int pass = 0; pass < " +
           std::to_string(passes) +
           "; ++pass) {\n"
           "    if (map) { size_t pages = st.st_size / 4096;\n"
           "      for (size_t k = 0, i = 0; k < pages; ++k, i = (i + 7919) % pages) seen += map[i * 4096] != 7; }\n"
           "    else { ssize_t n; lseek(fd, 0, SEEK_SET); while ((n = read(fd, buf, sizeof buf)) > 0) seen += n; }\n"
           "  }\n"
           "  printf(\"%lu %d\\n\", seen, held[hold - 1]);\n"
           "  return 0;\n}\n";
}

}  // namespace

TEST_CASE("a program thrashing at its memory limit is stopped as MemoryLimitExceeded, not left to crawl",
          "[sandbox][v2]") {
    // 52 of its 64 MiB held, the program goes over a mapping of a file of at
    // least 64 MiB again and again: the kernel keeps it within its limit only
    // by evicting pages of the mapping, which the next pass reads back from
    // disk. Nothing is ever OOM-killed; left alone it would crawl (and load
    // the disk) until its time limit.
    const std::string file = large_usr_file();
    // One pass over the mapping, the same program otherwise: thrashing can
    // begin only with the second, so that is how long detection must take at
    // least, wherever /usr is (a slow disk; 9p in an emulated guest took 7 to
    // 45 s a pass). Both runs drop the file from this kernel's page cache;
    // read once here, it is warm wherever else it is cached (a guest's
    // host), for both alike.
    {
        Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE(fd.get() >= 0);
        static char buf[1 << 20];
        while (::read(fd.get(), buf, sizeof buf) > 0) {
        }
    }
    LimitOverrides limits;
    limits.memory_mb = 64;
    limits.time_ms = 300000;
    auto once = run_code("c", held_file_reader(52, 1, true), file + "\n", limits);
    REQUIRE(once.run.verdict == Verdict::OK);
    // A thousand passes would take a thousand times that: the limit is four.
    limits.time_ms = std::max<int64_t>(20000, 4 * once.run.time_ms);
    auto r = run_code("c", held_file_reader(52, 1000, true), file + "\n", limits);
    INFO(r.run.message << r.run.stderr_data << (r.compile ? r.compile->message : ""));
    INFO("one pass: " << once.run.time_ms << " ms; stopped after " << r.run.time_ms << " ms");
    CHECK(r.run.verdict == Verdict::MemoryLimitExceeded);
    CHECK(r.run.exit_code == 137);
    CHECK_THAT(r.run.message, Contains("reading evicted pages back from disk"));
    CHECK(r.run.stdout_data.empty());
    // Stopped in its second pass, not left to crawl to its limit.
    CHECK(r.run.time_ms < 2 * once.run.time_ms + 3000);
    require_nothing_left();
}

TEST_CASE("programs at their memory limit that read files but do not thrash run to the end", "[sandbox][v2]") {
    // Each is one half of thrashing without the other, so each must end OK:
    const std::string file = large_usr_file();
    struct stat st {};
    REQUIRE(stat(file.c_str(), &st) == 0);
    const size_t pages = static_cast<size_t>(st.st_size) / 4096;
    LimitOverrides limits;
    limits.memory_mb = 64;
    limits.time_ms = 300000;  // ample: a pass took up to 45 s where /usr is 9p in an emulated guest
    SECTION("the same file read with read(2) four times: evicted pages come back, but by no fault") {
        auto r = run_code("c", held_file_reader(52, 4, false), file + "\n", limits);
        INFO(r.run.message << r.run.stderr_data << (r.compile ? r.compile->message : ""));
        CHECK(r.run.verdict == Verdict::OK);
        CHECK(r.run.stdout_data == std::to_string(4 * static_cast<unsigned long>(st.st_size)) + " 1\n");
    }
    SECTION("one pass over a mapping of a file not read before: faults, but nothing read back") {
        auto r = run_code("c", held_file_reader(52, 1, true), file + "\n", limits);
        INFO(r.run.message << r.run.stderr_data << (r.compile ? r.compile->message : ""));
        REQUIRE(r.run.verdict == Verdict::OK);
        CHECK(std::stoul(r.run.stdout_data) <= pages);  // the pages whose first byte is not 7
    }
    SECTION("two passes over the mapping with little memory held: it is page cache that is short") {
        auto r = run_code("c", held_file_reader(8, 2, true), file + "\n", limits);
        INFO(r.run.message << r.run.stderr_data << (r.compile ? r.compile->message : ""));
        CHECK(r.run.verdict == Verdict::OK);
    }
}

TEST_CASE("a fork bomb is ProcessLimitExceeded and the host is unaffected", "[sandbox][v2]") {
    auto r =
        run_code("python", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n");
    CHECK(r.run.verdict == Verdict::ProcessLimitExceeded);
    CHECK(r.run.exit_code == kExitProcessLimit);
    require_nothing_left();
    // The host still forks.
    auto after = run_code("python", "print('still here')\n");
    CHECK(after.run.verdict == Verdict::OK);
}

TEST_CASE("printing 10 MB is OutputLimitExceeded with 4 KB kept", "[sandbox][v2]") {
    auto r = run_code("python", "import sys\nsys.stdout.write('x' * (10 << 20))\n");
    CHECK(r.run.verdict == Verdict::OutputLimitExceeded);
    CHECK(r.run.exit_code == kExitOutputLimit);
    CHECK(r.run.stdout_data.size() + r.run.stderr_data.size() == 4096);
    CHECK(r.run.stdout_data == std::string(4096, 'x'));
    require_nothing_left();
}

TEST_CASE("exit codes and signals pass through", "[sandbox][v2]") {
    auto exit3 = run_code("python", "import sys\nsys.exit(3)\n");
    CHECK(exit3.run.verdict == Verdict::RuntimeError);
    CHECK(exit3.run.exit_code == 3);
    auto killed = run_code("python", "import os\nos.kill(os.getpid(), 9)\n");
    CHECK(killed.run.verdict == Verdict::RuntimeError);
    CHECK(killed.run.exit_code == 137);
    auto raised = run_code("python", "raise ValueError('boom')\n");
    CHECK(raised.run.verdict == Verdict::RuntimeError);
    CHECK(raised.run.exit_code == 1);
    CHECK_THAT(raised.run.stderr_data, Contains("ValueError: boom"));
}

TEST_CASE("a double-forked, setsid child does not survive its job", "[sandbox][v2]") {
    auto r = run_code("python",
                      "import os, time\n"
                      "if os.fork() == 0:\n"
                      "    os.setsid()\n"
                      "    if os.fork() == 0:\n"
                      "        time.sleep(30)\n"
                      "    os._exit(0)\n"
                      "time.sleep(0.2)\n"
                      "print('parent done')\n");
    CHECK(r.run.verdict == Verdict::OK);
    CHECK(r.run.stdout_data == "parent done\n");
    require_nothing_left();
}

TEST_CASE("kill(-1) inside a box only reaches the box", "[sandbox]") {
    // kill(-1) reaches every process the caller may signal but itself and
    // init: here that is only its own child, never anything on the host.
    auto r = run_code("python",
                      "import os, signal, time\n"
                      "pid = os.fork()\n"
                      "if pid == 0:\n"
                      "    time.sleep(30)\n"
                      "    os._exit(0)\n"
                      "time.sleep(0.1)\n"
                      "os.kill(-1, signal.SIGKILL)\n"
                      "_, status = os.waitpid(pid, 0)\n"
                      "print('child signal', os.WTERMSIG(status))\n"
                      "print('survived')\n");
    CHECK(r.run.verdict == Verdict::OK);
    CHECK(r.run.stdout_data == "child signal 9\nsurvived\n");
    CHECK(kill(getpid(), 0) == 0);
    CHECK(kill(1, 0) == 0);
    require_nothing_left();
}

TEST_CASE("stdin of 64 MB is fed without deadlock, read or not", "[sandbox]") {
    const std::string big(64 << 20, 'a');
    LimitOverrides l;
    l.time_ms = 10000;
    auto counted = run_code("python", "import sys\nprint(len(sys.stdin.buffer.read()))\n", big, l);
    INFO(counted.run.message);
    CHECK(counted.run.verdict != Verdict::InternalError);
    auto ignored = run_code("python", "print('ignored')\n", big);
    CHECK(ignored.run.verdict == Verdict::OK);
    CHECK(ignored.run.stdout_data == "ignored\n");
    auto echoed = run_code("python", "import sys\nsys.stdout.write(sys.stdin.read())\n", "line 1\nline 2\nno newline");
    CHECK(echoed.run.stdout_data == "line 1\nline 2\nno newline");
}

TEST_CASE("stdin larger than memory still cannot wedge the supervisor", "[sandbox]") {
    // A C reader that counts bytes uses no memory for them.
    const std::string big(64 << 20, 'b');
    LimitOverrides l;
    l.time_ms = 20000;
    auto r = run_code("c",
                      "#include <stdio.h>\n#include <unistd.h>\nint main(void){ char b[65536]; long n = 0; ssize_t k;"
                      " while ((k = read(0, b, sizeof b)) > 0) n += k; printf(\"%ld\\n\", n); return 0; }\n",
                      big, l);
    CHECK(r.run.verdict == Verdict::OK);
    CHECK(r.run.stdout_data == std::to_string(64 << 20) + "\n");
}

TEST_CASE("a symlink planted in the work dir is never followed by the host", "[sandbox]") {
    const std::string victim_dir = make_temp_dir("execd-victim");
    const std::string victim = victim_dir + "/file";
    const std::string keep = victim_dir + "/keep";
    close(open(victim.c_str(), O_CREAT | O_WRONLY, 0644));
    close(open(keep.c_str(), O_CREAT | O_WRONLY, 0644));

    const std::string text = std::string(R"(
[language.planter]
name = "Planter"
extensions = ["plant"]
source = "main.plant"
compile = ["/usr/bin/bash", "-c", "ln -s )") +
                             victim + " file-link; ln -s " + victim_dir +
                             R"( dir-link; mkdir -p d; ln -s / d/root; ln -s /box/main.plant loop"]
run = ["/usr/bin/bash", "-c", "ls /box | sort | tr '\n' ' '"]
)";
    Registry reg = Registry::parse(text, "planter.toml");
    Runner runner(shared_sandbox(), reg);
    JobRequest req;
    req.language = "planter";
    req.code = "x";
    auto r = runner.run(req);
    INFO(r.run.message << (r.compile ? r.compile->stderr_data : ""));
    CHECK(r.run.verdict == Verdict::OK);
    // The run gets a copy of what the compile step left, made by the host
    // without following any link: regular files and directories only.
    CHECK(r.run.stdout_data == "d main.plant ");
    CHECK(access(victim.c_str(), F_OK) == 0);
    CHECK(access(keep.c_str(), F_OK) == 0);
    unlink(victim.c_str());
    unlink(keep.c_str());
    rmdir(victim_dir.c_str());
    require_nothing_left();
}

TEST_CASE("{memory_mb} and {memory_kb} in a language's run argv and env are the step's limit", "[sandbox]") {
    Registry reg = Registry::parse(R"(
[language.sizer]
name = "Sizer"
extensions = ["size"]
source = "main.size"
run = ["/usr/bin/bash", "-c", "echo \"$HEAP $0 {memory_kb}/{memory_kb} {memory}\"", "{memory_mb}"]
env = { HEAP = "{memory_mb}m" }
limits = { memory_mb = 96 }
)",
                                   "sizer.toml");
    Runner runner(shared_sandbox(), reg);
    JobRequest req;
    req.language = "sizer";
    req.code = "x";
    auto language_limit = runner.run(req);
    INFO(language_limit.run.message << language_limit.run.stderr_data);
    CHECK(language_limit.run.stdout_data == "96m 96 98304/98304 {memory}\n");
    req.limits.memory_mb = 200;  // the job's own limit wins
    auto job_limit = runner.run(req);
    CHECK(job_limit.run.stdout_data == "200m 200 204800/204800 {memory}\n");
}

TEST_CASE("concurrent boxes get distinct uids and slots", "[sandbox]") {
    auto a = shared_sandbox().acquire_box();
    auto b = shared_sandbox().acquire_box();
    CHECK(a->slot() != b->slot());
    CHECK(a->uid() != b->uid());
    CHECK(a->uid() != 0);
}

TEST_CASE("a missing program is an internal error, not a verdict on the code", "[sandbox]") {
    Registry reg = Registry::parse(R"(
[language.ghost]
name = "Ghost"
extensions = ["ghost"]
source = "main.ghost"
run = ["/usr/bin/does-not-exist-execd"]
)",
                                   "ghost.toml");
    Runner runner(shared_sandbox(), reg);
    JobRequest req;
    req.language = "ghost";
    // usable() refuses it before any box runs.
    CHECK_THROWS_AS(runner.run(req), BadRequest);

    auto box = shared_sandbox().acquire_box();
    auto work = shared_sandbox().make_work_dir(box->uid());
    RunPolicy p;
    p.argv = {"/usr/bin/does-not-exist-execd"};
    p.work_dir = work.path();
    RunOutcome o = box->run(p);
    CHECK(o.internal_error);
    CHECK_THAT(o.internal_message, Contains("execve") && Contains("ENOENT"));
    CHECK(judge(o, p.limits).verdict == Verdict::InternalError);
}

TEST_CASE("a run is stopped when its cancel flag turns true", "[sandbox]") {
    std::atomic<bool> cancel{false};
    Runner runner(shared_sandbox(), repo_registry());
    JobRequest req;
    req.language = "python";
    req.code = "import time\ntime.sleep(30)\n";
    req.cancel = &cancel;
    LimitOverrides l;
    l.time_ms = 20000;
    req.limits = l;
    std::thread flip([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        cancel = true;
    });
    auto r = runner.run(req);
    flip.join();
    CHECK(r.cancelled);
    CHECK(r.run.time_ms < 5000);
    require_nothing_left();
}

TEST_CASE("the program starts with default signal handling", "[sandbox]") {
    // The supervisor ignores SIGPIPE and execd blocks SIGTERM; the program
    // must inherit neither.
    ::signal(SIGPIPE, SIG_IGN);
    auto r = run_code("c",
                      "#define _GNU_SOURCE\n#include <signal.h>\n#include <stdio.h>\n"
                      "int main(void){ struct sigaction sa; sigaction(SIGPIPE, 0, &sa); sigset_t m;"
                      " sigprocmask(SIG_BLOCK, 0, &m); printf(\"%d %d\\n\", sa.sa_handler == SIG_DFL,"
                      " sigismember(&m, SIGTERM)); return 0; }\n");
    CHECK(r.run.verdict == Verdict::OK);
    CHECK(r.run.stdout_data == "1 0\n");
}

TEST_CASE("two boxes running at once share no abstract unix socket", "[sandbox]") {
    // The listener binds an abstract name and waits; the other box, running
    // at the same time, tries to connect to it for two seconds.
    const std::string name = "execd-test-" + std::to_string(::getpid());
    JobRequest listen_req;
    listen_req.language = "python";
    listen_req.limits.time_ms = 6000;
    listen_req.code = "import socket, time\ns = socket.socket(socket.AF_UNIX)\ns.bind('\\0" + name +
                      "')\ns.listen(1)\nprint('listening', flush=True)\ns.settimeout(4)\n"
                      "try:\n    c, _ = s.accept()\n    print('accepted', c.recv(100))\n"
                      "except socket.timeout:\n    print('nobody came')\n";
    JobRequest connect_req;
    connect_req.language = "python";
    connect_req.limits.time_ms = 6000;
    connect_req.code =
        "import socket, time\nfor i in range(20):\n    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n        s.connect('\\0" +
        name +
        "')\n        s.send(b'leak')\n"
        "        print('connected')\n        break\n    except OSError as e:\n"
        "        err = e.strerror\n        time.sleep(0.1)\nelse:\n    print('refused:', err)\n";

    auto box_a = shared_sandbox().acquire_box();
    auto box_b = shared_sandbox().acquire_box();
    Runner runner_a(shared_sandbox(), repo_registry()), runner_b(shared_sandbox(), repo_registry());
    JobResult listened;
    std::thread listener([&] { listened = runner_a.run(listen_req, box_a.get()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    JobResult connected = runner_b.run(connect_req, box_b.get());
    listener.join();
    INFO(listened.run.stdout_data << listened.run.stderr_data << connected.run.stdout_data
                                  << connected.run.stderr_data);
    CHECK(listened.run.stdout_data == "listening\nnobody came\n");
    CHECK_THAT(connected.run.stdout_data, Catch::StartsWith("refused:"));
}
