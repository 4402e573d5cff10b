#include "config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <toml.hpp>

#include "api/tokens.h"
#include "util/sha256.h"

namespace execd::daemon {
namespace {

[[noreturn]] void fail(const std::string& file, const toml::value& at, const std::string& reason) {
    throw std::runtime_error(file + ":" + std::to_string(at.location().line()) + ": " + reason);
}

// Reads the keys of one table, refusing any it does not know.
class Section {
public:
    Section(const std::string& file, const toml::value& root, const std::string& name) : file_(file) {
        if (!root.as_table().count(name)) return;
        table_ = &root.as_table().at(name);
        if (!table_->is_table()) fail(file_, *table_, "[" + name + "] must be a table");
        name_ = name;
    }
    ~Section() noexcept(false) {
        if (!table_ || std::uncaught_exceptions()) return;
        for (const auto& [key, value] : table_->as_table())
            if (!used_.count(key)) fail(file_, value, "[" + name_ + "]: unknown key '" + key + "'");
    }

    void get(const std::string& key, std::string& out) {
        if (const toml::value* v = find(key)) {
            if (!v->is_string()) fail(file_, *v, "[" + name_ + "] " + key + " must be a string");
            out = v->as_string().str;
        }
    }
    void get(const std::string& key, int64_t& out, int64_t min, int64_t max) {
        if (const toml::value* v = find(key)) {
            if (!v->is_integer()) fail(file_, *v, "[" + name_ + "] " + key + " must be an integer");
            if (v->as_integer() < min || v->as_integer() > max)
                fail(file_, *v, "[" + name_ + "] " + key + " must be between " + std::to_string(min) + " and " +
                                    std::to_string(max));
            out = v->as_integer();
        }
    }
    void get(const std::string& key, int& out, int min, int max) {
        int64_t v = out;
        get(key, v, min, max);
        out = static_cast<int>(v);
    }
    void get(const std::string& key, bool& out) {
        if (const toml::value* v = find(key)) {
            if (!v->is_boolean()) fail(file_, *v, "[" + name_ + "] " + key + " must be true or false");
            out = v->as_boolean();
        }
    }
    void get(const std::string& key, std::vector<std::string>& out) {
        if (const toml::value* v = find(key)) {
            if (!v->is_array()) fail(file_, *v, "[" + name_ + "] " + key + " must be an array of strings");
            out.clear();
            for (const auto& item : v->as_array()) {
                if (!item.is_string()) fail(file_, item, "[" + name_ + "] " + key + " must hold strings");
                out.push_back(item.as_string().str);
            }
        }
    }
    void get_role(const std::string& key, Role& out) {
        std::string text;
        get(key, text);
        if (text.empty()) return;
        if (text == "api") out = Role::Api;
        else if (text == "worker") out = Role::Worker;
        else if (text == "all") out = Role::All;
        else fail(file_, *find(key), "[" + name_ + "] " + key + " must be \"api\", \"worker\" or \"all\"");
    }

private:
    const toml::value* find(const std::string& key) {
        used_.insert(key);
        if (!table_) return nullptr;
        auto it = table_->as_table().find(key);
        return it == table_->as_table().end() ? nullptr : &it->second;
    }

    const std::string& file_;
    const toml::value* table_ = nullptr;
    std::string name_;
    std::set<std::string> used_;
};

}  // namespace

std::vector<std::string> parse_token_list(const std::string& text, const std::string& name) {
    std::vector<std::string> out;
    size_t start = 0;
    for (int position = 1;; ++position) {
        start = text.find_first_not_of(", \t\r\n", start);
        if (start == std::string::npos) break;
        const auto end = text.find_first_of(", \t\r\n", start);
        const std::string token = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (std::string problem = api::token_problem(token); !problem.empty())
            throw std::runtime_error("$" + name + ", token " + std::to_string(position) + ": " + problem);
        out.push_back(token);
        if (end == std::string::npos) break;
        start = end;
    }
    return out;
}

std::vector<std::string> load_token_sources(Config& c) {
    std::vector<std::string> warnings;
    auto from_file = [&warnings](const std::string& path, std::vector<std::string>& into) {
        if (path.empty()) return;
        std::string warning;
        for (auto& t : api::read_token_file(path, &warning)) into.push_back(std::move(t));
        if (!warning.empty()) warnings.push_back(warning);
    };
    from_file(c.token_file, c.tokens);
    from_file(c.admin_token_file, c.admin_tokens);
    auto from_env = [](const char* name, std::vector<std::string>& into) {
        const char* value = std::getenv(name);
        if (!value) return;
        for (auto& t : parse_token_list(value, name)) into.push_back(std::move(t));
    };
    from_env("EXECD_TOKENS", c.tokens);
    from_env("EXECD_ADMIN_TOKENS", c.admin_tokens);
    return warnings;
}

std::string token_owner(const std::string& token) {
    // A length-prefixed tag keeps this apart from any other SHA-256 of a
    // token; 128 bits are plenty to tell tokens apart.
    Sha256 h;
    h.field("execd job owner v1");
    h.field(token);
    return h.hex().substr(0, 32);
}

std::vector<std::string> load_config_file(const std::string& path, Config& c) {
    toml::value root;
    try {
        root = toml::parse(path);
    } catch (const toml::syntax_error& e) {
        std::string what = e.what();
        throw std::runtime_error(path + ":" + std::to_string(e.location().line()) + ": syntax error: " +
                                 what.substr(0, what.find('\n')));
    } catch (const std::exception& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    const std::set<std::string> sections{"server", "redis", "paths", "workers", "jobs", "limits", "cache"};
    for (const auto& [key, value] : root.as_table())
        if (!sections.count(key)) fail(path, value, "unknown section [" + key + "]");
    {
        Section s(path, root, "server");
        s.get("listen", c.listen);
        s.get("unix_socket", c.unix_socket);
        s.get("tokens", c.tokens);
        s.get("admin_tokens", c.admin_tokens);
        s.get("token_file", c.token_file);
        s.get("admin_token_file", c.admin_token_file);
        s.get("insecure", c.insecure);
        s.get("body_max_bytes", c.body_max_bytes, 1024, int64_t{1} << 32);
        s.get("max_wait_ms", c.max_wait_ms, 0, 3'600'000);
        s.get("max_connections", c.max_connections, 1, 65536);
        s.get("max_waiters", c.max_waiters, 0, 65536);
        s.get("header_timeout_ms", c.header_timeout_ms, 100, 600'000);
        s.get("body_timeout_ms", c.body_timeout_ms, 100, 3'600'000);
        s.get("keep_alive_ms", c.keep_alive_ms, 0, 600'000);
        s.get("buffer_max_bytes", c.buffer_max_bytes, 1024, int64_t{1} << 40);
    }
    {
        Section s(path, root, "redis");
        s.get("url", c.redis_url);
        s.get("server", c.redis_server);
        s.get("key_prefix", c.key_prefix);
        s.get("maxmemory_mb", c.redis_maxmemory_mb, 1, int64_t{1} << 24);
    }
    {
        Section s(path, root, "paths");
        s.get("state_dir", c.state_dir);
        s.get("sandbox_dir", c.sandbox_dir);
        s.get("languages", c.languages);
    }
    {
        Section s(path, root, "workers");
        s.get_role("role", c.role);
        s.get("count", c.workers, 0, 1024);
        s.get("lease_ms", c.lease_ms, 1000, 3'600'000);
        s.get("attempts", c.attempts, 1, 100);
        s.get("backoff_ms", c.backoff_ms, 0, 3'600'000);
        s.get("drain_timeout_ms", c.drain_timeout_ms, 0, 3'600'000);
    }
    {
        Section s(path, root, "jobs");
        s.get("result_ttl_s", c.result_ttl_s, 1, int64_t{365} * 24 * 3600);
        s.get("queue_max", c.queue_max, 1, int64_t{1} << 32);
        s.get("queue_max_bytes", c.queue_max_bytes, 1024, int64_t{1} << 40);
        s.get("queue_ttl_s", c.queue_ttl_s, 1, int64_t{365} * 24 * 3600);
    }
    {
        Section s(path, root, "cache");
        s.get("dir", c.cache_dir);
        s.get("max_mb", c.cache_max_mb, 0, int64_t{1} << 20);
    }
    if (root.as_table().count("limits")) {
        const toml::value& limits = root.as_table().at("limits");
        Section outer(path, limits, "max");
        Section& s = outer;
        s.get("time_ms", c.maxima.time_ms, 1, 3'600'000);
        s.get("cpu_ms", c.maxima.cpu_ms, 1, 3'600'000);
        s.get("memory_mb", c.maxima.memory_mb, 1, 1 << 20);
        s.get("pids", c.maxima.pids, 1, 65536);
        s.get("output_bytes", c.maxima.output_bytes, 1, int64_t{1} << 32);
        s.get("code_bytes", c.maxima.code_bytes, 1, int64_t{1} << 32);
        s.get("stdin_bytes", c.maxima.stdin_bytes, 0, int64_t{1} << 32);
        s.get("files", c.maxima.files, 1, 4096);
        s.get("args", c.maxima.args, 0, 4096);
        s.get("tests", c.maxima.tests, 1, 100000);
        s.get("job_time_ms", c.maxima.job_time_ms, 1000, 86'400'000);
        s.get("batch", c.maxima.batch, 1, 10000);
        for (const auto& [key, value] : limits.as_table())
            if (key != "max") fail(path, value, "[limits]: unknown key '" + key + "' (limits go in [limits.max])");
    }
    // Whether this file itself holds tokens (not a flag or an earlier file).
    bool holds_tokens = false;
    if (root.as_table().count("server"))
        for (const char* key : {"tokens", "admin_tokens"}) {
            const auto& server = root.as_table().at("server").as_table();
            holds_tokens |= server.count(key) && !server.at(key).as_array().empty();
        }
    std::vector<std::string> warnings;
    if (holds_tokens)
        if (std::string w = api::token_file_warning(path); !w.empty()) warnings.push_back(w);
    return warnings;
}

std::pair<std::string, uint16_t> split_host_port(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) throw std::invalid_argument("'" + text + "' is not host:port");
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int port = 0;
    try {
        port = std::stoi(text.substr(colon + 1));
    } catch (const std::exception&) {
        port = -1;
    }
    if (port < 0 || port > 65535) throw std::invalid_argument("'" + text + "' has no valid port");
    return {host, static_cast<uint16_t>(port)};
}

bool is_loopback_host(const std::string& host) {
    if (host == "localhost" || host == "::1") return true;
    in_addr a{};
    if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
    return false;
}

void validate_config(const Config& c) {
    auto range = [](const char* name, int64_t v, int64_t lo, int64_t hi) {
        if (v < lo || v > hi)
            throw std::runtime_error(std::string(name) + " must be between " + std::to_string(lo) + " and " +
                                     std::to_string(hi) + ", not " + std::to_string(v));
    };
    range("workers", c.workers, 0, 1024);
    range("lease_ms", c.lease_ms, 1000, 3'600'000);
    range("attempts", c.attempts, 1, 100);
    range("backoff_ms", c.backoff_ms, 0, 3'600'000);
    range("drain_timeout_ms", c.drain_timeout_ms, 0, 3'600'000);
    range("result_ttl_s", c.result_ttl_s, 1, int64_t{365} * 24 * 3600);
    range("queue_max", c.queue_max, 1, int64_t{1} << 32);
    range("queue_max_bytes", c.queue_max_bytes, 1024, int64_t{1} << 40);
    range("queue_ttl_s", c.queue_ttl_s, 1, int64_t{365} * 24 * 3600);
    range("redis maxmemory_mb", c.redis_maxmemory_mb, 1, int64_t{1} << 24);
    range("body_max_bytes", c.body_max_bytes, 1024, int64_t{1} << 32);
    range("max_connections", c.max_connections, 1, 65536);
    range("max_waiters", c.max_waiters, 0, 65536);
    range("header_timeout_ms", c.header_timeout_ms, 100, 600'000);
    range("body_timeout_ms", c.body_timeout_ms, 100, 3'600'000);
    range("keep_alive_ms", c.keep_alive_ms, 0, 600'000);
    range("buffer_max_bytes", c.buffer_max_bytes, 1024, int64_t{1} << 40);
    if (c.buffer_max_bytes < c.body_max_bytes)
        throw std::runtime_error("buffer_max_bytes (" + std::to_string(c.buffer_max_bytes) +
                                 ") must be at least body_max_bytes (" + std::to_string(c.body_max_bytes) + ")");
    range("cache max_mb", c.cache_max_mb, 0, int64_t{1} << 20);
    auto [host, port] = split_host_port(c.listen);
    (void)port;
    if (!is_loopback_host(host) && c.tokens.empty() && c.admin_tokens.empty() && !c.insecure)
        throw std::runtime_error("listen = \"" + c.listen +
                                 "\" is beyond loopback but no API tokens are configured; set [server] tokens "
                                 "(or pass --insecure to accept unauthenticated requests from the network)");
    for (const auto* list : {&c.tokens, &c.admin_tokens})
        for (const auto& t : *list)
            if (std::string problem = api::token_problem(t); !problem.empty())
                throw std::runtime_error("API tokens: " + problem);
}

api::Maxima submission_maxima(const Config& c) {
    const Maxima& m = c.maxima;
    api::Maxima out;
    out.time_ms = m.time_ms;
    out.cpu_ms = m.cpu_ms;
    out.memory_mb = m.memory_mb;
    out.pids = m.pids;
    out.output_bytes = m.output_bytes;
    out.code_bytes = m.code_bytes;
    out.stdin_bytes = m.stdin_bytes;
    out.files = m.files;
    out.args = m.args;
    out.tests = m.tests;
    out.job_time_ms = m.job_time_ms;
    return out;
}

}  // namespace execd::daemon
