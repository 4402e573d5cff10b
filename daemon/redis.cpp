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

RedisConnection::RedisConnection(std::string url) : url_(std::move(url)) {}
RedisConnection::~RedisConnection() = default;

void RedisConnection::connect() {
    client_.reset();
    auto c = std::make_unique<Poco::Redis::Client>();
    try {
        if (url_.rfind("unix://", 0) == 0) {
            Poco::Net::SocketAddress addr(Poco::Net::SocketAddress::UNIX_LOCAL, url_.substr(7));
            c->connect(addr, Poco::Timespan(2, 0));
        } else {
            std::string hostport = url_.rfind("redis://", 0) == 0 ? url_.substr(8) : url_;
            if (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
            c->connect(hostport, Poco::Timespan(2, 0));
        }
    } catch (const Poco::Exception& e) {
        throw RedisUnavailable("cannot connect to Redis at " + url_ + ": " + e.displayText());
    }
    client_ = std::move(c);
}

Reply RedisConnection::run(const std::vector<std::string>& args, int64_t receive_timeout_ms) {
    for (int attempt = 0;; ++attempt) {
        try {
            if (!client_) connect();
            client_->setReceiveTimeout(Poco::Timespan(receive_timeout_ms * 1000));
            Poco::Redis::Array cmd;
            for (const auto& a : args) cmd << a;
            return convert(client_->sendCommand(cmd));
        } catch (const RedisUnavailable&) {
            client_.reset();
            if (attempt >= 1) throw;
        } catch (const Poco::Exception& e) {
            // A broken or timed-out connection cannot be trusted again.
            client_.reset();
            if (attempt >= 1) throw RedisUnavailable("Redis at " + url_ + ": " + e.displayText());
        }
    }
}

Reply RedisConnection::command(const std::vector<std::string>& args) { return run(args, 5000); }

Reply RedisConnection::blocking(const std::vector<std::string>& args, int64_t timeout_ms) {
    return run(args, timeout_ms + 5000);
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
