// With no Redis URL configured, execd runs a private redis-server on a unix
// socket in its state directory (append-only file on, so queued jobs survive
// a restart), restarts it if it dies, and takes it down when execd ends. It
// runs with a maxmemory and `maxmemory-policy noeviction`: when it is full,
// submissions are refused (507), and no queued job or result is ever evicted.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace execd::daemon {

class RedisSupervisor {
public:
    RedisSupervisor(std::string redis_server, std::string state_dir, int64_t maxmemory_bytes);
    ~RedisSupervisor();

    // Starts redis-server and waits until it answers. Throws std::runtime_error.
    void start();

    // "unix:///…/redis.sock"
    std::string url() const { return "unix://" + socket_; }

    pid_t pid() const noexcept { return pid_.load(); }

private:
    pid_t spawn();
    void wait_ready(pid_t pid);
    void supervise();

    std::string server_, dir_, socket_;
    int64_t maxmemory_;
    std::atomic<pid_t> pid_{-1};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace execd::daemon
