#include "daemon/settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <type_traits>

#include "core/sandbox/sandbox.h"

namespace execd::daemon {
namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;
constexpr int64_t kYearS = int64_t{365} * 24 * 3600;

// The table. Every default and range of execd is written here and nowhere
// else; packaging/execd.toml, man/execd.toml.5 and man/execd.8 restate them
// for people, and tests/unit/config_test.cpp holds them to this.
// (An entry per paragraph reads better than a field per line.)
// clang-format off
constexpr Setting kSettings[] = {
    // [server]
    {.section = "server", .key = "listen", .flag = "--listen", .field = &Config::listen,
     .text = "127.0.0.1:3001",
     .help = "host:port for HTTP; port 0 = any free port; beyond loopback needs tokens or --insecure",
     .restart = true},
    {.section = "server", .key = "unix_socket", .flag = "--unix-socket", .field = &Config::unix_socket,
     .text = "/run/execd/api.sock",
     .help = "Also serve HTTP on this unix socket, mode 0666 (only root serves the default); \"\" = none",
     .restart = true},
    {.section = "server", .key = "tokens", .flag = "--token", .field = &Config::tokens,
     .help = "API token (repeatable; replaces the file's list); requests then need Authorization: Bearer <token>",
     .env = "EXECD_TOKENS"},
    {.section = "server", .key = "admin_tokens", .flag = "--admin-token", .field = &Config::admin_tokens,
     .help = "Admin API token (repeatable; replaces the file's list): sees and cancels every job",
     .env = "EXECD_ADMIN_TOKENS"},
    {.section = "server", .key = "token_file", .flag = "--token-file", .field = &Config::token_file,
     .help = "File of API tokens, one a line (# comments), kept out of argv"},
    {.section = "server", .key = "admin_token_file", .flag = "--admin-token-file", .field = &Config::admin_token_file,
     .help = "File of admin tokens, one a line"},
    {.section = "server", .key = "insecure", .flag = "--insecure", .field = &Config::insecure, .boolean = false,
     .help = "Allow listening beyond loopback without API tokens"},
    {.section = "server", .key = "body_max_bytes", .flag = "--body-max-bytes", .field = &Config::body_max_bytes,
     .integer = 64 * kMiB, .min = 1024, .max = int64_t{1} << 32, .unit = "bytes",
     .help = "Largest request body accepted; larger gets 413"},
    {.section = "server", .key = "max_wait_ms", .field = &Config::max_wait_ms,
     .integer = 60000, .min = 0, .max = 3'600'000, .unit = "ms",
     .help = "Longest GET /v1/jobs/{id}?wait= honoured"},
    {.section = "server", .key = "max_waiters", .flag = "--max-waiters", .field = &Config::max_waiters,
     .integer = 32, .min = 0, .max = 65536,
     .help = "Long-polls waiting at once; beyond, ?wait= answers at once"},
    {.section = "server", .key = "max_connections", .flag = "--max-connections", .field = &Config::max_connections,
     .integer = 256, .min = 1, .max = 65536,
     .help = "Connections served at once per listener; beyond, 503",
     .restart = true},
    {.section = "server", .key = "header_timeout_ms", .flag = "--header-timeout-ms",
     .field = &Config::header_timeout_ms, .integer = 5000, .min = 100, .max = 600'000, .unit = "ms",
     .help = "Time for a request's headers, and the longest silence in its body",
     .restart = true},
    {.section = "server", .key = "body_timeout_ms", .flag = "--body-timeout-ms", .field = &Config::body_timeout_ms,
     .integer = 30000, .min = 100, .max = 3'600'000, .unit = "ms",
     .help = "Time for a request's whole body"},
    {.section = "server", .key = "keep_alive_ms", .flag = "--keep-alive-ms", .field = &Config::keep_alive_ms,
     .integer = 5000, .min = 0, .max = 600'000, .unit = "ms",
     .help = "An idle keep-alive connection is closed after this; 0 = no keep-alive",
     .restart = true},
    {.section = "server", .key = "buffer_max_bytes", .flag = "--buffer-max-bytes",
     .field = &Config::buffer_max_bytes, .integer = 256 * kMiB, .min = 1024, .max = int64_t{1} << 40,
     .unit = "bytes",
     .help = "Request bodies held at once, all requests together (at least body_max_bytes); beyond, 503"},
    {.section = "server", .key = "monitor_listen", .flag = "--monitor-listen", .field = &Config::monitor_listen,
     .help = "Also serve /healthz, /readyz and /metrics (only) on this host:port, a worker node too; \"\" = none",
     .restart = true},
    {.section = "server", .key = "cors_origins", .flag = "--cors-origin", .field = &Config::cors_origins,
     .help = "Origin whose browser pages may call the API (repeatable; \"*\" = any); [] = no CORS"},

    // [log]
    {.section = "log", .key = "format", .flag = "--log-format", .field = &Config::log_format, .text = "text",
     .choices = "text json",
     .help = "text (for people) or json (one object a line: time, level, message, node, requestId, jobId)"},
    {.section = "log", .key = "access", .field = &Config::access_log, .boolean = true,
     .help = "A line per HTTP request: method, target, status, bytes, milliseconds, peer"},

    // [redis]
    {.section = "redis", .key = "url", .flag = "--redis", .field = &Config::redis_url,
     .help = "redis://[[user]:password@]host[:port][/db] or unix:///path; \"\" = a private redis-server",
     .restart = true},
    {.section = "redis", .key = "server", .field = &Config::redis_server, .text = "/usr/bin/redis-server",
     .help = "The private redis-server's binary",
     .restart = true},
    {.section = "redis", .key = "key_prefix", .flag = "--key-prefix", .field = &Config::key_prefix,
     .text = "execd:",
     .help = "Prefix of every Redis key",
     .restart = true},
    {.section = "redis", .key = "maxmemory_mb", .flag = "--redis-maxmemory-mb", .field = &Config::redis_maxmemory_mb,
     .integer = 1024, .min = 1, .max = int64_t{1} << 24, .unit = "MB",
     .help = "The private redis-server's maxmemory, noeviction: when full, submissions get 507",
     .restart = true},

    // [paths]
    {.section = "paths", .key = "state_dir", .flag = "--state-dir", .field = &Config::state_dir,
     .text = "/var/lib/execd",
     .help = "State directory: the private Redis's socket and data",
     .restart = true},
    {.section = "paths", .key = "sandbox_dir", .flag = "--sandbox-dir", .field = &Config::sandbox_dir,
     .text = kDefaultSandboxStateDir,  // exec's too: the two share <sandbox_dir>/cache
     .help = "Sandbox state directory (its tmpfs is mounted at <dir>/ns)",
     .restart = true},
    {.section = "paths", .key = "languages", .flag = "--languages", .field = &Config::languages,
     .help = "Language registry file; \"\" = the system one if readable, else the built-in copy",
     .restart = true},

    // [sandbox]
    {.section = "sandbox", .key = "instance", .flag = "--instance", .field = &Config::instance,
     .help = "This engine's name on the host: box cgroups below execd-NAME and a uid range of its own; \"\" = "
             "the default engine",
     .env = "EXECD_INSTANCE",
     .restart = true},
    {.section = "sandbox", .key = "work_area_mb", .flag = "--work-area-mb", .field = &Config::work_area_mb,
     .integer = 0, .min = 0, .max = int64_t{1} << 24, .unit = "MB",
     .help = "Size of the work area, the tmpfs at <sandbox dir>/ns holding every running job's files; 0 = a "
             "quarter of the RAM. When it is full, a job whose files do not fit ends as an InternalError (retried)",
     .restart = true},

    // [workers]
    {.section = "workers", .key = "role", .flag = "--role", .field = &Config::role, .text = "all",
     .choices = "api worker all",
     .help = "api (HTTP, no jobs), worker (jobs, no HTTP) or all",
     .restart = true},
    {.section = "workers", .key = "count", .flag = "--workers", .field = &Config::workers,
     .integer = 0, .min = 0, .max = 1024,
     .help = "Worker threads; 0 = one per CPU",
     .restart = true},
    {.section = "workers", .key = "lease_ms", .flag = "--lease-ms", .field = &Config::lease_ms,
     .integer = 10000, .min = 1000, .max = 3'600'000, .unit = "ms",
     .help = "Lease of a running job; a node silent this long loses its jobs to others",
     .restart = true},
    {.section = "workers", .key = "attempts", .flag = "--attempts", .field = &Config::attempts,
     .integer = 3, .min = 1, .max = 100,
     .help = "Attempts for infrastructure failures (never for the program's own verdicts)"},
    {.section = "workers", .key = "backoff_ms", .flag = "--backoff-ms", .field = &Config::backoff_ms,
     .integer = 1000, .min = 0, .max = 3'600'000, .unit = "ms",
     .help = "First retry delay, doubled each time"},
    {.section = "workers", .key = "drain_timeout_ms", .flag = "--drain-timeout-ms",
     .field = &Config::drain_timeout_ms, .integer = 30000, .min = 0, .max = 3'600'000, .unit = "ms",
     .help = "On SIGTERM, how long running jobs may finish"},

    // [cache]
    {.section = "cache", .key = "dir", .flag = "--cache-dir", .field = &Config::cache_dir,
     .help = "Compile cache directory; \"\" = <sandbox dir>/cache",
     .restart = true},
    {.section = "cache", .key = "max_mb", .flag = "--cache-mb", .field = &Config::cache_max_mb,
     .integer = 512, .min = 0, .max = int64_t{1} << 20, .unit = "MB",
     .help = "Compile cache size cap; 0 turns it off",
     .restart = true},

    // [jobs]
    {.section = "jobs", .key = "result_ttl_s", .flag = "--result-ttl", .field = &Config::result_ttl_s,
     .integer = 3600, .min = 1, .max = kYearS, .unit = "s",
     .help = "How long a finished job's result is kept"},
    {.section = "jobs", .key = "queue_max", .flag = "--queue-max", .field = &Config::queue_max,
     .integer = 100000, .min = 1, .max = int64_t{1} << 32,
     .help = "Jobs waiting before submissions get 429"},
    {.section = "jobs", .key = "queue_max_bytes", .flag = "--queue-max-bytes", .field = &Config::queue_max_bytes,
     .integer = 512 * kMiB, .min = 1024, .max = int64_t{1} << 40, .unit = "bytes",
     .help = "Stored requests of unfinished jobs, summed, before submissions get 429"},
    {.section = "jobs", .key = "queue_ttl_s", .flag = "--queue-ttl", .field = &Config::queue_ttl_s,
     .integer = 86400, .min = 1, .max = kYearS, .unit = "s",
     .help = "A job still queued this long after submission ends cancelled, reason expired"},

    // [limits.max]: the most a request may ask for
    {.section = "limits.max", .key = "time_ms", .field = &Maxima::time_ms,
     .integer = 30000, .min = 1, .max = 3'600'000, .unit = "ms",
     .help = "Most a request's timeoutMs may be"},
    {.section = "limits.max", .key = "cpu_ms", .field = &Maxima::cpu_ms,
     .integer = 30000, .min = 1, .max = 3'600'000, .unit = "ms",
     .help = "Most a request's cpuMs may be"},
    {.section = "limits.max", .key = "memory_mb", .field = &Maxima::memory_mb,
     .integer = 1024, .min = 1, .max = 1 << 20, .unit = "MB",
     .help = "Most a request's memoryMb may be"},
    {.section = "limits.max", .key = "pids", .field = &Maxima::pids,
     .integer = 256, .min = 1, .max = 65536,
     .help = "Most a request's pids may be"},
    {.section = "limits.max", .key = "output_bytes", .field = &Maxima::output_bytes,
     .integer = 1 * kMiB, .min = 1, .max = int64_t{1} << 32, .unit = "bytes",
     .help = "Most a request's outputBytes, or a test's expectedOutput, may be"},
    {.section = "limits.max", .key = "code_bytes", .field = &Maxima::code_bytes,
     .integer = 1 * kMiB, .min = 1, .max = int64_t{1} << 32, .unit = "bytes",
     .help = "Most a request's code, or all its files together, may hold"},
    {.section = "limits.max", .key = "stdin_bytes", .field = &Maxima::stdin_bytes,
     .integer = 16 * kMiB, .min = 0, .max = int64_t{1} << 32, .unit = "bytes",
     .help = "Most a request's stdin, or a test's, may hold"},
    {.section = "limits.max", .key = "files", .field = &Maxima::files,
     .integer = 64, .min = 1, .max = 4096,
     .help = "Most entries in a request's files"},
    {.section = "limits.max", .key = "args", .field = &Maxima::args,
     .integer = 64, .min = 0, .max = 4096,
     .help = "Most entries in a request's args"},
    {.section = "limits.max", .key = "tests", .field = &Maxima::tests,
     .integer = 500, .min = 1, .max = 100000,
     .help = "Most test cases in one job"},
    {.section = "limits.max", .key = "job_time_ms", .field = &Maxima::job_time_ms,
     .integer = 3'600'000, .min = 1000, .max = 86'400'000, .unit = "ms",
     .help = "Most a graded job's tests (and checker runs) may take at their time limits, summed"},
    {.section = "limits.max", .key = "batch", .field = &Maxima::batch,
     .integer = 100, .min = 1, .max = 10000,
     .help = "Most jobs in one POST /v1/jobs/batch, ids in one GET /v1/jobs?ids="},
};
// clang-format on

// Whether `word` is one of the blank-separated `words`.
constexpr bool is_word_of(std::string_view word, std::string_view words) {
    while (!words.empty()) {
        const size_t end = std::min(words.find(' '), words.size());
        if (words.substr(0, end) == word) return true;
        words.remove_prefix(std::min(end + 1, words.size()));
    }
    return false;
}

// The table's own consistency, checked by the compiler: every integer's
// default is in its range, and a Choice's default is one of its words.
constexpr bool defaults_in_range() {
    for (const Setting& s : kSettings) {
        if (std::holds_alternative<int64_t Config::*>(s.field) || std::holds_alternative<int64_t Maxima::*>(s.field))
            if (s.min > s.max || s.integer < s.min || s.integer > s.max) return false;
        if ((std::holds_alternative<Role Config::*>(s.field) || std::holds_alternative<LogFormat Config::*>(s.field)) &&
            !is_word_of(s.text, s.choices))
            return false;
    }
    return true;
}
static_assert(defaults_in_range(), "a setting's default is outside its range");

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string upper_underscored(std::string_view text) {
    std::string out;
    for (char c : text)
        out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// A TOML basic string.
std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string toml_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
    return out + "]";
}

}  // namespace

SettingType Setting::type() const noexcept {
    return std::visit(Overloaded{
                          [](int64_t Config::*) { return SettingType::Integer; },
                          [](int64_t Maxima::*) { return SettingType::Integer; },
                          [](std::string Config::*) { return SettingType::Text; },
                          [](bool Config::*) { return SettingType::Boolean; },
                          [](std::vector<std::string> Config::*) { return SettingType::TextList; },
                          [](Role Config::*) { return SettingType::Choice; },
                          [](LogFormat Config::*) { return SettingType::Choice; },
                      },
                      field);
}

std::string Setting::name() const { return "[" + std::string(section) + "] " + std::string(key); }

std::string Setting::env_name() const {
    if (!env.empty()) return std::string(env);
    return "EXECD_" + upper_underscored(section) + "_" + upper_underscored(key);
}

std::vector<std::string_view> Setting::choice_list() const {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start < choices.size()) {
        size_t end = choices.find(' ', start);
        if (end == std::string_view::npos) end = choices.size();
        if (end > start) out.push_back(choices.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string Setting::default_toml() const {
    switch (type()) {
        case SettingType::Integer: return std::to_string(integer);
        case SettingType::Text:
        case SettingType::Choice: return quoted(text);
        case SettingType::Boolean: return boolean ? "true" : "false";
        case SettingType::TextList: return "[]";
    }
    return {};
}

std::string Setting::toml_of(const Config& c) const {
    return std::visit(Overloaded{
                          [&](int64_t Config::*f) {
        return std::to_string(c.*f); },
                          [&](int64_t Maxima::*f) {
        return std::to_string(c.maxima.*f); },
                          [&](std::string Config::*f) {
        return quoted(c.*f); },
                          [&](bool Config::*f) {
        return std::string(c.*f ? "true" : "false"); },
                          [&](std::vector<std::string> Config::*f) {
        return toml_list(c.*f); },
                          [&]<class E>(E Config::*f) requires std::is_enum_v<E> {
                              const auto words = choice_list();
                              const auto i = static_cast<size_t>(c.*f);
                              return quoted(i < words.size() ? words[i] : "?");
}
,
}  // namespace execd::daemon
,
                      field);
}

std::string Setting::range_problem(int64_t value) const {
    if (value >= min && value <= max) return {};
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

SettingValue Setting::parse(std::string_view text_value) const {
    switch (type()) {
        case SettingType::Integer: {
            int64_t n = 0;
            const char* end = text_value.data() + text_value.size();
            auto [ptr, ec] = std::from_chars(text_value.data(), end, n);
            if (text_value.empty() || ec != std::errc() || ptr != end)
                throw std::invalid_argument("must be an integer, not '" + std::string(text_value.substr(0, 64)) + "'");
            if (std::string problem = range_problem(n); !problem.empty())
                throw std::invalid_argument(problem + ", not " + std::to_string(n));
            return n;
        }
        case SettingType::Text: return std::string(text_value);
        case SettingType::Boolean:
            if (text_value == "true") return true;
            if (text_value == "false") return false;
            throw std::invalid_argument("must be true or false, not '" + std::string(text_value.substr(0, 64)) + "'");
        case SettingType::Choice: {
            const auto words = choice_list();
            if (text_value.empty() || std::find(words.begin(), words.end(), text_value) != words.end())
                return std::string(text_value);
            std::string allowed;
            for (size_t i = 0; i < words.size(); ++i)
                allowed += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + quoted(words[i]);
            throw std::invalid_argument("must be " + allowed);
        }
        case SettingType::TextList: {
            // Words separated by commas or blanks (the tokens have their
            // own variables, read by load_token_sources).
            std::vector<std::string> items;
            std::string item;
            for (char ch : text_value) {
                if (ch == ',' || std::isspace(static_cast<unsigned char>(ch))) {
                    if (!item.empty()) items.push_back(std::move(item));
                    item.clear();
                } else {
                    item += ch;
                }
            }
            if (!item.empty()) items.push_back(std::move(item));
            return items;
        }
    }
    throw std::logic_error(name() + " is not read from one piece of text");
}

void Setting::assign(Config& c, const SettingValue& value) const {
    auto as = [&]<class T>(std::type_identity<T>) -> const T& {
        if (const T* v = std::get_if<T>(&value)) return *v;
        throw std::logic_error(name() + ": a value of the wrong type");
    };
    std::visit(
        Overloaded{
            [&](int64_t Config::*f) {
        c.*f = as(std::type_identity<int64_t>{}); },
            [&](int64_t Maxima::*f) {
        c.maxima.*f = as(std::type_identity<int64_t>{}); },
            [&](std::string Config::*f) {
        c.*f = as(std::type_identity<std::string>{}); },
            [&](bool Config::*f) {
        c.*f = as(std::type_identity<bool>{}); },
            [&](std::vector<std::string> Config::*f) {
        c.*f = as(std::type_identity<std::vector<std::string>>{}); },
            [&]<class E>(E Config::*f) requires std::is_enum_v<E> {
                const std::string& word = as(std::type_identity<std::string>{});
                if (word.empty()) return;  // keeps what there was
                const auto words = choice_list();
                const auto it = std::find(words.begin(), words.end(), word);
                if (it == words.end()) throw std::logic_error(name() + ": '" + word + "' is not a choice");
                c.*f = static_cast<E>(it - words.begin());
}
,
},
        field);
}

void Setting::copy(const Config& from, Config& to) const {
    std::visit(Overloaded{
                   [&](int64_t Maxima::*f) { to.maxima.*f = from.maxima.*f; },
                   [&](auto Config::*f) { to.*f = from.*f; },
               },
               field);
}

std::string Setting::flag_help() const {
    // A second line, which CLI11 indents under the first.
    std::string out = std::string(help) + "\ndefault " + default_toml();
    if (type() == SettingType::Integer) {
        if (!unit.empty()) out += " " + std::string(unit);
        out += ", " + std::to_string(min) + " to " + std::to_string(max);
    }
    out += "; " + name() + ", $" + env_name();
    if (type() == SettingType::TextList) out += " adds more";
    return out;
}

std::span<const Setting> settings() { return kSettings; }

std::vector<std::string_view> setting_sections() {
    std::vector<std::string_view> out;
    for (const Setting& s : kSettings)
        if (std::find(out.begin(), out.end(), s.section) == out.end()) out.push_back(s.section);
    return out;
}

const Setting* find_setting(std::string_view section, std::string_view key) {
    for (const Setting& s : kSettings)
        if (s.section == section && s.key == key) return &s;
    return nullptr;
}

// Config and Maxima start at the table's defaults; nothing else gives them a value.
Maxima::Maxima() {
    for (const Setting& s : kSettings)
        if (const auto* f = std::get_if<int64_t Maxima::*>(&s.field)) {
            Maxima& self = *this;
            self.*(*f) = s.integer;
        }
}

Config::Config() {
    for (const Setting& s : kSettings) {
        switch (s.type()) {
            case SettingType::Integer:
                if (!std::holds_alternative<int64_t Maxima::*>(s.field)) s.assign(*this, s.integer);
                break;
            case SettingType::Text:
            case SettingType::Choice: s.assign(*this, std::string(s.text)); break;
            case SettingType::Boolean: s.assign(*this, s.boolean); break;
            case SettingType::TextList: s.assign(*this, std::vector<std::string>{}); break;
        }
    }
}

}  // namespace execd::daemon
