// execd_bench: what one sandboxed run costs over a bare fork+exec, next to
// bubblewrap, measured in one process with the variants interleaved
// round-robin in the same loop so machine noise hits them all alike.
//
//   build/tests/bench/execd_bench [--runs N] [--warmup N] [--workload c|python|all]
//
// Needs root (the native sandbox does). Not a ctest test: run it by hand.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/sandbox/policy.h"
#include "core/sandbox/sandbox.h"

namespace {

using Clock = std::chrono::steady_clock;

// Thrown up to main, so the sandbox, box and temp dirs are still cleaned up.
[[noreturn]] void die(const std::string& message) { throw std::runtime_error(message); }

const char* const kGcc = "/usr/bin/gcc";
const char* const kPython = "/usr/bin/python3";
const char* const kBwrap = "/usr/bin/bwrap";

// The one clean environment every variant gets.
const std::vector<std::pair<std::string, std::string>> kEnv = {
    {"PATH", "/usr/bin:/bin"}, {"HOME", "/tmp"}, {"LANG", "C.UTF-8"}};

struct CStrings {
    std::vector<std::string> storage;
    std::vector<char*> ptrs;
    explicit CStrings(std::vector<std::string> s) : storage(std::move(s)) {
        for (auto& x : storage) ptrs.push_back(x.data());
        ptrs.push_back(nullptr);
    }
    char* const* get() { return ptrs.data(); }
};

struct ChildResult {
    int wstatus = 0;
    std::string out;
};

// posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), no page-table copy) with
// stdin from /dev/null, stdout+stderr into a pipe that is drained, then wait.
ChildResult spawn_and_wait(const std::vector<std::string>& argv, const std::string& cwd) {
    static CStrings envp([] {
        std::vector<std::string> e;
        for (const auto& [k, v] : kEnv) e.push_back(k + "=" + v);
        return e;
    }());
    CStrings args(argv);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) die(std::string("pipe2: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.get(), envp.get());
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        die("posix_spawn " + argv[0] + ": " + std::strerror(rc));
    }
    ChildResult r;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        r.out.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    while (::waitpid(pid, &r.wstatus, 0) < 0 && errno == EINTR) {
    }
    return r;
}

std::string describe_status(int wstatus) {
    if (WIFEXITED(wstatus)) return "exit " + std::to_string(WEXITSTATUS(wstatus));
    if (WIFSIGNALED(wstatus)) return "signal " + std::to_string(WTERMSIG(wstatus));
    return "status " + std::to_string(wstatus);
}

std::string read_host_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_host_file(const std::string& path, const std::string& content, mode_t mode) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out) die("cannot write " + path);
        out << content;
    }
    ::chmod(path.c_str(), mode);
}

// ---------------------------------------------------------------- variants

struct Variant {
    std::string name;
    std::function<void()> run_once;  // runs one program, dies loudly if it failed
    std::vector<double> samples_us;
};

struct Workload {
    std::string name;
    std::vector<Variant> variants;  // [0] is the bare baseline
};

std::vector<std::string> bwrap_argv(const std::string& workdir, const std::vector<std::string>& program) {
    std::vector<std::string> a = {
        kBwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        // the same extra binds the execd sandbox gets
        "--ro-bind", "/etc/alternatives", "/etc/alternatives", "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
        "--proc", "/proc", "--dev", "/dev", "--ro-bind", workdir, "/box", "--chdir", "/box", "--clearenv"};
    for (const auto& [k, v] : kEnv) {
        a.push_back("--setenv");
        a.push_back(k);
        a.push_back(v);
    }
    a.insert(a.end(), program.begin(), program.end());
    return a;
}

// One workload: a host work dir (for bare and bwrap) and an execd WorkDir
// holding the same files, and the argv of the program as seen from inside
// (/box) and from the host.
Workload make_workload(const std::string& name, execd::Box& box, const execd::WorkDir& box_dir,
                       const std::string& host_dir, const std::vector<std::string>& host_argv,
                       const std::vector<std::string>& box_argv, const std::string& expected_stdout) {
    Workload w;
    w.name = name;

    w.variants.push_back(
        Variant{"bare",
                [=] {
                    ChildResult r = spawn_and_wait(host_argv, host_dir);
                    if (!WIFEXITED(r.wstatus) || WEXITSTATUS(r.wstatus) != 0 || r.out != expected_stdout)
                        die(name + "/bare failed: " + describe_status(r.wstatus) + ", output: " + r.out);
                },
                {}});

    const auto bw = bwrap_argv(host_dir, box_argv);
    w.variants.push_back(
        Variant{"bwrap",
                [=] {
                    ChildResult r = spawn_and_wait(bw, "");
                    if (!WIFEXITED(r.wstatus) || WEXITSTATUS(r.wstatus) != 0 || r.out != expected_stdout)
                        die(name + "/bwrap failed: " + describe_status(r.wstatus) + ", output: " + r.out);
                },
                {}});

    auto policy = std::make_shared<execd::RunPolicy>();
    policy->argv = box_argv;
    for (const auto& [k, v] : kEnv) policy->env[k] = v;
    policy->work_dir = box_dir.path();
    policy->work_access = execd::WorkDirAccess::ReadOnly;
    w.variants.push_back(
        Variant{"execd",
                [=, &box] {
                    execd::RunOutcome o = box.run(*policy);
                    if (o.internal_error) die(name + "/execd internal error: " + o.internal_message);
                    if (!o.exited || o.exit_code != 0 || o.term_signal != 0 || o.stdout_data != expected_stdout)
                        die(name + "/execd failed: exited=" + std::to_string(o.exited) +
                            " exit_code=" + std::to_string(o.exit_code) + " signal=" + std::to_string(o.term_signal) +
                            " stdout=[" + o.stdout_data + "] stderr=[" + o.stderr_data + "]");
                },
                {}});
    return w;
}

// ---------------------------------------------------------------- stats

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    // nearest-rank
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    if (rank < 1) rank = 1;
    if (rank > v.size()) rank = v.size();
    return v[rank - 1];
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// `x` with `decimals` digits after the point.
std::string fmt(int decimals, double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    return buf;
}

void usage() { std::cerr << "usage: execd_bench [--runs N] [--warmup N] [--workload c|python|all]\n"; }

}  // namespace

int main(int argc, char** argv) {
    int runs = 300, warmup = 20;
    std::string which = "all";
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--runs") {
            runs = std::atoi(value().c_str());
        } else if (a == "--warmup") {
            warmup = std::atoi(value().c_str());
        } else if (a == "--workload") {
            which = value();
        } else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (runs < 1 || warmup < 0 || (which != "c" && which != "python" && which != "all")) {
        usage();
        return 2;
    }
    const bool want_c = which == "c" || which == "all";
    const bool want_py = which == "python" || which == "all";

    try {
        // First, before anything is spawned: this moves us into a private
        // mount namespace, where bare and bwrap run too.
        execd::SandboxConfig config;
        config.binds = {"/usr", "/etc/alternatives", "/etc/ld.so.cache"};
        execd::Sandbox sandbox(config);
        std::unique_ptr<execd::Box> box = sandbox.acquire_box();

        char tmpl[] = "/tmp/execd-bench-XXXXXX";
        if (!::mkdtemp(tmpl)) die(std::string("mkdtemp: ") + std::strerror(errno));
        const std::string host_dir = tmpl;
        ::chmod(host_dir.c_str(), 0755);
        struct Cleanup {
            std::string dir;
            ~Cleanup() {
                std::error_code ec;
                std::filesystem::remove_all(dir, ec);
            }
        } cleanup{host_dir};

        std::vector<execd::WorkDir> work_dirs;
        std::vector<Workload> workloads;

        if (want_c) {
            write_host_file(host_dir + "/hi.c", "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n", 0644);
            ChildResult cc = spawn_and_wait({kGcc, "-O2", "-o", host_dir + "/hi", host_dir + "/hi.c"}, host_dir);
            if (!WIFEXITED(cc.wstatus) || WEXITSTATUS(cc.wstatus) != 0)
                die("gcc failed (" + describe_status(cc.wstatus) + "): " + cc.out);
            work_dirs.push_back(sandbox.make_work_dir(box->uid()));
            work_dirs.back().add_file("hi", read_host_file(host_dir + "/hi"), 0755);
            workloads.push_back(
                make_workload("tiny-c", *box, work_dirs.back(), host_dir, {host_dir + "/hi"}, {"/box/hi"}, "hi\n"));
        }
        if (want_py) {
            const std::string src = "print(\"hello\")\n";
            write_host_file(host_dir + "/main.py", src, 0644);
            work_dirs.push_back(sandbox.make_work_dir(box->uid()));
            work_dirs.back().add_file("main.py", src, 0644);
            workloads.push_back(make_workload("python-hello", *box, work_dirs.back(), host_dir, {kPython, "main.py"},
                                              {kPython, "main.py"}, "hello\n"));
        }

        std::cout << "execd_bench: " << sandbox.describe() << "\n"
                  << "runs: " << runs << " measured per variant after " << warmup
                  << " warm-up, variants interleaved round-robin (rotating order), pid " << ::getpid() << "\n"
                  << std::flush;

        // The loop: every iteration runs every variant of every workload once;
        // the order of the variants rotates so none always follows another.
        const int total = warmup + runs;
        for (int it = 0; it < total; ++it) {
            for (auto& w : workloads) {
                const size_t n = w.variants.size();
                for (size_t k = 0; k < n; ++k) {
                    Variant& v = w.variants[(k + static_cast<size_t>(it)) % n];
                    const auto t0 = Clock::now();
                    v.run_once();
                    const auto t1 = Clock::now();
                    if (it >= warmup)
                        v.samples_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
                }
            }
            if ((it + 1) % 100 == 0) std::cerr << "  " << (it + 1) << "/" << total << " iterations\r" << std::flush;
        }
        std::cerr << std::string(40, ' ') << "\r" << std::flush;

        std::printf("\n%-13s %-6s %10s %10s %10s %10s %20s %14s\n", "workload", "variant", "min_us", "median_us",
                    "p90_us", "p99_us", "overhead_vs_bare_us", "ratio_vs_bare");
        std::vector<std::string> summaries;
        for (const auto& w : workloads) {
            const double bare = median(w.variants[0].samples_us);
            double med_bwrap = 0, med_execd = 0;
            for (const auto& v : w.variants) {
                const double med = median(v.samples_us);
                if (v.name == "bwrap") med_bwrap = med;
                if (v.name == "execd") med_execd = med;
                std::printf("%-13s %-6s %10.0f %10.0f %10.0f %10.0f %20.0f %14.2f\n", w.name.c_str(), v.name.c_str(),
                            percentile(v.samples_us, 0), med, percentile(v.samples_us, 90),
                            percentile(v.samples_us, 99), med - bare, med / bare);
            }
            const double add_execd = med_execd - bare, add_bwrap = med_bwrap - bare;
            std::string s = w.name + ": execd adds " + fmt(0, add_execd) + " us over bare fork+exec (" +
                            fmt(2, med_execd / bare) + "x); bwrap adds " + fmt(0, add_bwrap) + " us (" +
                            fmt(2, med_bwrap / bare) + "x); ";
            if (add_execd > 0 && add_bwrap > 0)
                s += "execd is " + fmt(1, add_bwrap / add_execd) + "x less overhead than bwrap";
            else
                s += "overhead ratio undefined (an overhead is <= 0: noise dominates)";
            summaries.push_back(s);
        }
        std::printf("\n");
        for (const auto& s : summaries) std::printf("%s\n", s.c_str());
        std::fflush(stdout);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::cerr << "\nexecd_bench: FATAL: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
