#include "daemon/redis_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <vector>

#include "daemon/redis.h"

namespace execd::daemon {

RedisSupervisor::RedisSupervisor(std::string redis_server, std::string state_dir, int64_t maxmemory_bytes)
    : server_(std::move(redis_server)),
      dir_(std::move(state_dir)),
      socket_(dir_ + "/redis.sock"),
      maxmemory_(maxmemory_bytes) {}

RedisSupervisor::~RedisSupervisor() {
    stopping_ = true;
    if (pid_t p = pid_.load(); p > 0) ::kill(p, SIGTERM);  // redis-server flushes its AOF on SIGTERM
    if (thread_.joinable()) thread_.join();
}

pid_t RedisSupervisor::spawn() {
    std::vector<std::string> args{server_, "--port", "0", "--unixsocket", socket_, "--unixsocketperm", "700", "--dir",
                                  dir_, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize",
                                  "no", "--logfile", dir_ + "/redis.log", "--loglevel", "warning",
                                  // Full means refusing writes (execd answers 507), never evicting a job.
                                  "--maxmemory", std::to_string(maxmemory_), "--maxmemory-policy", "noeviction"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char* envp[] = {nullptr};
    const pid_t parent = ::getpid();
    // fork from the supervising thread: PR_SET_PDEATHSIG follows the thread
    // that forked, and this thread lives as long as execd.
    pid_t pid = ::fork();
    if (pid == 0) {
        // execd blocks SIGTERM & co. for sigwait; the mask survives execve.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(1);
        ::setsid();
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::execve(argv[0], argv.data(), envp);
        ::_exit(127);
    }
    if (pid < 0) throw std::runtime_error(std::string("fork for redis-server: ") + std::strerror(errno));
    return pid;
}

void RedisSupervisor::wait_ready(pid_t pid) {
    using namespace std::chrono;
    const auto give_up = steady_clock::now() + seconds(30);
    while (steady_clock::now() < give_up) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid)
            throw std::runtime_error("redis-server (" + server_ + ") exited during start-up with status " +
                                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                                     " (its log: " + dir_ + "/redis.log)");
        try {
            RedisConnection c(url());
            Reply r = c.command({"PING"});
            if (r.kind == Reply::Kind::String && r.string == "PONG") return;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    throw std::runtime_error("redis-server did not answer on " + socket_ + " within 30 s");
}

void RedisSupervisor::start() {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw std::runtime_error("cannot create state directory " + dir_ + ": " + ec.message());
    ::chmod(dir_.c_str(), 0700);
    // The first start happens on the supervising thread too, for PDEATHSIG.
    std::promise<std::string> started;
    auto ready = started.get_future();
    thread_ = std::thread([this, &started] {
        try {
            pid_t p = spawn();
            pid_ = p;
            wait_ready(p);
            started.set_value({});
        } catch (const std::exception& e) {
            started.set_value(e.what());
            return;
        }
        supervise();
    });
    std::string error = ready.get();
    if (!error.empty()) {
        thread_.join();
        throw std::runtime_error(error);
    }
    spdlog::info("private redis-server pid {} on {} (maxmemory {} MB, noeviction)", pid_.load(), socket_,
                 maxmemory_ >> 20);
}

void RedisSupervisor::supervise() {
    while (true) {
        int status = 0;
        pid_t p = pid_.load();
        if (::waitpid(p, &status, 0) < 0 && errno == EINTR) continue;
        if (stopping_) return;
        spdlog::error("private redis-server (pid {}) died; restarting it", p);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        try {
            pid_t np = spawn();
            pid_ = np;
            wait_ready(np);
            spdlog::info("private redis-server restarted as pid {}", np);
        } catch (const std::exception& e) {
            spdlog::error("cannot restart redis-server: {}", e.what());
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
}

}  // namespace execd::daemon
