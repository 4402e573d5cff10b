// What a job makes stays the job's, and what the engine reads on the host it
// reads safely: sparse files a compile step leaves are copied with their
// holes and budgeted by the blocks they hold, an artifact over the budget is
// a clear CompileError, the sandbox's own tmpfs has a size, version probes
// get an empty HOME of their own, and `exec run DIR` refuses links that lead
// out of the directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/compile_cache.h"
#include "core/util/files.h"
#include "tests/support.h"

using namespace execd;
using namespace execd::test;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kMB = int64_t{1} << 20;

// A registry whose one language "compiles" with a shell script: what a
// compile step that runs code (Nim's staticExec, Template Haskell, build
// scripts) can leave in /box.
Registry shell_registry(const std::string& compile_script, const std::string& run_script,
                        const std::string& version_script = "echo 1") {
    auto quote = [](const std::string& s) {
        std::string out = "'";
        for (char c : s) {
            if (c == '\'') throw std::logic_error("no single quotes in test scripts");
            out += c;
        }
        return out + "'";
    };
    const std::string text =
        "[language.shellc]\n"
        "name = \"Shell-compiled\"\n"
        "extensions = [\"shc\"]\n"
        "source = \"main.shc\"\n"
        "version = [\"/bin/sh\", \"-c\", " +
        quote(version_script) +
        "]\n"
        "compile = [\"/bin/sh\", \"-c\", " +
        quote(compile_script) +
        "]\n"
        "run = [\"/bin/sh\", \"-c\", " +
        quote(run_script) + "]\n";
    return Registry::parse(text, "test registry");
}

// Bytes in use in the sandbox's own tmpfs (<state>/ns), which holds every
// work dir and every copy the supervisor makes; this process sees it because
// the shared Sandbox moved it into its private mount namespace.
int64_t ns_tmpfs_used() {
    struct statvfs sv {};
    REQUIRE(statvfs((SandboxConfig{}.state_dir + "/ns").c_str(), &sv) == 0);
    return static_cast<int64_t>(sv.f_blocks - sv.f_bfree) * static_cast<int64_t>(sv.f_frsize);
}

int64_t ns_tmpfs_total() {
    struct statvfs sv {};
    REQUIRE(statvfs((SandboxConfig{}.state_dir + "/ns").c_str(), &sv) == 0);
    return static_cast<int64_t>(sv.f_blocks) * static_cast<int64_t>(sv.f_frsize);
}

int64_t physical_ram() { return static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE); }

// "name size blocks" lines from `stat -c '%n %s %b'`, as a map name -> {size, blocks}.
std::map<std::string, std::pair<int64_t, int64_t>> stat_lines(const std::string& text) {
    std::map<std::string, std::pair<int64_t, int64_t>> out;
    std::istringstream in(text);
    std::string name;
    int64_t size = 0, blocks = 0;
    while (in >> name >> size >> blocks) out[name] = {size, blocks};
    return out;
}

}  // namespace

TEST_CASE("copying a tree keeps holes and budgets the bytes it writes", "[unit]") {
    const std::string base = make_temp_dir("execd-sparse");
    const std::string src = base + "/src", dst = base + "/dst";
    REQUIRE(mkdir(src.c_str(), 0755) == 0);
    REQUIRE(mkdir(dst.c_str(), 0755) == 0);
    Fd src_fd(open(src.c_str(), O_RDONLY | O_DIRECTORY));
    Fd dst_fd(open(dst.c_str(), O_RDONLY | O_DIRECTORY));
    Fd base_fd(open(base.c_str(), O_RDONLY | O_DIRECTORY));
    {
        // 200 MB apparent, 4 KB of data in the middle and a byte at the end.
        Fd f(openat(src_fd.get(), "sparse", O_WRONLY | O_CREAT | O_EXCL, 0644));
        REQUIRE(f);
        REQUIRE(ftruncate(f.get(), 200 * kMB) == 0);
        const std::string block(4096, 'x');
        REQUIRE(pwrite(f.get(), block.data(), block.size(), 100 * kMB) == 4096);
        REQUIRE(pwrite(f.get(), "z", 1, 200 * kMB - 1) == 1);
    }
    struct stat st {};
    REQUIRE(stat((src + "/sparse").c_str(), &st) == 0);
    REQUIRE(st.st_blocks * 512 < kMB);  // the file system holds the holes

    // A 1 MB budget of data is plenty for what the file holds.
    CHECK(copy_tree_at(src_fd.get(), dst_fd.get(), kMB, 256 * kMB) < 64 * 1024);  // the data blocks only
    REQUIRE(stat((dst + "/sparse").c_str(), &st) == 0);
    CHECK(st.st_size == 200 * kMB);
    CHECK(st.st_blocks * 512 < kMB);
    {
        Fd f(open((dst + "/sparse").c_str(), O_RDONLY));
        char buf[4096];
        REQUIRE(pread(f.get(), buf, sizeof buf, 100 * kMB) == 4096);
        CHECK(std::string(buf, 4096) == std::string(4096, 'x'));
        REQUIRE(pread(f.get(), buf, 1, 200 * kMB - 1) == 1);
        CHECK(buf[0] == 'z');
        REQUIRE(pread(f.get(), buf, 16, 50 * kMB) == 16);
        CHECK(std::string(buf, 16) == std::string(16, '\0'));
    }
    // What the copy holds is its blocks, not its apparent size.
    CHECK(tree_bytes_at(dst_fd.get()) < kMB);

    SECTION("data past the budget is refused") {
        Fd dense(openat(src_fd.get(), "dense", O_WRONLY | O_CREAT | O_EXCL, 0644));
        const std::string chunk(kMB, 'd');
        for (int i = 0; i < 3; ++i) REQUIRE(write(dense.get(), chunk.data(), chunk.size()) == kMB);
        REQUIRE(mkdir((base + "/d2").c_str(), 0755) == 0);
        Fd d2(open((base + "/d2").c_str(), O_RDONLY | O_DIRECTORY));
        CHECK_THROWS_WITH(copy_tree_at(src_fd.get(), d2.get(), 2 * kMB, 256 * kMB), Contains("more than 2 MB of data"));
    }
    SECTION("sizes past the apparent budget are refused, holes included") {
        REQUIRE(mkdir((base + "/d2").c_str(), 0755) == 0);
        Fd d2(open((base + "/d2").c_str(), O_RDONLY | O_DIRECTORY));
        CHECK_THROWS_WITH(copy_tree_at(src_fd.get(), d2.get(), kMB, 100 * kMB), Contains("pass 100 MB"));
        // By default sizes may reach 16 times the data budget.
        REQUIRE(remove_tree_at(base_fd.get(), "d2") == 0);
        REQUIRE(mkdir((base + "/d2").c_str(), 0755) == 0);
        Fd d3(open((base + "/d2").c_str(), O_RDONLY | O_DIRECTORY));
        CHECK_THROWS_AS(copy_tree_at(src_fd.get(), d3.get(), 12 * kMB), std::length_error);
        REQUIRE(remove_tree_at(base_fd.get(), "d2") == 0);
        REQUIRE(mkdir((base + "/d2").c_str(), 0755) == 0);
        Fd d4(open((base + "/d2").c_str(), O_RDONLY | O_DIRECTORY));
        CHECK(copy_tree_at(src_fd.get(), d4.get(), 13 * kMB) < 64 * 1024);
    }
    for (const char* n : {"src", "dst", "d2"}) remove_tree_at(base_fd.get(), n);
    rmdir(base.c_str());
}

TEST_CASE("a compile step's sparse files reach the run sparse, never expanded in the supervisor", "[sandbox]") {
    // Two 200 MB files with nothing in them, next to a tiny program.
    const Registry registry =
        shell_registry("truncate -s 200M big1 big2 && echo tiny > prog", "stat -c \"%n %s %b\" big1 big2 prog");
    const std::string dir = make_temp_dir("execd-sparse-cache");
    CompileCacheConfig cc;
    cc.dir = dir + "/cache";
    CompileCache cache(cc);

    for (CompileCache* c : {static_cast<CompileCache*>(nullptr), &cache}) {
        INFO((c ? "with the compile cache" : "without a cache (the supervisor's copy)"));
        Runner runner(shared_sandbox(), registry, c);
        JobRequest req;
        req.language = "shellc";
        req.code = "unused\n";
        TestCase t;
        t.name = "one";
        req.tests = {t};
        const int64_t before = ns_tmpfs_used();
        int64_t during = -1;
        req.on_test = [&](const TestResult&, size_t, size_t) { during = ns_tmpfs_used(); };
        JobResult r = runner.run(req);
        INFO(r.run.message);
        REQUIRE(r.tests.size() == 1);
        INFO(r.tests[0].result.message << r.tests[0].result.stdout_data << r.tests[0].result.stderr_data);
        REQUIRE(r.run.verdict == Verdict::OK);
        const auto seen = stat_lines(r.tests[0].result.stdout_data);
        REQUIRE(seen.size() == 3);
        for (const char* name : {"big1", "big2"}) {
            CHECK(seen.at(name).first == 200 * kMB);
            CHECK(seen.at(name).second * 512 < kMB);  // the holes were kept
        }
        CHECK(seen.at("prog").first == 5);
        // While the job held its program, the sandbox's tmpfs (charged to the
        // supervisor) grew by far less than the 400 MB the holes stand for.
        REQUIRE(during >= 0);
        CHECK(during - before < 32 * kMB);
        if (c) CHECK(cache.size_bytes() < kMB);  // the cache counts blocks too
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("a compile step's output over the artifact budget is a CompileError naming it", "[sandbox]") {
    // 20 MB of real data: more than this cache keeps per entry, so the
    // supervisor's copy must refuse it too, by the same budget.
    const Registry registry =
        shell_registry("head -c 20000000 /dev/zero > blob && echo tiny > prog", "stat -c \"%n %s %b\" blob");
    const std::string dir = make_temp_dir("execd-sparse-cache");
    CompileCacheConfig cc;
    cc.dir = dir + "/cache";
    cc.max_entry_bytes = 8 * kMB;
    CompileCache cache(cc);
    Runner runner(shared_sandbox(), registry, &cache);
    JobRequest req;
    req.language = "shellc";
    req.code = "unused\n";
    JobResult r = runner.run(req);
    INFO(r.run.message);
    CHECK(r.run.verdict == Verdict::CompileError);
    CHECK_THAT(r.run.message, Contains("8 MB"));
    CHECK_FALSE(r.cached);
    CHECK(cache.size_bytes() == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("the sandbox's own tmpfs has a size", "[sandbox]") {
    shared_sandbox();
    const int64_t total = ns_tmpfs_total();
    INFO("ns tmpfs " << total / kMB << " MB, RAM " << physical_ram() / kMB << " MB");
    // Without size= a tmpfs may take half the RAM; the default is a quarter.
    CHECK(total <= physical_ram() / 4 + kMB);
    CHECK(total >= physical_ram() / 4 - kMB);
}

TEST_CASE("opening the compile cache removes what a crash left, and only that", "[unit]") {
    const std::string dir = make_temp_dir("execd-cache-leftovers");
    ::chmod(dir.c_str(), 0711);
    const std::string key(64, 'a');
    for (const std::string& name :
         {std::string("trash.1"), std::string("tmp.old"), std::string("tmp.new"), key, std::string("other")})
        REQUIRE(::mkdir((dir + "/" + name).c_str(), 0755) == 0);
    std::ofstream(dir + "/trash.1/file") << "x";  // a tree, as an eviction leaves it
    // A store cut short an hour and more ago; another one under way now.
    const timespec old_times[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
    REQUIRE(::utimensat(AT_FDCWD, (dir + "/tmp.old").c_str(), old_times, 0) == 0);
    execd::CompileCacheConfig config;
    config.dir = dir;
    execd::CompileCache cache(config);
    auto there = [&](const std::string& name) { return ::access((dir + "/" + name).c_str(), F_OK) == 0; };
    CHECK_FALSE(there("trash.1"));
    CHECK_FALSE(there("tmp.old"));
    CHECK(there("tmp.new"));
    CHECK(there(key));
    CHECK(there("other"));
}

TEST_CASE("version probes get an empty HOME of their own, not a world-writable one", "[unit]") {
    // A config file planted where HOME=/tmp would have pointed.
    const std::string planted_name = ".execd-planted-" + random_hex(8);
    const std::string planted = "/tmp/" + planted_name;
    {
        std::ofstream out(planted);
        out << "PLANTED";
        REQUIRE(out.good());
    }
    ::setenv("EXECD_PROBE_LEAK", "leaked", 1);
    const Registry registry = shell_registry(
        "true", "true",
        "printf \"%s|%s|%s|%s|%s|\" \"$HOME\" \"$(pwd)\" \"$(stat -c %u:%a \"$HOME\")\" \"$(ls -A \"$HOME\" | wc -l)\" "
        "\"${EXECD_PROBE_LEAK:-clean}\"; cat \"$HOME/" +
            planted_name + "\" 2>/dev/null || echo not-read");
    const std::string line = registry.find("shellc")->probe_version();
    ::unsetenv("EXECD_PROBE_LEAK");
    ::unlink(planted.c_str());
    INFO(line);
    std::vector<std::string> parts;
    std::istringstream in(line);
    for (std::string p; std::getline(in, p, '|');) parts.push_back(p);
    REQUIRE(parts.size() == 6);
    const std::string& home = parts[0];
    CHECK(home != "/tmp");
    CHECK(home.rfind('/', 0) == 0);
    CHECK(parts[1] == home);  // it runs there, not in the caller's directory
    CHECK(parts[2] == std::to_string(geteuid()) + ":755");
    CHECK(parts[3] == "0");
    CHECK(parts[4] == "clean");
    CHECK(parts[5] == "not-read");
    CHECK(access(home.c_str(), F_OK) != 0);  // and it is gone afterwards
}

TEST_CASE("exec run DIR refuses links that lead out of the directory", "[cli]") {
    const std::string base = make_temp_dir("execd-soldir");
    const std::string secret = base + "/secret.txt";
    std::ofstream(secret) << "TOP-SECRET-KEY\n";
    const std::string sol = base + "/sol";
    REQUIRE(mkdir(sol.c_str(), 0755) == 0);
    std::ofstream(sol + "/main.py")
        << "import os\nfor root, _, fs in os.walk('.'):\n"
           "    for f in sorted(fs):\n"
           "        if f.endswith('.txt'): print(open(os.path.join(root, f)).read(), end='')\n";
    auto exec_local_run = [&] { return run_process({EXECD_EXEC_BINARY, "--local", "run", "--lang", "python", sol}); };

    SECTION("an absolute link to a file outside") {
        REQUIRE(symlink(secret.c_str(), (sol + "/data.txt").c_str()) == 0);
        Process p = exec_local_run();
        INFO(p.out << p.err);
        CHECK(p.exit_code == 2);
        CHECK_THAT(p.err, Contains("data.txt") && Contains("leads out of"));
        CHECK(p.out.find("TOP-SECRET") == std::string::npos);
    }
    SECTION("a relative link climbing out") {
        REQUIRE(symlink("../secret.txt", (sol + "/data.txt").c_str()) == 0);
        Process p = exec_local_run();
        INFO(p.out << p.err);
        CHECK(p.exit_code == 2);
        CHECK_THAT(p.err, Contains("data.txt") && Contains("leads out of"));
        CHECK(p.out.find("TOP-SECRET") == std::string::npos);
    }
    SECTION("a linked directory outside") {
        REQUIRE(mkdir((base + "/outdir").c_str(), 0755) == 0);
        std::ofstream(base + "/outdir/x.txt") << "TOP-SECRET-DIR\n";
        REQUIRE(symlink((base + "/outdir").c_str(), (sol + "/lib").c_str()) == 0);
        Process p = exec_local_run();
        INFO(p.out << p.err);
        CHECK(p.exit_code == 2);
        CHECK_THAT(p.err, Contains("lib") && Contains("leads out of"));
        CHECK(p.out.find("TOP-SECRET") == std::string::npos);
    }
    SECTION("a link that stays inside is read") {
        std::ofstream(sol + "/real.txt") << "inside\n";
        REQUIRE(symlink("real.txt", (sol + "/alias.txt").c_str()) == 0);
        Process p = exec_local_run();
        INFO(p.err);
        CHECK(p.exit_code == 0);
        CHECK(p.out == "inside\ninside\n");  // alias.txt, real.txt
    }
    std::filesystem::remove_all(base);
}
