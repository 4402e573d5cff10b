// execd's configuration: /etc/execd/execd.toml (or --config), every value
// overridable by a flag. One struct, read once at start-up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/maxima.h"

namespace execd::daemon {

enum class Role { Api, Worker, All };

struct Maxima {
    int64_t time_ms = 30000;
    int64_t cpu_ms = 30000;
    int64_t memory_mb = 1024;
    int64_t pids = 256;
    int64_t output_bytes = 1 << 20;
    int64_t code_bytes = 1 << 20;      // code / all files together
    int64_t stdin_bytes = 16 << 20;
    int64_t files = 64;
    int64_t args = 64;
    int64_t tests = 500;               // tests in one job
    int64_t job_time_ms = 3'600'000;   // a graded job's tests (and checkers) at their wall limits, summed
    int64_t batch = 100;               // jobs in one POST /v1/jobs/batch, ids in one GET /v1/jobs?ids=
};

struct Config {
    std::string listen = "127.0.0.1:3001";     // host:port; port 0 picks a free one
    std::string unix_socket = "/run/execd/api.sock";  // also listen here (mode 0666); "" = none. Only root
                                               // serves the default one (exec finds the host's execd there)
    std::vector<std::string> tokens;           // bearer tokens; empty = no auth
    std::vector<std::string> admin_tokens;     // tokens that see and cancel every job
    std::string token_file;                    // more tokens, one a line (see api::read_token_file)
    std::string admin_token_file;              // more admin tokens, one a line
    bool insecure = false;                     // allow non-loopback listen without tokens
    std::string redis_url;                     // redis://host:port or unix:///path; empty = private redis-server
    std::string redis_server = "/usr/bin/redis-server";
    std::string key_prefix = "execd:";
    int64_t redis_maxmemory_mb = 1024;         // the private redis-server's maxmemory (noeviction)
    std::string state_dir = "/var/lib/execd";
    std::string sandbox_dir = "/run/execd";
    std::string cache_dir;                     // compile cache; empty = <sandbox_dir>/cache
    int64_t cache_max_mb = 512;                // 0 turns the compile cache off
    std::string languages;                     // registry file; empty = /etc/execd/languages.toml or built-in
    Role role = Role::All;
    int workers = 0;                           // 0 = one per CPU
    int64_t body_max_bytes = 64 << 20;
    int64_t queue_max = 100000;
    int64_t queue_max_bytes = int64_t{512} << 20;  // stored requests of unfinished jobs, summed
    int64_t queue_ttl_s = 86400;               // a job still queued this long after submission is cancelled
    int64_t result_ttl_s = 3600;
    int64_t lease_ms = 10000;
    int attempts = 3;
    int64_t backoff_ms = 1000;
    int64_t drain_timeout_ms = 30000;
    int64_t max_wait_ms = 60000;              // longest ?wait= honoured
    int64_t max_connections = 256;            // connections served at once, per listener; beyond, 503
    int64_t max_waiters = 32;                 // long-polls waiting at once; beyond, ?wait= answers at once
    int64_t header_timeout_ms = 5000;         // for a request's headers; also the longest silence in a body
    int64_t body_timeout_ms = 30000;          // for a request's whole body
    int64_t keep_alive_ms = 5000;             // an idle keep-alive connection is closed after this; 0 = none
    int64_t buffer_max_bytes = int64_t{256} << 20;  // request bodies held at once, all requests; beyond, 503
    Maxima maxima;
};

// Reads a TOML file into `config` (keys as in packaging/execd.toml).
// Throws std::runtime_error naming file, line and reason. Returns warnings
// for the log: the file holds tokens and is readable by group or others.
std::vector<std::string> load_config_file(const std::string& path, Config& config);

// Tokens in an environment variable's value, separated by commas, blanks or
// newlines. Throws std::runtime_error naming `name` and the token's position.
std::vector<std::string> parse_token_list(const std::string& text, const std::string& name);

// Adds to config.tokens and config.admin_tokens what token_file,
// admin_token_file, $EXECD_TOKENS and $EXECD_ADMIN_TOKENS hold (the accepted
// tokens are the union of every source). Throws std::runtime_error naming
// the file or variable; returns warnings for the log.
std::vector<std::string> load_token_sources(Config& config);

// Who a token is, for job ownership: 32 hex digits of a SHA-256 over it. The
// token itself is never stored; this cannot be turned back into it.
std::string token_owner(const std::string& token);

// The one who sent a request. Without tokens everyone is the same anonymous
// caller (owner ""), who sees the jobs made without a token.
struct Caller {
    std::string owner;     // token_owner of the token; "" without tokens
    bool admin = false;    // an admin token: sees and cancels every job
};

// Checks combinations (non-loopback listen needs tokens or --insecure, …).
// Throws std::runtime_error naming the setting.
void validate_config(const Config& config);

// "host:port" → its parts. Throws std::invalid_argument.
std::pair<std::string, uint16_t> split_host_port(const std::string& text);

bool is_loopback_host(const std::string& host);

// The maxima a submission is checked against (api/maxima.h), from
// [limits.max]: the one place the daemon turns its configuration into them.
api::Maxima submission_maxima(const Config& config);

}  // namespace execd::daemon
