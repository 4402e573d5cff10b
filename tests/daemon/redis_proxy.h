// A TCP relay between Redis clients and a redis-server on loopback that cuts
// a connection at a chosen command: before the command reaches Redis, or
// after Redis has run it and before its reply gets back (to the client the
// reply is lost on the wire). Each connection is relayed command by command,
// so it knows where each command and each reply ends (RESP), and which
// command a reply answers.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace execd::test {

class RedisProxy {
public:
    enum class Cut {
        Before,  // the connection closes instead of passing the command on
        After,   // the command runs; the connection closes instead of passing the reply back
    };

    // Relays 127.0.0.1:<its port> to 127.0.0.1:upstream_port.
    explicit RedisProxy(int upstream_port);
    ~RedisProxy();  // closes every connection and joins its threads
    RedisProxy(const RedisProxy&) = delete;
    RedisProxy& operator=(const RedisProxy&) = delete;

    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

    // Cuts at the next command whose bytes contain `marker` (a script's
    // SHA1, a command's name), once; an earlier arming not yet used is
    // replaced.
    void cut_next(const std::string& marker, Cut when);

    // Cuts, `when`, at every n-th command (counting all connections) whose
    // bytes contain `marker`, until disarmed (n = 0). With n > 1, a command
    // with the same bytes as one already cut is a client sending it again
    // after the cut: it is neither cut nor counted (another connection's
    // command may come between the two; a command cut twice is a Redis gone
    // away, which n = 1 is for).
    void cut_every(int n, const std::string& marker, Cut when);

    // Called (on the relaying thread) when a reply whose command contained
    // `marker` has come back from Redis, before it is passed on; the reply's
    // bytes are given. Replaces an earlier one; an empty function disarms.
    void on_reply(const std::string& marker, std::function<void(const std::string& reply)> f);

    int cuts() const noexcept { return cuts_.load(); }
    int commands() const noexcept { return commands_.load(); }

private:
    void accept_loop();
    void relay(int client);
    bool should_cut(const std::string& command, Cut& when);

    int upstream_port_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> cuts_{0}, commands_{0};
    std::mutex mutex_;
    std::string marker_;
    Cut when_ = Cut::After;
    int every_ = 0;                       // 0: once (cut_next), else every n-th
    int seen_ = 0;                        // commands matching marker_ since armed
    std::set<std::string> cut_commands_;  // cut_every's, since armed
    bool armed_ = false;
    std::string reply_marker_;
    std::function<void(const std::string&)> on_reply_;
    std::list<std::thread> threads_;
    std::thread acceptor_;
};

}  // namespace execd::test
