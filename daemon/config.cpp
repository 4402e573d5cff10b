#include "daemon/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/tokens.h"
#include "core/util/sha256.h"
#include "core/util/toml_reader.h"
#include "daemon/redis.h"
#include "daemon/settings.h"

namespace execd::daemon {
namespace {

// Reads `s` from its section's table, if the table holds it. The type and
// range checks are the table's; the messages name file, line and key.
void read_setting(const TomlTable& t, const Setting& s, Config& c) {
    const std::string key(s.key);
    const toml::value* v = t.get(key);
    if (!v) return;
    switch (s.type()) {
        case SettingType::Integer: {
            const int64_t n = *t.integer(key, INT64_MIN, INT64_MAX);
            if (std::string problem = s.range_problem(n); !problem.empty()) t.fail(*v, t.name(key) + " " + problem);
            s.assign(c, n);
            break;
        }
        case SettingType::Text: s.assign(c, *t.string(key)); break;
        case SettingType::Boolean: s.assign(c, *t.boolean(key)); break;
        case SettingType::TextList: s.assign(c, t.strings(key)); break;
        case SettingType::Choice: try { s.assign(c, s.parse(*t.string(key)));
            } catch (const std::invalid_argument& e) {
                t.fail(*v, t.name(key) + " " + e.what());
            }
            break;
    }
}

// Reads one section of the file: every key must be one of the table's.
void read_section(const TomlTable& t, std::string_view section, Config& c) {
    std::vector<std::string_view> known;
    for (const Setting& s : settings())
        if (s.section == section) known.push_back(s.key);
    t.reject_unknown(known);
    for (const Setting& s : settings())
        if (s.section == section) read_setting(t, s, c);
}

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
    // Its lines may hold tokens and a Redis password: errors never quote them.
    const toml::value root = parse_toml_file(path, Excerpt::Omit);
    const TomlTable top(path, root, "top level", TomlTable::Naming::Spaced);
    const std::vector<std::string_view> sections = setting_sections();
    for (const auto& [name, value] : root.as_table()) {
        if (name == "limits") {
            // [limits] holds only [limits.max]: a limit written in [limits]
            // itself is a mistake worth naming.
            const TomlTable limits = top.nested(value, "[limits]");
            for (const auto& [key, inner] : value.as_table()) {
                if (key != "max") limits.fail(inner, "[limits]: unknown key '" + key + "' (limits go in [limits.max])");
                read_section(top.nested(inner, "[limits.max]"), "limits.max", c);
            }
        } else if (std::find(sections.begin(), sections.end(), name) != sections.end()) {
            read_section(top.nested(value, "[" + name + "]"), name, c);
        } else {
            top.fail(value, "unknown section [" + name + "]");
        }
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

void load_environment(Config& c, const char* const* envp) {
    // The prefixes that belong to settings: EXECD_SERVER_, EXECD_LIMITS_, …
    std::vector<std::string> prefixes;
    for (std::string_view section : setting_sections()) {
        std::string prefix = "EXECD_";
        for (char ch : section.substr(0, section.find('.')))
            prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        prefix += "_";
        if (std::find(prefixes.begin(), prefixes.end(), prefix) == prefixes.end()) prefixes.push_back(prefix);
    }
    // In the table's order, so two bad variables are reported the same way every time.
    for (const Setting& s : settings()) {
        // The tokens' variables add to the tokens: load_token_sources reads them.
        if (s.type() == SettingType::TextList && !s.env.empty()) continue;
        const std::string name = s.env_name();
        for (const char* const* e = envp; e && *e; ++e) {
            const std::string_view entry(*e);
            if (entry.size() <= name.size() || entry.compare(0, name.size(), name) != 0 || entry[name.size()] != '=')
                continue;
            try {
                s.assign(c, s.parse(entry.substr(name.size() + 1)));
            } catch (const std::invalid_argument& error) {
                throw std::runtime_error("$" + name + ": " + s.name() + " " + error.what());
            }
        }
    }
    for (const char* const* e = envp; e && *e; ++e) {
        const std::string_view entry(*e);
        const std::string name(entry.substr(0, entry.find('=')));
        const bool ours =
            std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return name.rfind(p, 0) == 0; });
        if (!ours) continue;
        const bool known =
            std::any_of(settings().begin(), settings().end(), [&](const Setting& s) { return s.env_name() == name; });
        if (!known)
            throw std::runtime_error("$" + name +
                                     " is not a setting of execd (EXECD_<SECTION>_<KEY>, see execd.toml(5))");
    }
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
    for (const Setting& s : settings()) {
        if (s.type() != SettingType::Integer) continue;
        const int64_t v = std::holds_alternative<int64_t Maxima::*>(s.field)
                              ? c.maxima.*std::get<int64_t Maxima::*>(s.field)
                              : c.*std::get<int64_t Config::*>(s.field);
        if (std::string problem = s.range_problem(v); !problem.empty())
            throw std::runtime_error(s.name() + " " + problem + ", not " + std::to_string(v));
    }
    if (c.buffer_max_bytes < c.body_max_bytes)
        throw std::runtime_error("buffer_max_bytes (" + std::to_string(c.buffer_max_bytes) +
                                 ") must be at least body_max_bytes (" + std::to_string(c.body_max_bytes) + ")");
    for (const auto* address : {&c.listen, &c.monitor_listen}) {
        if (address->empty()) continue;
        const char* key = address == &c.listen ? "listen" : "monitor_listen";
        std::string host;
        try {
            host = split_host_port(*address).first;
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("[server] ") + key + ": " + e.what());
        }
        if (!is_loopback_host(host) && c.tokens.empty() && c.admin_tokens.empty() && !c.insecure)
            throw std::runtime_error(std::string(key) + " = \"" + *address +
                                     "\" is beyond loopback but no API tokens are configured; set [server] tokens "
                                     "(or pass --insecure to accept unauthenticated requests from the network)");
    }
    if (std::string problem = instance_name_problem(c.instance); !problem.empty())
        throw std::runtime_error("[sandbox] instance " + problem);
    for (const auto* list : {&c.tokens, &c.admin_tokens})
        for (const auto& t : *list)
            if (std::string problem = api::token_problem(t); !problem.empty())
                throw std::runtime_error("API tokens: " + problem);
    if (!c.redis_url.empty()) {
        try {
            parse_redis_url(c.redis_url);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("[redis] url: ") + e.what());
        }
    }
    if (std::find(c.cors_origins.begin(), c.cors_origins.end(), "*") != c.cors_origins.end() && c.tokens.empty() &&
        c.admin_tokens.empty() && !c.insecure)
        throw std::runtime_error(
            "[server] cors_origins = [\"*\"] without API tokens would let any web page a local user visits run code "
            "here; set [server] tokens, name the origins, or pass --insecure");
    for (const auto& origin : c.cors_origins)
        if (origin != "*" && ((origin.rfind("http://", 0) != 0 && origin.rfind("https://", 0) != 0) ||
                              origin.find('/', origin.find("://") + 3) != std::string::npos))
            throw std::runtime_error("[server] cors_origins: \"" + origin +
                                     "\" is not an origin (scheme://host[:port], no path, or \"*\")");
}

std::vector<std::string> settle_reload(const Config& configured, const Config& running, Config& fresh) {
    std::vector<std::string> lines;
    for (const Setting& s : settings()) {
        // Tokens are never written to the log, only counted; a Redis
        // password is hidden.
        const bool secret = s.type() == SettingType::TextList && !s.env.empty();
        auto shown = [&](const Config& c) {
            if (s.name() == "[redis] url") return "\"" + redacted_redis_url(c.redis_url) + "\"";
            if (!secret) return s.toml_of(c);
            const auto& list = c.*std::get<std::vector<std::string> Config::*>(s.field);
            return std::to_string(list.size()) + " tokens";
        };
        if (s.restart) {
            if (s.toml_of(fresh) != s.toml_of(configured))
                lines.push_back(s.name() + " changed to " + shown(fresh) + ", which takes effect after a restart");
            s.copy(running, fresh);
        } else if (s.toml_of(fresh) != s.toml_of(running)) {
            lines.push_back(s.name() + " is now " + shown(fresh) + " (was " + shown(running) + ")");
        }
    }
    return lines;
}

SandboxConfig sandbox_config(const Config& c) {
    SandboxConfig sc;
    sc.state_dir = c.sandbox_dir;
    sc.instance = c.instance;
    sc.uid_base = instance_uid_base(c.instance);
    sc.work_tmpfs_mb = c.work_area_mb;
    return sc;
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
