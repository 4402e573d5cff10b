// The warm sandbox (cmd/warm.h), attacked from outside: the exec waiting
// for a job is killed, the keeper is killed, a job leaves things behind for
// the next, someone who is not root knocks, garbage arrives on its socket,
// and the registry changes under it. Each test has a state directory of its
// own, so it talks to a keeper of its own.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;

extern char** environ;

namespace {

const std::string kExec = EXECD_EXEC_BINARY;

struct Warm {
    std::string state = make_temp_dir("execd-warm-state");
    std::string dir = make_temp_dir("execd-warm");

    std::vector<std::string> exec(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{kExec, "--state-dir", state};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }
    Process run(const std::vector<std::string>& args, const std::string& stdin_data = {}) const {
        return run_process(exec(args), stdin_data);
    }
    std::string file(const std::string& name, const std::string& content) const {
        const std::string path = dir + "/" + name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }
    // The pids `exec warm` lists for this test's instance and state dir.
    std::vector<long> keepers() const {
        std::vector<long> pids;
        const std::string out = run({"warm"}).out;
        std::regex line("pid ([0-9]+),[^\n]*\n  registry [^\n]*state " + state + ",");
        for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it)
            pids.push_back(std::stol((*it)[1]));
        return pids;
    }
    ~Warm() { run({"warm", "--stop"}); }
};

// Starts argv with stdin and stdout on /dev/null; returns its pid.
pid_t spawn_quiet(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    return pid;
}

// The processes of a running job (not a prepared box), once there are some.
std::vector<int> running_job_processes(int ms = 15000) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        auto found = box_uid_processes(test_uid_base());
        if (!found.empty() || std::chrono::steady_clock::now() > give_up) return found;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// Whether `pid` is gone within `ms` (a zombie counts as gone: PID 1 here
// may not reap).
bool gone_within(long pid, int ms) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        const std::string status = read_text("/proc/" + std::to_string(pid) + "/status");
        if (status.empty() || status.find("State:\tZ") != std::string::npos) return true;
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

TEST_CASE("exec keeps its sandbox warm: the next exec uses it, `exec warm` lists it, --stop ends it", "[cli][warm]") {
    Warm w;
    const std::string hello = w.file("hello.py", "print('hello')\n");
    auto first = w.run({"run", hello});
    CHECK(first.out == "hello\n");
    CHECK(first.err.empty());
    auto keepers = w.keepers();
    REQUIRE(keepers.size() == 1);
    auto second = w.run({"run", hello});
    CHECK(second.out == "hello\n");
    CHECK(w.keepers() == keepers);  // the same process served both
    CHECK_THAT(w.run({"warm"}).out, Contains("2 jobs"));

    // Not in our session (no terminal's signal reaches it), and not in our
    // working directory (it would hold a mount busy).
    const std::string stat = read_text("/proc/" + std::to_string(keepers[0]) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string state;
    long ppid = 0, pgrp = 0, session = 0;
    fields >> state >> ppid >> pgrp >> session;
    CHECK(session != ::getsid(0));
    CHECK(std::filesystem::read_symlink("/proc/" + std::to_string(keepers[0]) + "/cwd") == "/");

    auto stop = w.run({"warm", "--stop"});
    CHECK_THAT(stop.out, Contains("stopped the warm sandbox"));
    CHECK(gone_within(keepers[0], 1000));
    CHECK(w.keepers().empty());
    // With --warm 0 nothing is kept.
    CHECK(w.run({"--warm", "0", "run", hello}).out == "hello\n");
    CHECK(w.keepers().empty());
    CHECK(run_process({"/usr/bin/env", "EXEC_WARM=0", kExec, "--state-dir", w.state, "run", hello}).out == "hello\n");
    CHECK(w.keepers().empty());
    CHECK_THAT(run_process({"/usr/bin/env", "EXEC_WARM=soon", kExec, "--state-dir", w.state, "run", hello}).err,
               Contains("EXEC_WARM='soon'"));
}

TEST_CASE("a warm sandbox ends by itself after --warm seconds without a job", "[cli][warm]") {
    Warm w;
    REQUIRE(w.run({"--warm", "3", "run", w.file("up.py", "print('up')\n")}).out == "up\n");
    const auto keepers = w.keepers();
    REQUIRE(keepers.size() == 1);
    CHECK_THAT(w.run({"warm"}).out, Contains("of 3 s"));
    CHECK(gone_within(keepers[0], 10000));
    CHECK(w.keepers().empty());
}

TEST_CASE("killing the exec that waits for a job ends the job in the warm sandbox at once", "[cli][warm]") {
    Warm w;
    const std::string sleeper = w.file("sleep.py", "import time\ntime.sleep(30)\nprint('woke')\n");
    REQUIRE(w.run({"run", w.file("up.py", "print('up')\n")}).out == "up\n");  // the keeper runs
    // That job's box may still be ending as its result is printed.
    REQUIRE(box_uid_processes_after(test_uid_base(), 5000).empty());

    const pid_t client = spawn_quiet(w.exec({"run", "--time", "40000", sleeper}));
    const auto job = running_job_processes();
    REQUIRE(!job.empty());
    ::kill(client, SIGKILL);
    ::waitpid(client, nullptr, 0);
    for (int pid : job) CHECK(gone_within(pid, 2000));
    CHECK(box_uid_processes_after(test_uid_base(), 2000).empty());
    // The cancelled job is counted done once its runner has returned.
    std::string status;
    for (int i = 0; i < 100 && (status = w.run({"warm"}).out).find("0 running") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_THAT(status, Contains("0 running"));
    // And the keeper serves the next job as before.
    CHECK(w.run({"run", w.file("again.py", "print('again')\n")}).out == "again\n");
}

TEST_CASE("killing the warm sandbox kills its jobs; the exec waiting runs its job in-process", "[cli][warm]") {
    Warm w;
    REQUIRE(w.run({"run", w.file("up.py", "print('up')\n")}).out == "up\n");
    const auto keepers = w.keepers();
    REQUIRE(keepers.size() == 1);

    Process result;
    std::thread client([&] {
        result =
            w.run({"run", "--time", "20000", w.file("slow.py", "import time\ntime.sleep(3)\nprint('finished')\n")});
    });
    const auto job = running_job_processes();
    REQUIRE(!job.empty());
    ::kill(static_cast<pid_t>(keepers[0]), SIGKILL);
    // Its boxes die with it: the spawner's and every box init's parent-death signal.
    for (int pid : job) CHECK(gone_within(pid, 2000));
    client.join();
    CHECK(result.exit_code == 0);
    CHECK(result.out == "finished\n");
    CHECK_THAT(result.err, Contains("the warm sandbox ended during the job") && Contains("in-process"));
    // The next exec finds the dead keeper's socket, and starts another.
    CHECK(w.run({"run", w.file("next.py", "print('next')\n")}).out == "next\n");
    const auto now = w.keepers();
    REQUIRE(now.size() == 1);
    CHECK(now[0] != keepers[0]);
}

TEST_CASE("a job longer than the silence limit is heard of; a keeper that says nothing is given up", "[cli][warm]") {
    Warm w;
    const std::string exec_silence_10 = "EXEC_WARM_SILENCE=10";
    auto run_env = [&](const std::vector<std::string>& args) {
        std::vector<std::string> argv{"/usr/bin/env", exec_silence_10};
        for (const auto& a : w.exec(args)) argv.push_back(a);
        return run_process(argv);
    };
    REQUIRE(run_env({"run", w.file("up.py", "print('up')\n")}).out == "up\n");
    const auto keepers = w.keepers();
    REQUIRE(keepers.size() == 1);

    // 14 s of silence from the program: the keeper says the job is alive
    // every 5 s, so the client waits for it.
    auto long_job =
        run_env({"run", "--time", "30000", w.file("long.py", "import time\ntime.sleep(14)\nprint('slept')\n")});
    CHECK(long_job.exit_code == 0);
    CHECK(long_job.out == "slept\n");
    CHECK(long_job.err.empty());
    CHECK(w.keepers() == keepers);

    // A keeper that is alive but says nothing (stopped): the client gives
    // up after 10 s and runs the job itself. The program sleeps only when
    // it starts within 6 s (in the keeper's box), not when it starts later
    // (in the client's own sandbox).
    const long deadline = static_cast<long>(std::time(nullptr)) + 6;
    const std::string script = w.file("stuck.py", "import time\nif time.time() < " + std::to_string(deadline) +
                                                      ":\n    time.sleep(50)\nprint('ran')\n");
    Process result;
    std::thread client([&] { result = run_env({"run", "--time", "60000", script}); });
    const auto job = running_job_processes();
    REQUIRE(!job.empty());
    ::kill(static_cast<pid_t>(keepers[0]), SIGSTOP);
    client.join();
    ::kill(static_cast<pid_t>(keepers[0]), SIGCONT);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "ran\n");
    CHECK_THAT(result.err, Contains("said nothing for 10 s") && Contains("in-process"));
    // Resumed, the keeper finds its client gone and ends the job.
    for (int pid : job) CHECK(gone_within(pid, 5000));
    // A silence limit that is no number of seconds is refused.
    CHECK_THAT(run_process({"/usr/bin/env", "EXEC_WARM_SILENCE=1", kExec, "--state-dir", w.state, "run",
                            w.file("x.py", "print(1)\n")})
                   .err,
               Contains("EXEC_WARM_SILENCE='1'"));
}

TEST_CASE("a warm box keeps nothing of one job for the next", "[cli][warm]") {
    Warm w;
    // Python with a writable /tmp, as some languages have.
    std::string toml = read_text(EXECD_SOURCE_DIR "/languages.toml");
    const std::string marker = "env = { PYTHONDONTWRITEBYTECODE = \"1\" }\n";
    const auto at = toml.find(marker);
    REQUIRE(at != std::string::npos);
    toml.insert(at + marker.size(), "run_tmpfs_mb = 4\n");
    const std::string registry = w.file("languages.toml", toml);
    auto first = w.run({"--languages", registry, "run",
                        w.file("litter.py",
                               "import os, time\n"
                               "open('/tmp/litter', 'w').write('x')\n"
                               "if os.fork() == 0:\n"
                               "    os.setsid()\n"
                               "    time.sleep(60)\n"
                               "print(os.path.exists('/tmp/litter'))\n")});
    INFO(first.err);
    REQUIRE(first.out == "True\n");
    // The background process died with the job's PID namespace.
    CHECK(box_uid_processes_after(test_uid_base(), 2000).empty());
    auto second = w.run({"--languages", registry, "run",
                         w.file("look.py",
                                "import os\n"
                                "print(os.path.exists('/tmp/litter'))\n"
                                "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n")});
    // Only itself (PID 2 of its own namespace) is visible, and /tmp is fresh.
    CHECK(second.out == "False\n[2]\n");
    CHECK(w.keepers().size() == 1);  // both ran in the same warm sandbox
}

TEST_CASE("only root can reach a warm sandbox, and garbage on its socket does not stop it", "[cli][warm]") {
    Warm w;
    REQUIRE(w.run({"run", w.file("up.py", "print('up')\n")}).out == "up\n");
    const auto keepers = w.keepers();
    REQUIRE(keepers.size() == 1);
    const std::string listing = w.run({"warm"}).out;
    std::smatch m;
    REQUIRE(std::regex_search(listing, m, std::regex("socket (/[^\n]+\\.sock)\n")));
    const std::string socket_path = m[1];

    // The socket's directory is root's, 0700; the socket 0600.
    struct stat st {};
    REQUIRE(::stat("/run/execd/locks", &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat(socket_path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto connect_to = [&](int* err) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
        *err = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
        return fd;
    };
    // Another user cannot connect.
    const pid_t child = ::fork();
    if (child == 0) {
        if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(3);
        int err = 0;
        connect_to(&err);
        ::_exit(err == EACCES ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // Garbage, a frame too large, a run for another configuration, a
    // truncated frame, and silence: each connection is dropped or answered.
    const std::vector<std::string> junk{
        std::string("GET / HTTP/1.1\r\n\r\n"),
        std::string("\x01\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\x7f", 16),
        std::string("\x01\0\0\0\0\0\0\0\x10\0\0\0\0\0\0\0", 16) + std::string(16, '\0'),
        std::string("\x01\0\0\0\0\0\0\0\x00\x01\0\0\0\0\0\0abc", 19),
        std::string("\x01\0\0\0\0\0\0\0\x00\x00\x40\x06\0\0\0\0abc", 19),  // claims 100 MB, sends 3 bytes
        std::string(),
    };
    for (const std::string& bytes : junk) {
        int err = 0;
        const int fd = connect_to(&err);
        REQUIRE(err == 0);
        if (!bytes.empty())
            CHECK(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
        ::shutdown(fd, SHUT_WR);
        ::close(fd);
    }
    // A connection that stays open and says nothing does not hold up
    // another client, and is closed after 10 s.
    int err = 0;
    const int silent = connect_to(&err);
    REQUIRE(err == 0);
    CHECK(w.run({"run", w.file("after.py", "print('still here')\n")}).out == "still here\n");
    CHECK(w.keepers() == keepers);
    pollfd p{silent, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 20000) == 1);
    char byte = 0;
    CHECK(::recv(silent, &byte, 1, 0) == 0);  // closed by the keeper, nothing said
    ::close(silent);
}

TEST_CASE("a changed registry is never served by the warm sandbox of the old one", "[cli][warm]") {
    Warm w;
    std::string toml = read_text(EXECD_SOURCE_DIR "/languages.toml");
    const std::string registry = w.file("languages.toml", toml);
    const std::string script = w.file("env.py", "import os\nprint(os.environ.get('WARM_MARK', 'none'))\n");
    CHECK(w.run({"--languages", registry, "run", script}).out == "none\n");
    REQUIRE(w.keepers().size() == 1);
    // The same file, edited: python's environment gains a variable.
    const std::string marker = "env = { PYTHONDONTWRITEBYTECODE = \"1\"";
    const auto at = toml.find(marker);
    REQUIRE(at != std::string::npos);
    toml.insert(at + marker.size(), ", WARM_MARK = \"edited\"");
    std::ofstream(registry, std::ios::binary | std::ios::trunc) << toml;
    CHECK(w.run({"--languages", registry, "run", script}).out == "edited\n");
    CHECK(w.keepers().size() == 2);
}
