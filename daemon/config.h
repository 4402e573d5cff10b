// execd's configuration: one struct, read once at start-up from the
// defaults, /etc/execd/execd.toml (or --config), the EXECD_* environment
// and the flags, in that order. Every default, range, flag and variable is
// in the table of settings.h; nothing here writes one.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/maxima.h"
#include "core/sandbox/sandbox.h"

namespace execd::daemon {

enum class Role { Api, Worker, All };

enum class LogFormat { Text, Json };

// [limits.max]: the most a request may ask for. Starts at the table's
// defaults.
struct Maxima {
    Maxima();
    int64_t time_ms{};
    int64_t cpu_ms{};
    int64_t memory_mb{};
    int64_t pids{};
    int64_t output_bytes{};
    int64_t code_bytes{};  // code / all files together
    int64_t stdin_bytes{};
    int64_t files{};
    int64_t args{};
    int64_t tests{};        // tests in one job
    int64_t job_time_ms{};  // a graded job's tests (and checkers) at their wall limits, summed
    int64_t batch{};        // jobs in one POST /v1/jobs/batch, ids in one GET /v1/jobs?ids=
};

// Every field is one setting of the table (settings.cpp), which says what
// it means, its default and its range; the constructor sets the defaults.
struct Config {
    Config();
    std::string listen;                     // [server]: host:port; port 0 picks a free one
    std::string unix_socket;                // also listen here (mode 0666); "" = none
    std::vector<std::string> tokens;        // bearer tokens; empty = no auth
    std::vector<std::string> admin_tokens;  // tokens that see and cancel every job
    std::string token_file;                 // more tokens, one a line (see api::read_token_file)
    std::string admin_token_file;           // more admin tokens, one a line
    bool insecure{};                        // allow non-loopback listen without tokens
    std::string redis_url;                  // [redis] url: empty = private redis-server
    std::string redis_server;
    std::string key_prefix;
    int64_t redis_maxmemory_mb{};  // the private redis-server's maxmemory (noeviction)
    std::string state_dir;         // [paths]
    std::string sandbox_dir;
    std::string instance;       // the engine's name on the host; "" = the default one
    int64_t work_area_mb{};     // [sandbox] the tmpfs of every job's files; 0 = a quarter of the RAM
    std::string cache_dir;      // [cache] dir: empty = <sandbox_dir>/cache
    int64_t cache_max_mb{};     // 0 turns the compile cache off
    std::string languages;      // registry file; empty = default_languages_file() or built-in
    Role role{};                // [workers]
    int64_t workers{};          // 0 = one per CPU
    int64_t body_max_bytes{};   // [server]
    int64_t queue_max{};        // [jobs]
    int64_t queue_max_bytes{};  // stored requests of unfinished jobs, summed
    int64_t queue_ttl_s{};      // a job still queued this long after submission is cancelled
    int64_t result_ttl_s{};
    int64_t lease_ms{};  // [workers]
    int64_t attempts{};
    int64_t backoff_ms{};
    int64_t drain_timeout_ms{};
    int64_t max_wait_ms{};                  // [server]: longest ?wait= honoured
    int64_t max_connections{};              // connections served at once, per listener; beyond, 503
    int64_t max_waiters{};                  // long-polls waiting at once; beyond, ?wait= answers at once
    int64_t header_timeout_ms{};            // for a request's headers; also the longest silence in a body
    int64_t body_timeout_ms{};              // for a request's whole body
    int64_t keep_alive_ms{};                // an idle keep-alive connection is closed after this; 0 = none
    int64_t buffer_max_bytes{};             // request bodies held at once, all requests; beyond, 503
    std::vector<std::string> cors_origins;  // origins whose browsers may call the API; "*" = any
    std::string monitor_listen;             // host:port serving /healthz, /readyz, /metrics only; "" = none
    LogFormat log_format{};                 // [log]
    bool access_log{};                      // a line per HTTP request
    Maxima maxima;                          // [limits.max]
};

// The configuration in force. SIGHUP replaces it whole; a reader takes a
// snapshot (a request, one for its whole life) and never sees half of one.
class ConfigSource {
public:
    explicit ConfigSource(Config config) : current_(std::make_shared<const Config>(std::move(config))) {}
    std::shared_ptr<const Config> get() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void set(std::shared_ptr<const Config> config) {
        std::lock_guard lock(mutex_);
        current_ = std::move(config);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Config> current_;
};

// SIGHUP: `fresh`, the configuration read anew, keeps the running value of
// every setting that takes effect only at start-up (Setting::restart).
// `configured` is what was read at start-up (before execd filled in, say,
// its private Redis's URL), `running` what is in force. Returns lines for
// the log: each setting that changes now, and each restart-only one whose
// new value waits for a restart.
std::vector<std::string> settle_reload(const Config& configured, const Config& running, Config& fresh);

// Reads a TOML file into `config` (the table's keys, as in
// packaging/execd.toml). Throws std::runtime_error (a TomlError) naming
// file, line and reason: an unknown section or key, a wrong type, an
// integer out of its range, a role that is not one. Returns warnings for
// the log: the file holds tokens and is readable by group or others.
std::vector<std::string> load_config_file(const std::string& path, Config& config);

// The environment layer: every EXECD_<SECTION>_<KEY> variable in `envp`
// (a NULL-terminated "NAME=value" list, as environ) sets its setting over
// the file's value (an empty value is the empty string; for the role it
// keeps the value). A variable named like a setting of a section that is
// none ("EXECD_WORKERS_CONT") is refused, so a typo does not pass
// silently; other EXECD_* variables (exec's, the tokens') are left alone.
// Throws std::runtime_error "$NAME: [section] key must …".
void load_environment(Config& config, const char* const* envp);

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
    std::string owner;   // token_owner of the token; "" without tokens
    bool admin = false;  // an admin token: sees and cancels every job
};

// Checks every integer against its range (the table's one range check) and
// the combinations (non-loopback listen needs tokens or --insecure, …).
// Throws std::runtime_error naming the setting.
void validate_config(const Config& config);

// "host:port" → its parts. Throws std::invalid_argument.
std::pair<std::string, uint16_t> split_host_port(const std::string& text);

bool is_loopback_host(const std::string& host);

// The maxima a submission is checked against (api/maxima.h), from
// [limits.max]: the one place the daemon turns its configuration into them.
api::Maxima submission_maxima(const Config& config);

// The sandbox a worker node builds: its state directory, and the instance's
// cgroup parent and uid range, and the size of its work area. max_slots and
// lock_dir stay core's (they are the host's, shared with every exec and
// execd); the registry adds its binds.
SandboxConfig sandbox_config(const Config& config);

}  // namespace execd::daemon
