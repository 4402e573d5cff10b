// Redis through Poco Redis: one connection per user, a small pool, replies
// converted into a plain tree, scripts run by SHA with a fallback to EVAL.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace Poco::Redis {
class Client;
}

namespace execd::daemon {

// Redis could not be reached or the connection broke: a 503 at the API, a
// retry for workers. Never a verdict.
class RedisUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Redis is there but refuses every write until it can persist again (it
// answers MISCONF: the disk of its AOF or RDB file is full or failing).
// Nothing of the refused command was done; it passes by itself once Redis
// can write.
class RedisCannotPersist : public RedisUnavailable {
public:
    using RedisUnavailable::RedisUnavailable;
};

// A MISCONF error reply: Redis refuses writes because it cannot persist.
inline bool is_cannot_persist(const std::string& error) { return error.rfind("MISCONF", 0) == 0; }

struct Reply {
    enum class Kind { Nil, Integer, String, Array, Error };
    Kind kind = Kind::Nil;
    int64_t integer = 0;
    std::string string;           // String and Error
    std::vector<Reply> elements;  // Array

    bool nil() const noexcept { return kind == Kind::Nil; }
};

// A Lua script and its SHA1 (computed once).
struct Script {
    explicit Script(std::string source);
    std::string source;
    std::string sha;
};

// Where Redis is and how to log in, from a URL:
//   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]   (PORT 6379, DB 0 by default)
//   unix://[[USER]:PASSWORD@]/PATH[?db=DB]
// USER and PASSWORD are percent-decoded (a '@' or ':' in a password is
// written %40 or %3A). With a password, each connection sends AUTH first
// (with USER too: a Redis 6 ACL user); with a DB other than 0, SELECT.
struct RedisAddress {
    bool unix_socket = false;
    std::string path;  // unix_socket
    std::string host;  // else
    uint16_t port = 6379;
    std::string user, password;
    int db = 0;
};

// Throws std::invalid_argument saying what is wrong with `url`, which it
// names with its password hidden.
RedisAddress parse_redis_url(const std::string& url);

// `url` with its password (if any) written as ***, for messages and logs.
std::string redacted_redis_url(const std::string& url);

class RedisConnection {
public:
    // url: see RedisAddress. Connects lazily; a URL that does not parse
    // fails each command with RedisUnavailable.
    explicit RedisConnection(std::string url);
    ~RedisConnection();

    // Runs one command. When the connection breaks (or times out) before
    // the reply, connects again and sends it once more: Redis may have run
    // it already, so every command sent this way must be safe to repeat
    // (the job scripts are: see prelude.lua). Throws RedisUnavailable; a
    // Redis error reply comes back as Kind::Error.
    Reply command(const std::vector<std::string>& args);

    // EVALSHA, loading the script on NOSCRIPT; sent as command() is.
    Reply eval(const Script& script, const std::vector<std::string>& keys, const std::vector<std::string>& args);

    // Blocks up to `timeout_ms` in a blocking command (BLPOP); the socket
    // timeout is raised to cover it. Sent once: a BLPOP whose reply was lost
    // has taken an element, which a second one would wait for in vain; the
    // caller reads the state instead. Throws RedisUnavailable.
    Reply blocking(const std::vector<std::string>& args, int64_t timeout_ms);

private:
    Reply run(const std::vector<std::string>& args, int64_t receive_timeout_ms, int sendings);
    void connect();
    std::string url_;
    std::string shown_;  // url_ with its password hidden
    std::unique_ptr<Poco::Redis::Client> client_;
};

// Connections shared by threads: take one, give it back by destruction.
class RedisPool {
public:
    explicit RedisPool(std::string url) : url_(std::move(url)) {}

    class Lease {
    public:
        Lease(RedisPool& pool, std::unique_ptr<RedisConnection> c) : pool_(pool), conn_(std::move(c)) {}
        ~Lease() { pool_.give_back(std::move(conn_)); }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        RedisConnection* operator->() { return conn_.get(); }
        RedisConnection& operator*() { return *conn_; }

    private:
        RedisPool& pool_;
        std::unique_ptr<RedisConnection> conn_;
    };

    Lease take();
    const std::string& url() const noexcept { return url_; }

private:
    void give_back(std::unique_ptr<RedisConnection> c);
    std::string url_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<RedisConnection>> idle_;
};

}  // namespace execd::daemon
