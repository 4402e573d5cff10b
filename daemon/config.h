// execd's configuration: /etc/execd/execd.toml (or --config), every value
// overridable by a flag. One struct, read once at start-up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
    std::string unix_socket;                   // also listen here when set
    std::vector<std::string> tokens;           // bearer tokens; empty = no auth
    bool insecure = false;                     // allow non-loopback listen without tokens
    std::string redis_url;                     // redis://host:port or unix:///path; empty = private redis-server
    std::string redis_server = "/usr/bin/redis-server";
    std::string key_prefix = "execd:";
    std::string state_dir = "/var/lib/execd";
    std::string sandbox_dir = "/run/execd";
    std::string cache_dir;                     // compile cache; empty = <sandbox_dir>/cache
    int64_t cache_max_mb = 512;                // 0 turns the compile cache off
    std::string languages;                     // registry file; empty = /etc/execd/languages.toml or built-in
    Role role = Role::All;
    int workers = 0;                           // 0 = one per CPU
    int64_t body_max_bytes = 64 << 20;
    int64_t queue_max = 100000;
    int64_t result_ttl_s = 3600;
    int64_t lease_ms = 10000;
    int attempts = 3;
    int64_t backoff_ms = 1000;
    int64_t drain_timeout_ms = 30000;
    int64_t max_wait_ms = 60000;              // longest ?wait= honoured
    Maxima maxima;
};

// Reads a TOML file into `config` (keys as in packaging/execd.toml).
// Throws std::runtime_error naming file, line and reason.
void load_config_file(const std::string& path, Config& config);

// Checks combinations (non-loopback listen needs tokens or --insecure, …).
// Throws std::runtime_error naming the setting.
void validate_config(const Config& config);

// "host:port" → its parts. Throws std::invalid_argument.
std::pair<std::string, uint16_t> split_host_port(const std::string& text);

bool is_loopback_host(const std::string& host);

}  // namespace execd::daemon
