#include "tests/support.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace execd::test {

const Registry& repo_registry() {
    static const Registry registry = Registry::load_file(EXECD_SOURCE_DIR "/languages.toml");
    return registry;
}

int test_time_scale() {
    static const int scale = [] {
        const char* set = std::getenv("EXECD_TEST_TIME_SCALE");
        if (!set || !*set) return 1;
        const std::string text = set;
        if (text.size() > 2 || text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < 1 ||
            std::stoi(text) > 20)
            throw std::invalid_argument("EXECD_TEST_TIME_SCALE is '" + text + "': a whole number from 1 to 20");
        return std::stoi(text);
    }();
    return scale;
}

const Registry& scaled_registry() {
    static const Registry registry = [] {
        const int scale = test_time_scale();
        if (scale == 1) return repo_registry();
        // Every compiled language writes compile_limits = { time_ms = N, ... }
        // on one line; checked below, so a change of that form fails loudly.
        const std::string path = EXECD_SOURCE_DIR "/languages.toml";
        const std::string text = read_text(path);
        static const std::regex limit(R"((compile_limits = \{ time_ms = )([0-9]+))");
        std::string scaled;
        size_t copied = 0;
        for (auto m = std::sregex_iterator(text.begin(), text.end(), limit); m != std::sregex_iterator(); ++m) {
            const auto& match = *m;
            scaled += text.substr(copied, static_cast<size_t>(match.position(2)) - copied);
            scaled += std::to_string(std::stoll(match.str(2)) * scale);
            copied = static_cast<size_t>(match.position(2) + match.length(2));
        }
        scaled += text.substr(copied);
        Registry result = Registry::parse(scaled, path + " (compile time limits x" + std::to_string(scale) + ")");
        for (const Language& lang : repo_registry().languages()) {
            if (!lang.compiled()) continue;
            const Language* stretched = result.find(lang.id);
            const auto before = lang.compile_limits.time_ms, after = stretched->compile_limits.time_ms;
            if (!before || !after || *after != *before * scale)
                throw std::logic_error("scaled_registry: the compile time limit of " + lang.id +
                                       " is not written as 'compile_limits = { time_ms = N' in languages.toml");
        }
        return result;
    }();
    return registry;
}

const std::string& test_instance() {
    static const std::string instance = [] {
        const char* set = std::getenv("EXECD_INSTANCE");
        if (!set || !*set) throw std::logic_error("EXECD_INSTANCE is not set (tests/main.cpp sets it)");
        return std::string(set);
    }();
    return instance;
}

int test_uid_base() { return static_cast<int>(instance_uid_base(test_instance())); }

std::string test_cgroup_parent() { return "execd-" + test_instance(); }

Sandbox& shared_sandbox() {
    static Sandbox sandbox([] {
        SandboxConfig c;
        c.binds = repo_registry().sandbox_binds();
        c.instance = test_instance();  // apart from any other engine on this host
        c.uid_base = static_cast<uid_t>(test_uid_base());
        return c;
    }());
    return sandbox;
}

JobResult run_code(const std::string& lang, const std::string& code, const std::string& stdin_data,
                   LimitOverrides limits) {
    Runner runner(shared_sandbox(), repo_registry());
    JobRequest req;
    req.language = lang;
    req.code = code;
    req.stdin_data = stdin_data;
    req.limits = limits;
    return runner.run(req);
}

std::string language_sample(const Language& lang, const std::string& kind) {
    for (const std::string& id : {lang.id, lang.variant_of}) {
        if (id.empty()) continue;
        for (const auto& ext : lang.extensions) {
            const std::string path = std::string(EXECD_SOURCE_DIR) + "/tests/langs/" + id + "/" + kind + "." + ext;
            if (::access(path.c_str(), R_OK) == 0) return path;
        }
    }
    return {};
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

constexpr std::string_view kTempRootPrefix = "execd-tests-";  // then the pid, '-' and mkdtemp's six
std::string temp_root_path;
pid_t temp_root_owner = 0;  // a forked child that calls exit() removes nothing

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
    if (type == FTW_DP)
        ::rmdir(path);
    else
        ::unlink(path);
    return 0;
}

// What the tests mounted below `top` (in this process's mount namespace,
// on directories they made) is detached, then the tree removed, never
// crossing into another filesystem.
void remove_tree_of_tests(const std::string& top) {
    std::vector<std::string> mounts;
    std::ifstream info("/proc/self/mountinfo");
    for (std::string line; std::getline(info, line);) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point;
        fields >> id >> parent >> devno >> root >> point;
        if (point.rfind(top + "/", 0) == 0) mounts.push_back(point);
    }
    std::sort(mounts.rbegin(), mounts.rend());  // deepest first
    for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
    ::nftw(top.c_str(), remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void remove_temp_root() {
    if (!temp_root_path.empty() && ::getpid() == temp_root_owner) remove_tree_of_tests(temp_root_path);
}

std::string temp_base() {
    const char* env = std::getenv("TMPDIR");
    return env && *env ? env : "/tmp";
}

}  // namespace

void remove_roots_of_dead_runs() {
    const std::string base = temp_base();
    DIR* d = ::opendir(base.c_str());
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.rfind(kTempRootPrefix, 0) != 0) continue;
        const long pid = std::atol(name.c_str() + kTempRootPrefix.size());
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(base + "/" + name);
    }
    ::closedir(d);
    for (const auto& dir : stale) remove_tree_of_tests(dir);
}

const std::string& temp_root() {
    static const bool made = [] {
        std::string tmpl = temp_base() + "/" + std::string(kTempRootPrefix) + std::to_string(::getpid()) + "-XXXXXX";
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
        ::chmod(tmpl.c_str(), 0755);  // boxes reach files a test binds in
        temp_root_path = tmpl;
        temp_root_owner = ::getpid();
        std::atexit(remove_temp_root);
        return true;
    }();
    (void)made;
    return temp_root_path;
}

std::string make_temp_dir(const std::string& prefix) {
    std::string tmpl = temp_root() + "/" + prefix + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
    return tmpl;
}

Process run_process(const std::vector<std::string>& argv, const std::string& stdin_data) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        // Dies with the test process, however that ends (support.h).
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    Process p;
    size_t off = 0;
    int in_fd = in[1];
    if (stdin_data.empty()) {
        close(in_fd);
        in_fd = -1;
    } else {
        fcntl(in_fd, F_SETFL, O_NONBLOCK);
    }
    bool out_open = true, err_open = true;
    char buf[65536];
    while (out_open || err_open) {
        pollfd fds[3];
        int n = 0;
        if (out_open) fds[n++] = {out[0], POLLIN, 0};
        if (err_open) fds[n++] = {err[0], POLLIN, 0};
        if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
        poll(fds, n, 1000);
        for (int i = 0; i < n; ++i) {
            if (!fds[i].revents) continue;
            if (fds[i].fd == in_fd) {
                ssize_t w = write(in_fd, stdin_data.data() + off, stdin_data.size() - off);
                if (w > 0) off += static_cast<size_t>(w);
                if (w < 0 || off == stdin_data.size()) {
                    close(in_fd);
                    in_fd = -1;
                }
                continue;
            }
            ssize_t r = read(fds[i].fd, buf, sizeof buf);
            if (r <= 0) {
                if (fds[i].fd == out[0])
                    out_open = false;
                else
                    err_open = false;
            } else {
                (fds[i].fd == out[0] ? p.out : p.err).append(buf, static_cast<size_t>(r));
            }
        }
    }
    if (in_fd >= 0) close(in_fd);
    close(out[0]);
    close(err[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    p.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return p;
}

std::vector<int> box_uid_processes(int uid_base, bool prepared_too) {
    std::vector<int> found;
    DIR* d = opendir("/proc");
    while (dirent* e = readdir(d)) {
        int pid = atoi(e->d_name);
        if (pid <= 0) continue;
        if (!prepared_too) {
            // The box init binary is executed from a memfd only the
            // supervisor holds (or a root-only file): a program cannot pass
            // for it.
            char exe[256] = {};
            const std::string link = std::string("/proc/") + e->d_name + "/exe";
            if (readlink(link.c_str(), exe, sizeof exe - 1) > 0 &&
                (std::strstr(exe, "/memfd:execd-box-init") == exe || std::strstr(exe, "/ns/box-init")))
                continue;
        }
        std::istringstream in(read_text(std::string("/proc/") + e->d_name + "/status"));
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("Uid:", 0) != 0) continue;
            int uid = atoi(line.c_str() + 4);
            if (uid >= uid_base && uid < uid_base + 256) found.push_back(pid);
            break;
        }
    }
    closedir(d);
    return found;
}

std::vector<int> box_uid_processes_after(int uid_base, int ms) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        auto left = box_uid_processes(uid_base);
        if (left.empty() || std::chrono::steady_clock::now() > give_up) return left;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::vector<std::string> roff_arguments(const std::string& line) {
    std::vector<std::string> args;
    size_t i = 0;
    while (i < line.size()) {
        if (line[i] == ' ') {
            ++i;
            continue;
        }
        std::string arg;
        if (line[i] == '"') {
            for (++i; i < line.size() && line[i] != '"'; ++i) arg += line[i];
            ++i;  // the closing quote
        } else {
            for (; i < line.size() && line[i] != ' '; ++i) arg += line[i];
        }
        args.push_back(arg);
    }
    return args;
}

std::vector<std::string> host_mounts_mentioning(const std::string& needle) {
    std::vector<std::string> lines;
    std::istringstream in(read_text("/proc/1/mountinfo"));
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos) lines.push_back(line);
    return lines;
}

}  // namespace execd::test
