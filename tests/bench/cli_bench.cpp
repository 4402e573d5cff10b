// Whole-process comparison, as a user runs it: each command is started,
// runs to its end and is waited for, with stdin and stdout on /dev/null and
// this process's environment. Python hello and a tiny C program (its compile
// cached by a warm-up run) bare, through `exec run`, and through bwrap;
// firejail, nsjail and isolate too when they are installed. Then `exec
// languages` and `exec --version` (the process's own floor). The commands
// are interleaved round by round, so a slow moment of the machine falls on
// all of them; medians, 90th percentiles and ratios to bare are printed.
//
//   build/tests/bench/execd_cli_bench [--runs N]      (as root)
//
// `exec run` takes the path a user's would: a daemon on the host's socket
// when one answers, else the embedded engine in its warm sandbox (started by
// the warm-up runs; the output says which). A second table has `exec --warm
// 0 run`: the same job with a sandbox built and taken down by exec itself,
// what the first run on a host costs. A warm sandbox the benchmark started
// is stopped at its end.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "execd_cli_bench: %s\n", what.c_str());
    std::exit(1);
}

// Runs argv to its end; returns the exit status (-1 when it did not exit).
int run(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) die("cannot start " + argv[0] + ": " + std::strerror(rc));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool installed(const std::string& tool) {
    for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/"})
        if (::access((std::string(dir) + tool).c_str(), X_OK) == 0) return true;
    return false;
}

struct Command {
    std::string group;  // "python hello", "tiny C", "exec itself"
    std::string name;
    std::vector<std::string> argv;
    bool baseline = false;  // the group's bare run
    std::vector<double> ms;
};

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) die("cannot write " + path);
}

// Warms up (fills the compile cache and the page cache, and checks each
// command works: a benchmark of a failing command measures nothing), then
// runs the commands round by round, so a slow moment falls on all of them.
void measure(std::vector<Command>& commands, int runs) {
    for (auto& cmd : commands)
        for (int i = 0; i < 2; ++i)
            if (int rc = run(cmd.argv); rc != 0) die(cmd.name + " exited with " + std::to_string(rc));
    for (int r = 0; r < runs; ++r)
        for (auto& cmd : commands) {
            const auto t0 = Clock::now();
            if (run(cmd.argv) != 0) die(cmd.name + " failed during the runs");
            cmd.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
}

// Medians, 90th percentiles and ratios to each group's bare run.
void print_table(const std::vector<Command>& commands) {
    std::printf("%-30s %10s %10s %10s %10s\n", "command", "median ms", "p90 ms", "vs bare", "+ms");
    std::vector<std::string> groups;  // in the order each first appears
    for (const auto& cmd : commands)
        if (std::find(groups.begin(), groups.end(), cmd.group) == groups.end()) groups.push_back(cmd.group);
    for (const auto& group : groups) {
        double base = 0;
        for (const auto& b : commands)
            if (b.group == group && b.baseline) base = percentile(b.ms, 0.5);
        std::printf("-- %s\n", group.c_str());
        for (const auto& cmd : commands) {
            if (cmd.group != group) continue;
            const double med = percentile(cmd.ms, 0.5);
            std::printf("%-30s %10.2f %10.2f %9.2fx %+10.2f\n", cmd.name.c_str(), med, percentile(cmd.ms, 0.9),
                        med / base, med - base);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 40;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--runs" && i + 1 < argc)
            runs = std::max(3, std::atoi(argv[++i]));
        else
            die(std::string("usage: ") + argv[0] + " [--runs N]");
    }
    if (::geteuid() != 0) die("run as root: exec's embedded engine and bwrap's namespaces need it");

    char tmpl[] = "/tmp/execd-cli-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) die(std::string("mkdtemp: ") + std::strerror(errno));
    const std::string dir = tmpl;
    ::chmod(dir.c_str(), 0755);
    const std::string py = dir + "/hello.py", c = dir + "/hello.c", bin = dir + "/hello";
    write_file(py, "print(\"hello\")\n");
    write_file(c, "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n");
    if (run({"/usr/bin/gcc", "-O2", "-o", bin, c}) != 0) die("gcc failed");

    const std::string exec = EXECD_EXEC_BINARY;
    // bwrap with what a Python or C program needs: /usr read-only, fresh
    // /proc, /dev and /tmp, every namespace unshared.
    auto bwrap = [&](std::vector<std::string> program) {
        // clang-format off
        std::vector<std::string> a{"bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
                                   "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
                                   "--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev",
                                   "--tmpfs", "/tmp", "--ro-bind", dir, dir,  // after /tmp, which would hide it
                                   "--unshare-all", "--die-with-parent"};
        // clang-format on
        a.insert(a.end(), program.begin(), program.end());
        return a;
    };

    std::vector<Command> commands{
        {"python hello", "python3 hello.py (bare)", {"/usr/bin/python3", py}, true, {}},
        {"python hello", "exec run hello.py", {exec, "run", py}, false, {}},
        {"python hello", "bwrap python3 hello.py", bwrap({"/usr/bin/python3", py}), false, {}},
        {"tiny C", "./hello (bare)", {bin}, true, {}},
        {"tiny C", "exec run hello.c (cached)", {exec, "run", c}, false, {}},
        {"tiny C", "bwrap ./hello", bwrap({bin}), false, {}},
        {"exec itself", "exec --version", {exec, "--version"}, true, {}},
        {"exec itself", "exec languages", {exec, "languages"}, false, {}},
    };
    if (installed("firejail")) {
        commands.push_back({"python hello",
                            "firejail python3 hello.py",
                            {"firejail", "--quiet", "--noprofile", "--net=none", "/usr/bin/python3", py},
                            false,
                            {}});
        commands.push_back(
            {"tiny C", "firejail ./hello", {"firejail", "--quiet", "--noprofile", "--net=none", bin}, false, {}});
    }
    if (installed("nsjail")) {
        auto nsjail = [&](std::vector<std::string> program) {
            std::vector<std::string> a{"nsjail", "-Mo",    "--quiet", "-R",   "/usr", "-R", "/lib",
                                       "-R",     "/lib64", "-R",      "/etc", "-R",   dir,  "--"};
            a.insert(a.end(), program.begin(), program.end());
            return a;
        };
        commands.push_back({"python hello", "nsjail python3 hello.py", nsjail({"/usr/bin/python3", py}), false, {}});
        commands.push_back({"tiny C", "nsjail ./hello", nsjail({bin}), false, {}});
    }
    if (installed("isolate")) std::printf("isolate is installed but needs its own box setup; not measured\n");

    // Whether a warm sandbox was running before: one the warm-up starts is
    // stopped at the end.
    const bool warm_before = [&] {
        std::string out;
        FILE* p = ::popen((exec + " warm").c_str(), "r");
        if (!p) return false;
        char buf[256];
        while (std::fgets(buf, sizeof buf, p)) out += buf;
        ::pclose(p);
        return out.find("pid ") != std::string::npos;
    }();

    // The first run on a host (and every run with --warm 0): exec builds the
    // sandbox and takes it down itself. Measured in a table of its own: the
    // kernel finishes tearing its namespaces down after it has exited, work
    // that would land on the clock of whatever ran next.
    std::vector<Command> cold{
        {"python hello", "python3 hello.py (bare)", {"/usr/bin/python3", py}, true, {}},
        {"python hello", "exec --warm 0 run hello.py", {exec, "--warm", "0", "run", py}, false, {}},
        {"tiny C", "./hello (bare)", {bin}, true, {}},
        {"tiny C", "exec --warm 0 run hello.c", {exec, "--warm", "0", "run", c}, false, {}},
    };

    const bool daemon = ::access("/run/execd/api.sock", F_OK) == 0 || std::getenv("EXEC_SERVER");
    std::printf("whole process, %d runs each, interleaved; exec run used %s\n", runs,
                daemon ? "a daemon (a socket or EXEC_SERVER is there)" : "its embedded engine (warm)");
    measure(commands, runs);
    print_table(commands);
    std::printf("\nthe same, with a sandbox built and taken down by each exec (--warm 0)\n");
    measure(cold, runs);
    print_table(cold);
    if (!warm_before) run({exec, "warm", "--stop"});
    for (const auto& f : {py, c, bin}) ::unlink(f.c_str());
    ::rmdir(dir.c_str());
    return 0;
}
