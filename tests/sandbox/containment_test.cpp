// Containment: nothing a program does can kill, read or squat what supervises
// it. Each test here was first seen failing on the engine whose box init
// shared the supervisor's memory (clone(CLONE_VM)), mounted /proc without
// hidepid, inherited the caller's rlimits, locked slots with abstract unix
// sockets and remounted binds read-only on their top mount only.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd;
using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

// 40 memfds of 15 MB: 600 MB of memory that is in no process's RSS.
const char* kMemfdFill = R"C(#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 40; i++) {
        int fd = memfd_create("fill", 0);
        if (fd < 0) { perror("memfd_create"); return 2; }
        for (int j = 0; j < 15; j++)
            if (write(fd, buf, sizeof buf) != sizeof buf) { perror("write"); return 3; }
    }
    puts("filled 600 MB and was not stopped");
    return 0;
}
)C";

// Lists every process the program can see in /proc and what of it it can
// read. Its own pid is 2 (init is 1). Prints one line per readable file of a
// process other than itself, then "mine <cmdline>".
const char* kProcScan = R"C(#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int dump(const char* path, char* out, int cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) if (out[i] == 0) out[i] = ' ';
    out[n] = 0;
    return n;
}
int main(void) {
    char buf[65536], path[256];
    int self = getpid();
    DIR* d = opendir("/proc");
    struct dirent* e;
    while ((e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == self) continue;
        const char* files[] = {"cmdline", "environ", "status", "maps", "stat"};
        for (int i = 0; i < 5; i++) {
            snprintf(path, sizeof path, "/proc/%d/%s", pid, files[i]);
            if (dump(path, buf, sizeof buf) >= 0) printf("visible %s: %.200s\n", path, buf);
        }
    }
    if (dump("/proc/1/cmdline", buf, sizeof buf) >= 0) printf("visible /proc/1/cmdline: %s\n", buf);
    if (dump("/proc/self/cmdline", buf, sizeof buf) >= 0) printf("mine %s\n", buf);
    return 0;
}
)C";

// Threads until something stops it; a failed pthread_create is retried, so
// only the pids limit (or the clock) can end it.
const char* kThreadBomb = R"C(#include <pthread.h>
#include <unistd.h>
static void* sleeper(void* arg) { (void)arg; for (;;) pause(); return 0; }
int main(void) {
    for (;;) {
        pthread_t t;
        pthread_create(&t, 0, sleeper, 0);
    }
}
)C";

std::string c_job(const std::string& code, const std::string& extra = "") { return job_json("c", code, extra); }

std::string write_temp(const std::string& name, const std::string& content) {
    static const std::string dir = make_temp_dir("execd-contain");
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

LimitOverrides memory_limit(int64_t mb) {
    LimitOverrides l;
    l.memory_mb = mb;
    return l;
}

}  // namespace

TEST_CASE("memfds past the memory limit end MemoryLimitExceeded; the supervisor is no OOM candidate", "[sandbox]") {
    // The OOM killer used to choose the box's init, whose RSS was the
    // supervisor's (a shared mm), and killed this test process with it.
    for (int round = 0; round < 2; ++round) {
        auto r = run_code("c", kMemfdFill, {}, memory_limit(64));
        INFO(r.run.message << r.run.stdout_data << r.run.stderr_data);
        CHECK(r.run.verdict == Verdict::MemoryLimitExceeded);
        CHECK(r.run.stdout_data.find("not stopped") == std::string::npos);
    }
    // And the box still serves the next job.
    auto next = run_code("python", "print('next')\n");
    CHECK(next.run.verdict == Verdict::OK);
    CHECK(next.run.stdout_data == "next\n");
}

TEST_CASE("/proc in a box shows only the program's own processes", "[sandbox]") {
    auto r = run_code("c", kProcScan);
    INFO(r.run.message << r.run.stderr_data);
    REQUIRE(r.run.verdict == Verdict::OK);
    // Not init (the supervisor's clone used to show its argv here), nor any
    // other process: only the program itself.
    CHECK(r.run.stdout_data.find("visible") == std::string::npos);
    CHECK_THAT(r.run.stdout_data, Contains("mine ./main"));
    // A child of the program, which it may inspect, stays visible to it.
    auto child = run_code("python",
                          "import os, subprocess\n"
                          "import time\n"
                          "p = subprocess.Popen(['/bin/sleep', '5'])\n"
                          "time.sleep(0.3)\n"
                          "print(open('/proc/%d/cmdline' % p.pid).read().replace('\\0', ' '))\n"
                          "print(os.path.exists('/proc/1'))\n"
                          "p.kill()\n");
    INFO(child.run.message << child.run.stderr_data);
    CHECK(child.run.stdout_data == "/bin/sleep 5 \nFalse\n");
}

// Every box starts from one mount namespace the Sandbox made once; a job
// must not be able to change it for the jobs after it.
const char* kMountTamper = R"C(#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
static int mounts(void) {
    FILE* f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) n++;
    fclose(f);
    return n;
}
int main(int argc, char** argv) {
    printf("mounts %d\n", mounts());
    DIR* d = opendir("/box");
    struct dirent* e;
    while ((e = readdir(d))) if (e->d_name[0] != '.') printf("box %s\n", e->d_name);
    closedir(d);
    printf("planted %d\n", access("/etc/planted", F_OK) == 0 || access("/usr/planted", F_OK) == 0);
    int changed = 0;
    changed += mount("tmpfs", "/etc", "tmpfs", 0, 0) == 0;
    changed += mount("tmpfs", "/usr", "tmpfs", 0, 0) == 0;
    changed += umount2("/proc", MNT_DETACH) == 0;
    changed += umount2("/usr", MNT_DETACH) == 0;
    changed += mount(0, "/", 0, MS_REMOUNT | MS_BIND, 0) == 0;
    FILE* f = fopen("/etc/planted", "w");
    changed += f != 0;
    printf("changed %d\n", changed);
    return 0;
}
)C";

TEST_CASE("a job cannot change the mount namespace the next jobs start from", "[sandbox]") {
    auto first = run_code("c", kMountTamper);
    INFO(first.run.message << first.run.stdout_data << first.run.stderr_data);
    REQUIRE(first.run.verdict == Verdict::OK);
    CHECK_THAT(first.run.stdout_data, Contains("changed 0\n"));
    for (int i = 0; i < 3; ++i) {
        auto next = run_code("c", kMountTamper);
        INFO(next.run.stdout_data << next.run.stderr_data);
        REQUIRE(next.run.verdict == Verdict::OK);
        // The same mounts, nothing planted, and a /box holding this job's files only.
        CHECK(next.run.stdout_data == first.run.stdout_data);
        CHECK_THAT(next.run.stdout_data, Contains("planted 0\n"));
    }
}

TEST_CASE("a local user cannot squat the box slots", "[sandbox]") {
    shared_sandbox();  // the test process is in its private mount namespace from here on
    const uid_t base = 63500;
    const int slots = 4;
    // A squatter, as nobody: binds the abstract names the slots used to be
    // locked with, and tries the lock files.
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t squatter = fork();
    REQUIRE(squatter >= 0);
    if (squatter == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
        std::string report;
        for (int slot = 0; slot < slots; ++slot) {
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            const std::string name = "execd-box-" + std::to_string(base) + "-" + std::to_string(slot);
            std::memcpy(addr.sun_path + 1, name.data(), name.size());
            const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
            report += bind(s, reinterpret_cast<sockaddr*>(&addr), len) == 0 ? 'b' : '-';
            const std::string lock = "/run/execd/locks/box-" + std::to_string(base + slot) + ".lock";
            report += open(lock.c_str(), O_RDWR | O_CREAT, 0666) >= 0 ? 'L' : '-';
        }
        if (write(ready[1], report.data(), report.size()) < 0) _exit(11);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char report[16] = {};
    REQUIRE(read(ready[0], report, sizeof report) == 2 * slots);
    close(ready[0]);
    // The squatter held every old-style name, and could open no lock file.
    CHECK(std::string(report) == "b-b-b-b-");

    std::string error;
    try {
        SandboxConfig config;
        config.state_dir = make_temp_dir("execd-squat");
        config.instance = test_instance();
        config.uid_base = base;
        config.max_slots = slots;
        Sandbox sandbox(config);
        auto box = sandbox.acquire_box();
        CHECK(box->slot() == 0);
    } catch (const std::exception& e) {
        error = e.what();
    }
    kill(squatter, SIGKILL);
    waitpid(squatter, nullptr, 0);
    INFO(error);
    CHECK(error.empty());
    // The lock directory is root's alone.
    struct stat st {};
    REQUIRE(stat("/run/execd/locks", &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("read-only binds are read-only on every mount below them", "[sandbox]") {
    shared_sandbox();  // our private mount namespace: the tmpfs below never reaches the host
    const std::string dir = make_temp_dir("execd-rbind");
    const std::string sub = dir + "/sub";
    REQUIRE(chmod(dir.c_str(), 0755) == 0);
    REQUIRE(mkdir(sub.c_str(), 0755) == 0);
    REQUIRE(mount("tmpfs", sub.c_str(), "tmpfs", 0, "size=1m,mode=0777") == 0);

    std::string out, error;
    try {
        SandboxConfig config;
        config.state_dir = make_temp_dir("execd-rbind-state");
        config.instance = test_instance();
        config.uid_base = 63600;
        config.max_slots = 2;
        config.binds = {"/usr", dir};
        Sandbox sandbox(config);
        auto box = sandbox.acquire_box();
        WorkDir work = sandbox.make_work_dir(box->uid());
        RunPolicy policy;
        policy.argv = {"/bin/sh", "-c", "echo x > " + sub + "/planted && echo WROTE"};
        policy.env = {{"PATH", "/usr/bin:/bin"}};
        policy.work_dir = work.path();
        auto o = box->run(policy);
        out = o.stdout_data + o.stderr_data;
        if (o.internal_error) error = o.internal_message;
    } catch (const std::exception& e) {
        error = e.what();
    }
    umount2(sub.c_str(), MNT_DETACH);
    INFO(out << error);
    CHECK(error.empty());
    CHECK(out.find("WROTE") == std::string::npos);
    CHECK_THAT(out, Contains("Read-only file system"));
}

TEST_CASE("a new Sandbox's boxes each get a network namespace of their own, none the host's", "[sandbox]") {
    SandboxConfig config;
    config.state_dir = make_temp_dir("execd-netns-state");
    config.instance = test_instance();
    config.uid_base = 63700;
    config.max_slots = 3;
    config.binds = {"/usr"};
    Sandbox sandbox(config);
    std::vector<std::unique_ptr<Box>> boxes;
    std::set<std::string> seen;
    char host[64] = {};
    REQUIRE(readlink("/proc/self/ns/net", host, sizeof host - 1) > 0);
    for (int i = 0; i < 3; ++i) {
        boxes.push_back(sandbox.acquire_box());
        WorkDir work = sandbox.make_work_dir(boxes.back()->uid());
        RunPolicy policy;
        policy.argv = {"/usr/bin/readlink", "/proc/self/ns/net"};
        policy.env = {{"PATH", "/usr/bin:/bin"}};
        policy.work_dir = work.path();
        auto o = boxes.back()->run(policy);
        INFO(o.internal_message << o.stderr_data);
        REQUIRE(o.exited);
        CHECK_THAT(o.stdout_data, Contains("net:["));
        CHECK(o.stdout_data != std::string(host) + "\n");
        CHECK(seen.insert(o.stdout_data).second);
    }
}

// ---- boxes prepared ahead of their run
//
// A box's next init (namespaces, the program's process with its privileges
// dropped and its filter loaded) is prepared as soon as a run ends, by the
// spawner (core/sandbox/plan.h). What that must never do: carry anything of
// the run before into the next, keep an earlier run's limits, or outlive the
// box.

namespace {

// Processes on the host whose cmdline holds `needle`.
std::vector<int> processes_with_cmdline(const std::string& needle) {
    std::vector<int> found;
    for (int pid : box_uid_processes()) {
        std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
        for (char& c : cmdline)
            if (c == '\0') c = ' ';
        if (cmdline.find(needle) != std::string::npos) found.push_back(pid);
    }
    return found;
}

// The children of this process: pid, state and command line (NULs as blanks).
struct Child {
    int pid = 0;
    char state = 0;
    std::string cmdline;
};

std::vector<Child> our_children() {
    std::vector<Child> found;
    DIR* d = opendir("/proc");
    while (dirent* e = readdir(d)) {
        const int pid = atoi(e->d_name);
        if (pid <= 0) continue;
        const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
        const auto close_paren = stat.rfind(')');
        if (close_paren == std::string::npos) continue;
        std::istringstream rest(stat.substr(close_paren + 2));
        Child child{pid, 0, read_text("/proc/" + std::to_string(pid) + "/cmdline")};
        int ppid = 0;
        rest >> child.state >> ppid;
        if (ppid != getpid()) continue;
        std::replace(child.cmdline.begin(), child.cmdline.end(), '\0', ' ');
        found.push_back(std::move(child));
    }
    closedir(d);
    return found;
}

// The spawners of this test process: its children running the box init binary.
std::vector<int> our_spawners() {
    std::vector<int> found;
    for (const Child& c : our_children())
        if (c.cmdline.rfind("execd-box-init", 0) == 0) found.push_back(c.pid);
    return found;
}

// For a failure's message: "pid state cmdline; ..." of every child.
std::string describe_children() {
    std::string list;
    for (const Child& c : our_children()) list += std::to_string(c.pid) + " " + c.state + " " + c.cmdline + "; ";
    return list.empty() ? "none" : list;
}

RunOutcome run_shell(Box& box, const WorkDir& work, const std::string& script, Limits limits = {},
                     bool prepare_next = true) {
    RunPolicy policy;
    policy.argv = {"/bin/sh", "-c", script};
    policy.env = {{"PATH", "/usr/bin:/bin"}};
    policy.work_dir = work.path();
    policy.tmpfs_mb = 8;
    policy.limits = limits;
    policy.prepare_next = prepare_next;
    return box.run(policy);
}

}  // namespace

TEST_CASE("a box prepared while the last run ended carries nothing of that run", "[sandbox]") {
    Sandbox& sandbox = shared_sandbox();
    auto box = sandbox.acquire_box();
    WorkDir work = sandbox.make_work_dir(box->uid());

    // The first run leaves what it can: a detached process holding an
    // abstract unix socket (the slot's network namespace is the next run's
    // too), a file in /tmp; its limits differ from the next run's. (SysV IPC
    // is refused by the filter, and each run has an IPC namespace of its own.)
    Limits first;
    first.open_files = 64;
    first.cpu_ms = 5000;
    first.file_size_mb = 3;
    auto a = run_shell(*box, work,
                       "setsid /usr/bin/python3 -c \"import socket,time; s=socket.socket(socket.AF_UNIX); "
                       "s.bind('\\0execd-left'); s.listen(); open('/tmp/bound','w').close(); time.sleep(31337)\" "
                       "</dev/null >/dev/null 2>&1 & "
                       "echo left > /tmp/mark; for i in $(seq 100); do [ -e /tmp/bound ] && break; sleep 0.05; done; "
                       "[ -e /tmp/bound ] && echo A done",
                       first);
    INFO(a.internal_message << a.stdout_data << a.stderr_data);
    REQUIRE_FALSE(a.internal_error);
    REQUIRE(a.stdout_data == "A done\n");
    // The detached sleeper went with its run, before the next box was made.
    CHECK(processes_with_cmdline("time.sleep(31337)").empty());

    Limits second;
    second.open_files = 100;
    second.cpu_ms = 2000;
    second.file_size_mb = 7;
    auto b = run_shell(*box, work,
                       "echo tmp:$(ls -A /tmp | wc -l); "
                       "/usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_UNIX)\n"
                       "try: s.connect('\\0execd-left'); print('socket: still there')\n"
                       "except OSError as e: print('socket:', e.strerror)\"; "
                       "echo procs: $(cat /proc/[0-9]*/comm); "
                       "grep -E '^Max (open files|cpu time|file size)' /proc/self/limits | tr -s ' '",
                       second);
    INFO(b.internal_message << b.stdout_data << b.stderr_data);
    REQUIRE_FALSE(b.internal_error);
    CHECK_THAT(b.stdout_data, Contains("tmp:0\n"));
    CHECK_THAT(b.stdout_data, Contains("socket: Connection refused\n"));
    // This run's shell and the cat of the listing (init is invisible):
    // nothing of run A.
    CHECK_THAT(b.stdout_data, Contains("procs: sh "));
    CHECK_THAT(b.stdout_data, !Contains("python"));
    // Its own limits, none of the first run's.
    CHECK_THAT(b.stdout_data, Contains("Max cpu time 3 3 seconds"));
    CHECK_THAT(b.stdout_data, Contains("Max file size 7340032 7340032 bytes"));
    CHECK_THAT(b.stdout_data, Contains("Max open files 100 100 files"));
}

TEST_CASE("a prepared box that is never used leaves nothing behind", "[sandbox]") {
    Sandbox& sandbox = shared_sandbox();
    for (int round = 0; round < 3; ++round) {
        int slot = -1;
        {
            auto box = sandbox.acquire_box();
            slot = box->slot();
            WorkDir work = sandbox.make_work_dir(box->uid());
            auto o = run_shell(*box, work, "echo ok");
            INFO(o.internal_message);
            REQUIRE(o.stdout_data == "ok\n");
            // The next run's init is on its way (round 0: destroyed before
            // it can be ready; later rounds: once it is).
            if (round > 0) std::this_thread::sleep_for(milliseconds(50 * round));
        }
        // No process of the box's uid (prepared ones included), and (v1) no
        // cgroup of it.
        CHECK(box_uid_processes(test_uid_base(), true).empty());
        if (sandbox.cgroup_version() == 1)
            for (const char* c : {"memory", "pids", "cpuacct"}) {
                const std::string dir = std::string("/sys/fs/cgroup/") + c + "/" + test_cgroup_parent() + "/box-" +
                                        std::to_string(test_uid_base() + slot);
                CHECK(access(dir.c_str(), F_OK) != 0);
            }
    }
}

TEST_CASE("a box whose prepared init was killed runs its next job anyway", "[sandbox]") {
    Sandbox& sandbox = shared_sandbox();
    auto box = sandbox.acquire_box();
    WorkDir work = sandbox.make_work_dir(box->uid());
    REQUIRE(run_shell(*box, work, "echo one").stdout_data == "one\n");
    // Kill the spawners (ours, by pid): the prepared init dies with them.
    const auto spawners = our_spawners();
    REQUIRE_FALSE(spawners.empty());
    for (int pid : spawners) kill(pid, SIGKILL);
    std::this_thread::sleep_for(milliseconds(100));
    auto o = run_shell(*box, work, "echo two");
    INFO(o.internal_message);
    CHECK_FALSE(o.internal_error);
    CHECK(o.stdout_data == "two\n");
    // A new spawner took over, and serves a new box too. (Looked for a few
    // times: once, under a loaded ASan run, a single look found none; the
    // children listed then say what there was.)
    bool found = false;
    for (int i = 0; i < 50 && !found; ++i) {
        found = !our_spawners().empty();
        if (!found) std::this_thread::sleep_for(milliseconds(100));
    }
    INFO("children: " << describe_children());
    CHECK(found);
    auto other = sandbox.acquire_box();
    WorkDir other_work = sandbox.make_work_dir(other->uid());
    CHECK(run_shell(*other, other_work, "echo three", {}, false).stdout_data == "three\n");
}

TEST_CASE("a spawner restarted by a thread that then ends lives on, and so do the boxes it made", "[sandbox]") {
    // The spawner's parent-death signal is tied to the thread that started
    // it, not to the process. A worker thread that finds the spawner gone
    // starts a new one; were that the worker's own thread, its exit (an idle
    // worker during a drain) would kill the spawner and every box it made,
    // running jobs included.
    Sandbox& sandbox = shared_sandbox();
    sandbox.acquire_box();  // a spawner is running
    const auto old = our_spawners();
    REQUIRE_FALSE(old.empty());
    for (int pid : old) kill(pid, SIGKILL);
    // Gone (a zombie until reaped) before the worker asks for a box.
    for (int i = 0; i < 50 && !our_spawners().empty(); ++i) std::this_thread::sleep_for(milliseconds(100));
    REQUIRE(our_spawners().empty());

    std::mutex mutex;
    std::condition_variable changed;
    bool restarted = false, leave = false;
    std::string worker_saw;
    std::thread worker([&] {
        auto box = sandbox.acquire_box();  // finds the spawner gone: starts one
        WorkDir work = sandbox.make_work_dir(box->uid());
        auto o = run_shell(*box, work, "echo restarted", {}, false);
        std::unique_lock lock(mutex);
        worker_saw = o.internal_message + o.stdout_data;
        restarted = true;
        changed.notify_all();
        changed.wait(lock, [&] { return leave; });
    });
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return restarted; });
    }
    CHECK(worker_saw == "restarted\n");
    const auto spawners = our_spawners();
    INFO("children: " << describe_children());
    REQUIRE(spawners.size() == 1);

    // A box of the new spawner runs a job while the worker thread ends.
    auto box = sandbox.acquire_box();
    WorkDir work = sandbox.make_work_dir(box->uid());
    RunOutcome job;
    std::thread runner([&] { job = run_shell(*box, work, "sleep 1; echo survived", {}, false); });
    std::this_thread::sleep_for(milliseconds(300));
    {
        std::lock_guard lock(mutex);
        leave = true;
    }
    changed.notify_all();
    worker.join();
    runner.join();
    INFO(job.internal_message << job.stderr_data);
    CHECK_FALSE(job.internal_error);
    CHECK(job.term_signal == 0);
    CHECK(job.stdout_data == "survived\n");
    CHECK(our_spawners() == spawners);  // the same spawner, still running
}

// ---- the exec CLI, started as users start it

TEST_CASE("exec run: memfds past the limit print MemoryLimitExceeded; exec itself lives", "[cli]") {
    const std::string src = write_temp("fill.c", kMemfdFill);
    auto p = run_process({EXECD_EXEC_BINARY, "run", "--local", "--json", "--memory", "64", src});
    INFO(p.out << p.err);
    CHECK_THAT(p.out, Contains("\"verdict\":\"MemoryLimitExceeded\""));
    CHECK(p.exit_code == 137);  // the verdict's exit status, printed by a live exec
}

TEST_CASE("a token given to exec never appears where a box can read", "[cli]") {
    const std::string src = write_temp("scan.c", kProcScan);
    const std::string sentinel = "SENTINEL-" + std::to_string(getpid()) + "-tok";
    auto p = run_process({EXECD_EXEC_BINARY, "--token", sentinel, "run", "--local", src});
    INFO(p.out << p.err);
    CHECK(p.exit_code == 0);
    CHECK_THAT(p.out, Contains("mine ./main"));
    CHECK(p.out.find(sentinel) == std::string::npos);
    CHECK(p.out.find("visible") == std::string::npos);
}

TEST_CASE("a thread bomb is ProcessLimitExceeded whatever limits exec was started under", "[cli]") {
    const std::string src = write_temp("bomb.c", kThreadBomb);
    std::vector<std::vector<std::string>> callers = {
        {},
        {"/usr/bin/prlimit", "--nproc=777"},
        {"/usr/bin/prlimit", "--sigpending=64", "--stack=8388608"},
    };
#if !defined(__SANITIZE_ADDRESS__)
    // A sanitized exec cannot even start under an address-space or data
    // limit (its shadow memory is terabytes of address space); the plain
    // build, which CI runs first, tries these.
    callers.push_back({"/usr/bin/prlimit", "--as=4294967296"});
    callers.push_back({"/usr/bin/prlimit", "--data=1073741824", "--sigpending=64", "--stack=8388608"});
#endif
    for (const auto& caller : callers) {
        std::vector<std::string> argv = caller;
        for (const char* a : {EXECD_EXEC_BINARY, "run", "--local", "--json", "--time", "3000"}) argv.push_back(a);
        argv.push_back(src);
        auto p = run_process(argv);
        INFO((caller.empty() ? "no limits" : caller[1]) << "\n" << p.out << p.err);
        CHECK_THAT(p.out, Contains("\"verdict\":\"ProcessLimitExceeded\""));
    }
}

// ---- execd nodes

TEST_CASE("a memfd job on a two-node cluster: both nodes stay up and serve the next job", "[daemon][v2]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    const std::string sentinel = "SENTINEL-" + std::to_string(getpid()) + "-daemon";
    Execd a(
        {"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--node-name", "A", "--token", sentinel});
    Execd b(
        {"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--node-name", "B", "--token", sentinel});
    const std::map<std::string, std::string> auth{{"Content-Type", "application/json"},
                                                  {"Authorization", "Bearer " + sentinel}};
    auto wait_done = [&](int port, const std::string& id) {
        HttpReply r;
        for (int i = 0; i < 60; ++i) {
            r = http(port, "GET", "/v1/jobs/" + id + "?wait=2000", {}, auth);
            if (json_field(r.body, "status") == "completed") break;
        }
        return r;
    };
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
        auto r = http(i % 2 ? b.port() : a.port(), "POST", "/v1/jobs", c_job(kMemfdFill, R"J(,"memoryMb":64)J"), auth);
        INFO(r.body);
        REQUIRE(r.status == 202);
        ids.push_back(json_field(r.body, "jobId"));
    }
    for (const auto& id : ids) {
        auto done = wait_done(a.port(), id);
        INFO(done.body);
        CHECK(json_field(done.body, "verdict") == "MemoryLimitExceeded");
        CHECK(redis.command({"HGET", prefix + "job:" + id, "attempts"}).string == "1");
    }
    CHECK(kill(a.pid(), 0) == 0);
    CHECK(kill(b.pid(), 0) == 0);
    // Both nodes serve the next job, and a box never reads the token.
    for (Execd* node : {&a, &b}) {
        auto r = http(node->port(), "POST", "/v1/jobs", c_job(kProcScan), auth);
        REQUIRE(r.status == 202);
        auto done = wait_done(node->port(), json_field(r.body, "jobId"));
        INFO(done.body);
        CHECK(json_field(done.body, "verdict") == "OK");
        CHECK_THAT(done.body, Contains("mine ./main"));
        CHECK(done.body.find(sentinel) == std::string::npos);
        CHECK(done.body.find("visible") == std::string::npos);
    }
}
