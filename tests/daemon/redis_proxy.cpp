#include "tests/daemon/redis_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace execd::test {
namespace {

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    return a;
}

// One side of a relayed connection, read a whole RESP value at a time.
class Side {
public:
    Side(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(stop) {}

    // The next value's bytes exactly as sent, appended to `raw`; false when
    // the peer closed, the bytes are not RESP, or the proxy stops.
    bool value(std::string& raw) {
        std::string line;
        if (!this->line(line)) return false;
        raw += line;
        raw += "\r\n";
        if (line.empty()) return false;
        const char type = line[0];
        if (type == '+' || type == '-' || type == ':') return true;
        long n = 0;
        try {
            n = std::stol(line.substr(1));
        } catch (const std::exception&) {
            return false;
        }
        if (type == '$') return n < 0 || bytes(static_cast<size_t>(n) + 2, raw);
        if (type == '*') {
            for (long i = 0; i < n; ++i)
                if (!value(raw)) return false;
            return true;
        }
        return false;
    }

    bool send(const std::string& data) {
        size_t done = 0;
        while (done < data.size()) {
            ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
            if (n <= 0) return false;
            done += static_cast<size_t>(n);
        }
        return true;
    }

private:
    bool fill() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            int r = ::poll(&p, 1, 50);
            if (r < 0) return false;
            if (r == 0) continue;
            char chunk[65536];
            ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0) return false;
            buffer_.append(chunk, static_cast<size_t>(n));
            return true;
        }
        return false;
    }

    bool line(std::string& out) {
        for (;;) {
            const auto end = buffer_.find("\r\n");
            if (end != std::string::npos) {
                out = buffer_.substr(0, end);
                buffer_.erase(0, end + 2);
                return true;
            }
            if (!fill()) return false;
        }
    }

    bool bytes(size_t n, std::string& raw) {
        while (buffer_.size() < n)
            if (!fill()) return false;
        raw.append(buffer_, 0, n);
        buffer_.erase(0, n);
        return true;
    }

    int fd_;
    const std::atomic<bool>& stop_;
    std::string buffer_;
};

}  // namespace

RedisProxy::RedisProxy(int upstream_port) : upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 64) != 0)
        throw std::runtime_error("RedisProxy: cannot listen on 127.0.0.1");
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

RedisProxy::~RedisProxy() {
    stop_ = true;
    acceptor_.join();
    std::list<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    ::close(listener_);
}

void RedisProxy::cut_next(const std::string& marker, Cut when) { cut_every(-1, marker, when); }

void RedisProxy::cut_every(int n, const std::string& marker, Cut when) {
    std::lock_guard lock(mutex_);
    marker_ = marker;
    when_ = when;
    every_ = n;
    seen_ = 0;
    cut_commands_.clear();
    armed_ = n != 0;
}

void RedisProxy::on_reply(const std::string& marker, std::function<void(const std::string&)> f) {
    std::lock_guard lock(mutex_);
    reply_marker_ = marker;
    on_reply_ = std::move(f);
}

bool RedisProxy::should_cut(const std::string& command, Cut& when) {
    std::lock_guard lock(mutex_);
    if (!armed_ || command.find(marker_) == std::string::npos) return false;
    when = when_;
    if (every_ < 0) {  // once
        armed_ = false;
        return true;
    }
    if (every_ > 1 && cut_commands_.count(command) != 0) return false;  // sent again after its cut
    if (++seen_ % every_ != 0) return false;
    cut_commands_.insert(command);
    return true;
}

void RedisProxy::accept_loop() {
    while (!stop_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        std::lock_guard lock(mutex_);
        threads_.emplace_back([this, client] { relay(client); });
    }
}

void RedisProxy::relay(int client) {
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(upstream_port_);
    if (upstream >= 0 && ::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        Side from_client(client, stop_), from_redis(upstream, stop_);
        for (;;) {
            std::string command, reply;
            if (!from_client.value(command)) break;
            ++commands_;
            Cut when = Cut::After;
            const bool cut = should_cut(command, when);
            if (cut && when == Cut::Before) {
                ++cuts_;
                break;
            }
            if (!from_redis.send(command) || !from_redis.value(reply)) break;
            std::function<void(const std::string&)> hook;
            {
                std::lock_guard lock(mutex_);
                if (on_reply_ && command.find(reply_marker_) != std::string::npos) hook = on_reply_;
            }
            if (hook) hook(reply);
            if (cut) {
                ++cuts_;
                break;
            }
            if (!from_client.send(reply)) break;
        }
    }
    if (upstream >= 0) ::close(upstream);
    ::close(client);
}

}  // namespace execd::test
