#include "daemon/redis.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Exception.h>
#include <Poco/SHA1Engine.h>

namespace execd::daemon {
namespace {

using Poco::Redis::RedisType;

Reply convert(const RedisType::Ptr& r) {
    Reply out;
    if (!r) return out;
    switch (r->type()) {
        case RedisType::REDIS_INTEGER:
            out.kind = Reply::Kind::Integer;
            out.integer = static_cast<const Poco::Redis::Type<Poco::Int64>*>(r.get())->value();
            break;
        case RedisType::REDIS_SIMPLE_STRING:
            out.kind = Reply::Kind::String;
            out.string = static_cast<const Poco::Redis::Type<std::string>*>(r.get())->value();
            break;
        case RedisType::REDIS_BULK_STRING: {
            const auto& b = static_cast<const Poco::Redis::Type<Poco::Redis::BulkString>*>(r.get())->value();
            if (!b.isNull()) {
                out.kind = Reply::Kind::String;
                out.string = b.value();
            }
            break;
        }
        case RedisType::REDIS_ARRAY: {
            const auto& a = static_cast<const Poco::Redis::Type<Poco::Redis::Array>*>(r.get())->value();
            if (!a.isNull()) {
                out.kind = Reply::Kind::Array;
                for (auto it = a.begin(); it != a.end(); ++it) out.elements.push_back(convert(*it));
            }
            break;
        }
        case RedisType::REDIS_ERROR:
            out.kind = Reply::Kind::Error;
            out.string = static_cast<const Poco::Redis::Type<Poco::Redis::Error>*>(r.get())->value().getMessage();
            break;
    }
    return out;
}

}  // namespace

Script::Script(std::string src) : source(std::move(src)) {
    Poco::SHA1Engine sha1;
    sha1.update(source);
    sha = Poco::DigestEngine::digestToHex(sha1.digest());
}

namespace {

std::string percent_decoded(const std::string& text, const std::string& what) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        auto hex = [](char c) {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        const int hi = i + 2 < text.size() ? hex(text[i + 1]) : -1, lo = i + 2 < text.size() ? hex(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) throw std::invalid_argument("the " + what + " has a '%' not followed by two hex digits");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

// "[USER]:PASSWORD@" at the front of `rest`, taken off it: the last '@'
// before `end` (a unix socket's path, which may hold an '@' itself, starts
// at the first '/').
void take_credentials(std::string& rest, RedisAddress& a, size_t end = std::string::npos) {
    const auto at = rest.rfind('@', end == std::string::npos ? end : end - 1);
    if (at == std::string::npos || (end != std::string::npos && at > end)) return;
    const std::string credentials = rest.substr(0, at);
    rest.erase(0, at + 1);
    const auto colon = credentials.find(':');
    if (colon == std::string::npos)
        throw std::invalid_argument("the part before '@' must be [USER]:PASSWORD (a password alone is :PASSWORD)");
    a.user = percent_decoded(credentials.substr(0, colon), "user name");
    a.password = percent_decoded(credentials.substr(colon + 1), "password");
    if (a.password.empty()) throw std::invalid_argument("the password after ':' is empty");
}

int parse_db(const std::string& text) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("the database must be a number, not '" + text + "'");
    return std::stoi(text);
}

}  // namespace

RedisAddress parse_redis_url(const std::string& url) {
    RedisAddress a;
    try {
        std::string rest;
        if (url.rfind("unix://", 0) == 0) {
            a.unix_socket = true;
            rest = url.substr(7);
            if (rest.rfind('/', 0) != 0) take_credentials(rest, a, rest.find('/'));
            if (const auto q = rest.find('?'); q != std::string::npos) {
                const std::string query = rest.substr(q + 1);
                rest.erase(q);
                if (query.rfind("db=", 0) != 0) throw std::invalid_argument("the only query parameter is db=N");
                a.db = parse_db(query.substr(3));
            }
            if (rest.empty() || rest[0] != '/') throw std::invalid_argument("the socket's path must be absolute");
            a.path = rest;
            return a;
        }
        if (url.rfind("redis://", 0) != 0)
            throw std::invalid_argument("it must start with redis:// or unix:// (rediss://, TLS, is not supported)");
        rest = url.substr(8);
        take_credentials(rest, a);
        if (const auto slash = rest.find('/'); slash != std::string::npos) {
            const std::string db = rest.substr(slash + 1);
            rest.erase(slash);
            if (!db.empty()) a.db = parse_db(db);
        }
        std::string port;
        if (!rest.empty() && rest[0] == '[') {  // [v6]:port
            const auto close = rest.find(']');
            if (close == std::string::npos) throw std::invalid_argument("an IPv6 address lacks its ']'");
            a.host = rest.substr(1, close - 1);
            if (close + 1 < rest.size()) {
                if (rest[close + 1] != ':') throw std::invalid_argument("']' must be followed by :PORT");
                port = rest.substr(close + 2);
            }
        } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
            a.host = rest.substr(0, colon);
            port = rest.substr(colon + 1);
            if (a.host.find(':') != std::string::npos)
                throw std::invalid_argument("an IPv6 address must be in brackets: redis://[::1]:6379");
        } else {
            a.host = rest;
        }
        if (a.host.empty()) throw std::invalid_argument("the host is missing");
        if (!port.empty()) {
            if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) == 0 ||
                std::stoi(port) > 65535)
                throw std::invalid_argument("the port must be a number from 1 to 65535, not '" + port + "'");
            a.port = static_cast<uint16_t>(std::stoi(port));
        }
        return a;
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("Redis URL " + redacted_redis_url(url) + ": " + e.what());
    }
}

std::string redacted_redis_url(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    const size_t start = scheme + 3;
    // unix:///path: no credentials, and the path may hold an '@'.
    if (url.rfind("unix://", 0) == 0 && start < url.size() && url[start] == '/') return url;
    // Else everything to the last '@' may be credentials: hidden, even when
    // that is more than the password.
    const auto at = url.rfind('@');
    if (at == std::string::npos || at < start) return url;
    const auto colon = url.find(':', start);
    if (colon == std::string::npos || colon > at) return url.substr(0, start) + "***" + url.substr(at);
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

RedisConnection::RedisConnection(std::string url) : url_(std::move(url)), shown_(redacted_redis_url(url_)) {}
RedisConnection::~RedisConnection() = default;

void RedisConnection::connect() {
    client_.reset();
    RedisAddress a;
    try {
        a = parse_redis_url(url_);
    } catch (const std::invalid_argument& e) {
        throw RedisUnavailable(e.what());
    }
    auto c = std::make_unique<Poco::Redis::Client>();
    try {
        if (a.unix_socket)
            c->connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, a.path), Poco::Timespan(2, 0));
        else
            c->connect(Poco::Net::SocketAddress(a.host, a.port), Poco::Timespan(2, 0));
        c->setReceiveTimeout(Poco::Timespan(5, 0));
        auto ask = [&](std::vector<std::string> args, const std::string& what) {
            Poco::Redis::Array cmd;
            for (const auto& arg : args) cmd << arg;
            Reply r = convert(c->sendCommand(cmd));
            if (r.kind == Reply::Kind::Error)
                throw RedisUnavailable("Redis at " + shown_ + " " + what + ": " + r.string);
        };
        if (!a.password.empty()) {
            if (a.user.empty())
                ask({"AUTH", a.password}, "refused the password");
            else
                ask({"AUTH", a.user, a.password}, "refused the user name and password");
        }
        if (a.db != 0) ask({"SELECT", std::to_string(a.db)}, "refused database " + std::to_string(a.db));
    } catch (const Poco::Exception& e) {
        throw RedisUnavailable("cannot connect to Redis at " + shown_ + ": " + e.displayText());
    }
    client_ = std::move(c);
}

Reply RedisConnection::run(const std::vector<std::string>& args, int64_t receive_timeout_ms, int sendings) {
    for (int attempt = 0;; ++attempt) {
        bool sent = false;
        try {
            if (!client_) connect();
            client_->setReceiveTimeout(Poco::Timespan(receive_timeout_ms * 1000));
            Poco::Redis::Array cmd;
            for (const auto& a : args) cmd << a;
            sent = true;
            return convert(client_->sendCommand(cmd));
        } catch (const RedisUnavailable&) {
            // Not connected: nothing was sent, so another try is always safe.
            client_.reset();
            if (attempt >= 1) throw;
        } catch (const Poco::Exception& e) {
            // A broken or timed-out connection cannot be trusted again.
            client_.reset();
            if (attempt >= 1 || (sent && sendings < 2))
                throw RedisUnavailable("Redis at " + shown_ + ": " + e.displayText());
        }
    }
}

Reply RedisConnection::command(const std::vector<std::string>& args) { return run(args, 5000, 2); }

Reply RedisConnection::blocking(const std::vector<std::string>& args, int64_t timeout_ms) {
    return run(args, timeout_ms + 5000, 1);
}

Reply RedisConnection::eval(const Script& s, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args) {
    std::vector<std::string> cmd{"EVALSHA", s.sha, std::to_string(keys.size())};
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    cmd.insert(cmd.end(), args.begin(), args.end());
    Reply r = command(cmd);
    if (r.kind == Reply::Kind::Error && r.string.rfind("NOSCRIPT", 0) == 0) {
        cmd[0] = "EVAL";
        cmd[1] = s.source;
        r = command(cmd);
    }
    return r;
}

RedisPool::Lease RedisPool::take() {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(c));
    }
    return Lease(*this, std::make_unique<RedisConnection>(url_));
}

void RedisPool::give_back(std::unique_ptr<RedisConnection> c) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < 64) idle_.push_back(std::move(c));
}

}  // namespace execd::daemon
