#include "daemon/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "api/tokens.h"
#include "core/util/toml_reader.h"
#include "daemon/logging.h"
#include "daemon/redis.h"
#include "daemon/settings.h"
#include "daemon/store.h"
#include "tests/support.h"

using namespace execd::daemon;
using Catch::Matchers::Contains;
using execd::api::parse_token_lines;
using execd::api::read_token_file;

namespace {

std::string refusal(const std::string& text) {
    const std::string path = execd::test::make_temp_dir("execd-config") + "/execd.toml";
    std::ofstream(path) << text;
    try {
        Config c;
        load_config_file(path, c);
        validate_config(c);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("the settings table is sound: one key, flag, variable and field each", "[unit]") {
    std::set<std::string> names, flags, variables;
    std::vector<SettingField> fields;
    for (const Setting& s : settings()) {
        INFO(s.name());
        CHECK(names.insert(s.name()).second);
        CHECK(std::regex_match(std::string(s.key), std::regex("[a-z][a-z0-9_]*")));
        CHECK(!s.help.empty());
        if (!s.flag.empty()) {
            CHECK(std::regex_match(std::string(s.flag), std::regex("--[a-z][a-z0-9-]*")));
            CHECK(flags.insert(std::string(s.flag)).second);
        }
        CHECK(variables.insert(s.env_name()).second);
        // The rule of settings.h, but for the tokens' older names and the
        // instance's, shared with exec.
        std::string rule = "EXECD_" + std::string(s.section) + "_" + std::string(s.key);
        for (char& c : rule) c = c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (s.name() == "[server] tokens" || s.name() == "[server] admin_tokens")
            CHECK((s.env_name() == "EXECD_TOKENS" || s.env_name() == "EXECD_ADMIN_TOKENS"));
        else if (s.name() == "[sandbox] instance")
            CHECK(s.env_name() == "EXECD_INSTANCE");
        else
            CHECK(s.env_name() == rule);
        CHECK(std::find(fields.begin(), fields.end(), s.field) == fields.end());
        fields.push_back(s.field);
        if (s.type() == SettingType::Integer) CHECK(s.range_problem(s.integer).empty());
        // A Config starts at the table's defaults.
        CHECK(s.toml_of(Config{}) == s.default_toml());
    }
    CHECK(setting_sections() == std::vector<std::string_view>{"server", "log", "redis", "paths", "sandbox", "workers",
                                                              "cache", "jobs", "limits.max"});
}

TEST_CASE("execd gives the store and the sandbox the table's values", "[unit]") {
    Config c;
    c.key_prefix = "p:";
    c.lease_ms = 11;
    c.attempts = 12;
    c.backoff_ms = 13;
    c.result_ttl_s = 14;
    c.queue_max = 15;
    c.queue_max_bytes = 16;
    c.queue_ttl_s = 17;
    const StoreSettings ss(c);
    CHECK(ss.prefix == "p:");
    CHECK(ss.lease_ms == 11);
    CHECK(ss.attempts == 12);
    CHECK(ss.backoff_ms == 13);
    CHECK(ss.result_ttl_s == 14);
    CHECK(ss.queue_max == 15);
    CHECK(ss.queue_max_bytes == 16);
    CHECK(ss.queue_ttl_s == 17);
    // exec's sandbox directory is execd's default: the two share the compile
    // cache below it.
    CHECK(Config{}.sandbox_dir == execd::SandboxConfig{}.state_dir);

    // The default engine keeps core's defaults; a named instance gets its
    // own cgroup parent and uid range, as exec --instance does.
    const execd::SandboxConfig plain = sandbox_config(Config{});
    CHECK(plain.instance.empty());
    CHECK(plain.uid_base == execd::SandboxConfig{}.uid_base);
    Config night;
    night.instance = "night-shift";
    night.sandbox_dir = "/run/execd-night";
    const execd::SandboxConfig named = sandbox_config(night);
    CHECK(named.instance == "night-shift");
    CHECK(named.uid_base == execd::instance_uid_base("night-shift"));
    CHECK(named.uid_base != plain.uid_base);
    CHECK(named.state_dir == "/run/execd-night");
    CHECK_NOTHROW(validate_config(night));
    for (const char* bad : {"a/b", "..", "x y", "123456789012345678901234567890123"}) {
        night.instance = bad;
        CHECK_THROWS_WITH(validate_config(night), Contains("[sandbox] instance") && Contains("not an instance name"));
    }
}

TEST_CASE("packaging/execd.toml holds every key of the table at its default", "[unit]") {
    const std::string path = EXECD_SOURCE_DIR "/packaging/execd.toml";
    Config c;
    load_config_file(path, c);  // refuses any key the table does not have
    validate_config(c);
    const toml::value root = execd::parse_toml_file(path);
    for (const Setting& s : settings()) {
        INFO(s.name());
        // Present, not merely defaulted: a missing key would read as its default.
        const toml::value* table = &root;
        std::string_view rest = s.section;
        while (table && !rest.empty()) {
            const std::string part(rest.substr(0, rest.find('.')));
            rest = rest.find('.') == std::string_view::npos ? "" : rest.substr(rest.find('.') + 1);
            table = table->is_table() && table->as_table().count(part) ? &table->as_table().at(part) : nullptr;
        }
        REQUIRE(table);
        CHECK(table->as_table().count(std::string(s.key)) == 1);
        CHECK(s.toml_of(c) == s.default_toml());
    }
}

TEST_CASE("the queue's bounds and the private Redis's maxmemory are read and range-checked", "[unit]") {
    const std::string path = execd::test::make_temp_dir("execd-config") + "/execd.toml";
    std::ofstream(path) << "[jobs]\nqueue_max_bytes = 2048\nqueue_ttl_s = 60\n[redis]\nmaxmemory_mb = 64\n";
    Config c;
    load_config_file(path, c);
    CHECK(c.queue_max_bytes == 2048);
    CHECK(c.queue_ttl_s == 60);
    CHECK(c.redis_maxmemory_mb == 64);
    const Config d;
    CHECK(d.redis_maxmemory_mb == 1024);
    CHECK(d.queue_max_bytes < (d.redis_maxmemory_mb << 20));  // the 429 comes before Redis is full
    CHECK_THAT(refusal("[jobs]\nqueue_ttl_s = 0\n"), Contains("execd.toml:2") && Contains("queue_ttl_s"));
    CHECK_THAT(refusal("[jobs]\nqueue_max_bytes = 10\n"), Contains("between 1024 and"));
    CHECK_THAT(refusal("[redis]\nmaxmemory_mb = 0\n"), Contains("maxmemory_mb"));
    Config flags;
    flags.queue_ttl_s = 0;
    CHECK_THROWS_WITH(validate_config(flags), Contains("queue_ttl_s"));
}

TEST_CASE("token files: one a line, blanks and # comments skipped, a bad line named by file and line", "[unit]") {
    CHECK(parse_token_lines("", "f").empty());
    CHECK(parse_token_lines("# only a comment\n\n   \n", "f").empty());
    CHECK(parse_token_lines("first-token-0123456789\r\n  # note\n\t second-token-0123456789  \nlast-token-0123456789",
                            "f") ==
          std::vector<std::string>{"first-token-0123456789", "second-token-0123456789", "last-token-0123456789"});
    // A '#' inside a token is part of it; only a line starting with one is a comment.
    CHECK(parse_token_lines("abc#def-0123456789\n", "f") == std::vector<std::string>{"abc#def-0123456789"});
    auto refused = [](const std::string& text) {
        try {
            parse_token_lines(text, "/etc/execd/tokens");
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK_THAT(refused("# c\nlong-enough-token-0123\nshort-secret\n"),
               Contains("/etc/execd/tokens:3") && Contains("16 characters") && !Contains("short-secret"));
    CHECK_THAT(refused("two words-0123456789abc\n"), Contains("/etc/execd/tokens:1") && Contains("blank"));
    CHECK_THAT(refused("tab\tinside-0123456789abc\n"), Contains(":1"));
    CHECK_THAT(refused("\n\ncontrol\x01-0123456789abc\n"), Contains(":3") && Contains("control"));
    CHECK_THAT(refused("non-ascii-\xc3\xa9-0123456789abc\n"), Contains(":1"));

    const std::string dir = execd::test::make_temp_dir("execd-tokens");
    const std::string file = dir + "/tokens";
    std::ofstream(file) << "# API tokens\nfile-token-0123456789ab\n";
    ::chmod(file.c_str(), 0600);
    std::string warning = "unset";
    CHECK(read_token_file(file, &warning) == std::vector<std::string>{"file-token-0123456789ab"});
    CHECK(warning.empty());
    ::chmod(file.c_str(), 0640);
    CHECK(read_token_file(file, &warning).size() == 1);
    CHECK_THAT(warning,
               Contains(file + " is readable by group or others") && Contains("0640") && !Contains("file-token"));
    CHECK_THROWS_WITH(read_token_file(dir + "/missing"), Contains(dir + "/missing") && Contains("No such file"));
}

TEST_CASE("EXECD_TOKENS and EXECD_ADMIN_TOKENS add to the tokens of the file and the token files", "[unit]") {
    CHECK(parse_token_list(" one-token-0123456789abc,two-token-0123456789abc\nthree-token-0123456789ab ,, ", "X") ==
          std::vector<std::string>{"one-token-0123456789abc", "two-token-0123456789abc", "three-token-0123456789ab"});
    CHECK(parse_token_list("", "X").empty());
    CHECK_THROWS_WITH(parse_token_list("good-token-0123456789abc,tiny", "EXECD_TOKENS"),
                      Contains("$EXECD_TOKENS, token 2") && Contains("16 characters") && !Contains("tiny"));

    const std::string dir = execd::test::make_temp_dir("execd-tokens");
    std::ofstream(dir + "/admin") << "admin-file-token-0123456789\n";
    ::chmod((dir + "/admin").c_str(), 0600);
    Config c;
    c.tokens = {"config-token-0123456789ab"};
    c.admin_token_file = dir + "/admin";
    ::setenv("EXECD_TOKENS", "env-token-0123456789abcd", 1);
    ::setenv("EXECD_ADMIN_TOKENS", "env-admin-token-0123456789", 1);
    const auto warnings = load_token_sources(c);
    ::unsetenv("EXECD_TOKENS");
    ::unsetenv("EXECD_ADMIN_TOKENS");
    CHECK(warnings.empty());
    CHECK(c.tokens == std::vector<std::string>{"config-token-0123456789ab", "env-token-0123456789abcd"});
    CHECK(c.admin_tokens == std::vector<std::string>{"admin-file-token-0123456789", "env-admin-token-0123456789"});
    validate_config(c);

    Config bad;
    bad.token_file = dir + "/nope";
    CHECK_THROWS_WITH(load_token_sources(bad), Contains(dir + "/nope"));
}

TEST_CASE("a config file holding tokens and readable by others draws a warning", "[unit]") {
    const std::string dir = execd::test::make_temp_dir("execd-config");
    const std::string path = dir + "/execd.toml";
    std::ofstream(path) << "[server]\ntokens = [\"config-token-0123456789ab\"]\n";
    ::chmod(path.c_str(), 0644);
    Config c;
    auto warnings = load_config_file(path, c);
    REQUIRE(warnings.size() == 1);
    CHECK_THAT(warnings[0], Contains(path + " is readable by group or others") && !Contains("config-token"));
    ::chmod(path.c_str(), 0600);
    CHECK(load_config_file(path, c).empty());
    // A readable file without tokens is fine.
    std::ofstream(path) << "[jobs]\nqueue_max = 5\n";
    ::chmod(path.c_str(), 0644);
    CHECK(load_config_file(path, c).empty());
    CHECK(c.tokens.size() == 1);  // kept from the first file, which is not this one
    std::ofstream(path) << "[server]\nadmin_tokens = [\"admin-token-0123456789ab\"]\ntoken_file = \"/etc/t\"\n";
    Config a;
    CHECK(load_config_file(path, a).size() == 1);
    CHECK(a.admin_tokens == std::vector<std::string>{"admin-token-0123456789ab"});
    CHECK(a.token_file == "/etc/t");
    // Admin tokens alone turn authentication on, so they allow a public listen address.
    a.listen = "0.0.0.0:3001";
    CHECK_NOTHROW(validate_config(a));
}

TEST_CASE("a job's owner is derived from its token and never is the token", "[unit]") {
    const std::string a = token_owner("alice-token-0123456789abcdef");
    CHECK(a.size() == 32);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a == token_owner("alice-token-0123456789abcdef"));
    CHECK(a != token_owner("alice-token-0123456789abcdeg"));
    CHECK(a.find("alice") == std::string::npos);
}

TEST_CASE("the compile cache and the tests maximum are configurable", "[unit]") {
    const std::string path = execd::test::make_temp_dir("execd-config") + "/execd.toml";
    std::ofstream(path) << "[cache]\ndir = \"/var/cache/execd\"\nmax_mb = 0\n[limits.max]\ntests = 2000\n";
    Config c;
    load_config_file(path, c);
    CHECK(c.cache_dir == "/var/cache/execd");
    CHECK(c.cache_max_mb == 0);
    CHECK(c.maxima.tests == 2000);
    CHECK_THAT(refusal("[cache]\nsize = 1\n"), Contains("unknown key 'size'"));
    CHECK_THAT(refusal("[limits.max]\ntests = 0\n"), Contains("between 1 and 100000"));
}

TEST_CASE("the batch maximum is read from [limits.max] and range-checked", "[unit]") {
    const std::string path = execd::test::make_temp_dir("execd-config") + "/execd.toml";
    std::ofstream(path) << "[limits.max]\nbatch = 5\n";
    Config c;
    load_config_file(path, c);
    CHECK(c.maxima.batch == 5);
    CHECK_THAT(refusal("[limits.max]\nbatch = 0\n"), Contains("execd.toml:2") && Contains("between 1 and 10000"));
    CHECK_THAT(refusal("[limits.max]\nbatch = \"many\"\n"), Contains("must be an integer"));
}

TEST_CASE("a bad execd.toml is refused with its line and reason", "[unit]") {
    CHECK_THAT(refusal("[server]\nlisten = 5\n"), Contains("execd.toml:2") && Contains("must be a string"));
    CHECK_THAT(refusal("[servr]\n"), Contains("unknown section [servr]"));
    CHECK_THAT(refusal("[workers]\nattempts = 0\n"), Contains("execd.toml:2") && Contains("between 1 and 100"));
    CHECK_THAT(refusal("[workers]\nrole = \"boss\"\n"), Contains("\"api\", \"worker\" or \"all\""));
    CHECK_THAT(refusal("[limits]\ntime_ms = 5\n"), Contains("[limits.max]"));
    CHECK_THAT(refusal("[server]\nlisten = \"0.0.0.0:3001\"\n"), Contains("beyond loopback"));
    CHECK_THAT(refusal("[server]\nlisten = \"0.0.0.0:3001\"\ntokens = [\"short\"]\n"), Contains("16 characters"));
    CHECK(refusal("[server]\nlisten = \"0.0.0.0:3001\"\ntokens = [\"0123456789abcdef0123\"]\n") == "accepted");
    CHECK(refusal("[server]\nlisten = \"0.0.0.0:3001\"\ninsecure = true\n") == "accepted");
    CHECK_THAT(refusal("[server]\nlisten = \"nowhere\"\n"), Contains("host:port"));
}

namespace {

// Roff as a reader sees it: the escapes this project's pages use turned into
// their characters, font changes dropped.
std::string unroff(std::string text) {
    static const std::pair<const char*, const char*> kEscapes[] = {
        {"\\(dq", "\""}, {"\\(em", "—"}, {"\\(mu", "x"}, {"\\-", "-"}, {"\\fB", ""},
        {"\\fI", ""},    {"\\fR", ""},   {"\\fP", ""},   {"\\&", ""},  {"\\%", ""}};
    for (const auto& [from, to] : kEscapes)
        for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + std::strlen(to)))
            text.replace(at, std::strlen(from), to);
    return text;
}

// One line of a page as text: a font request's arguments run together (.BR
// and the like alternate fonts without a space; .B and .I join with one),
// other requests dropped.
std::string roff_text(const std::string& line) {
    if (line.empty() || line[0] != '.') return unroff(line);
    const std::string request = line.substr(0, line.find(' '));
    if (line.find(' ') == std::string::npos) return {};
    const auto args = execd::test::roff_arguments(line.substr(line.find(' ') + 1));
    std::string out;
    if (request == ".B" || request == ".I") {
        for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
    } else if (request.size() == 3 && std::string("BIR").find(request[1]) != std::string::npos &&
               std::string("BIR").find(request[2]) != std::string::npos) {
        for (const auto& a : args) out += a;
    } else {
        return {};
    }
    return unroff(out);
}

std::vector<std::string> lines_of(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(execd::test::read_text(path));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// What execd.toml(5) says in parentheses after a key.
std::string man_summary(const Setting& s) {
    std::string type;
    switch (s.type()) {
        case SettingType::Integer: type = "integer, " + std::to_string(s.min) + " to " + std::to_string(s.max); break;
        case SettingType::Text:
        case SettingType::Choice: type = "string"; break;
        case SettingType::Boolean: type = "boolean"; break;
        case SettingType::TextList: type = "array of strings"; break;
    }
    return "(" + type + ", default " + s.default_toml() + ")";
}

// Whether `text` holds "default VALUE" not followed by more of a number.
bool says_default(const std::string& text, const std::string& value) {
    const std::string needle = "default " + value;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        const size_t end = at + needle.size();
        if (end == text.size() || !std::isdigit(static_cast<unsigned char>(text[end]))) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("man/execd.toml.5 documents every key with its type, range and default", "[unit]") {
    const auto lines = lines_of(EXECD_SOURCE_DIR "/man/execd.toml.5");
    // "[section] key" → the summary in parentheses after it, for every key a section documents.
    std::map<std::string, std::vector<std::string>> documented;
    std::string section;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].rfind(".SH ", 0) == 0) {
            const std::string title = unroff(execd::test::roff_arguments(lines[i].substr(4)).at(0));
            section = title.size() > 2 && title.front() == '[' && title.back() == ']' ? title : "";
        } else if (!section.empty() && i > 0 && lines[i - 1] == ".TP" && lines[i].rfind(".BR ", 0) == 0) {
            const auto args = execd::test::roff_arguments(lines[i].substr(4));
            REQUIRE(args.size() == 2);
            std::string summary = unroff(args[1]);
            summary.erase(0, summary.find_first_not_of(' '));
            documented[section + " " + unroff(args[0])].push_back(summary);
        }
    }
    for (const Setting& s : settings()) {
        INFO(s.name());
        REQUIRE(documented.count(s.name()) == 1);
        CHECK(documented.at(s.name()) == std::vector<std::string>{man_summary(s)});
    }
    for (const auto& [name, summaries] : documented) {
        INFO(name);
        const auto space = name.find(' ');
        CHECK(find_setting(name.substr(1, space - 2), name.substr(space + 1)));  // no key the table lacks
    }

    // FLAGS AND ENVIRONMENT: a row per key, with its flag and its variable.
    std::map<std::string, std::vector<std::string>> rows;
    bool in_table_section = false;
    for (const auto& line : lines) {
        if (line.rfind(".SH ", 0) == 0) in_table_section = line == ".SH FLAGS AND ENVIRONMENT";
        if (!in_table_section) continue;
        if (line.rfind(".B [", 0) == 0) section = line.substr(3);
        if (line.find('\t') == std::string::npos || line[0] == '.') continue;
        std::istringstream cells(unroff(line));
        std::string key, flag, variable;
        std::getline(cells, key, '\t');
        std::getline(cells, flag, '\t');
        std::getline(cells, variable, '\t');
        rows[section + " " + key].push_back(flag + " " + variable);
    }
    CHECK(rows.size() == settings().size());
    for (const Setting& s : settings()) {
        INFO(s.name());
        REQUIRE(rows.count(s.name()) == 1);
        CHECK(rows.at(s.name()) ==
              std::vector<std::string>{(s.flag.empty() ? std::string("—") : std::string(s.flag)) + " " + s.env_name()});
    }
}

TEST_CASE("man/execd.8 has every flag of the table, its key and its default", "[unit]") {
    const auto lines = lines_of(EXECD_SOURCE_DIR "/man/execd.8");
    // OPTIONS: the flag a .TP entry names → the text of its paragraph.
    std::map<std::string, std::string> options;
    bool environment_rule = false;
    std::string where;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].rfind(".SH ", 0) == 0) where = lines[i].substr(4);
        if (where == "ENVIRONMENT" && i > 0 && lines[i - 1] == ".TP")
            environment_rule |= roff_text(lines[i]) == "EXECD_SECTION_KEY";
        if (where != "OPTIONS" || i == 0 || lines[i - 1] != ".TP") continue;
        const std::string flag = unroff(execd::test::roff_arguments(lines[i].substr(lines[i].find(' ') + 1)).at(0));
        std::string text;
        for (size_t j = i + 1; j < lines.size() && lines[j] != ".TP" && lines[j].rfind(".SH", 0) != 0; ++j) {
            const std::string t = roff_text(lines[j]);
            if (!t.empty()) text += (text.empty() ? "" : " ") + t;
        }
        options[flag] = text;
    }
    CHECK(environment_rule);
    for (const Setting& s : settings()) {
        if (s.flag.empty()) continue;
        INFO(s.flag);
        REQUIRE(options.count(std::string(s.flag)) == 1);
        const std::string& text = options.at(std::string(s.flag));
        CHECK(text.rfind(s.name() + ".", 0) == 0);  // the paragraph starts with its key
        // Every integer default the paragraph gives is the table's, and it
        // gives one; a string default is there as written.
        if (s.type() == SettingType::Integer) {
            const std::regex mention(R"((?:[Dd]efault (\d+))|(?:(\d+) \(the default\)))");
            int mentions = 0;
            for (std::sregex_iterator it(text.begin(), text.end(), mention), end; it != end; ++it, ++mentions)
                CHECK(((*it)[1].matched ? (*it)[1].str() : (*it)[2].str()) == std::to_string(s.integer));
            CHECK(mentions > 0);
        } else if ((s.type() == SettingType::Text || s.type() == SettingType::Choice) && !s.text.empty()) {
            const std::string value(s.text);
            CHECK((text.find("efault " + value) != std::string::npos ||
                   text.find(value + " (the default)") != std::string::npos));
        }
    }
}

TEST_CASE("EXECD_* variables set every key over the file; tokens and exec's variables are left alone", "[unit]") {
    auto with_env = [](std::vector<std::string> vars, Config c = {}) {
        std::vector<const char*> envp;
        for (const auto& v : vars) envp.push_back(v.c_str());
        envp.push_back(nullptr);
        load_environment(c, envp.data());
        return c;
    };

    const std::string path = execd::test::make_temp_dir("execd-config") + "/execd.toml";
    std::ofstream(path) << "[server]\nlisten = \"127.0.0.1:4000\"\n[workers]\ncount = 2\n[jobs]\nqueue_ttl_s = 60\n";
    Config file;
    load_config_file(path, file);
    const Config c = with_env({"EXECD_WORKERS_COUNT=7", "EXECD_SERVER_INSECURE=true", "EXECD_LIMITS_MAX_BATCH=5",
                               "EXECD_WORKERS_ROLE=api", "EXECD_SERVER_UNIX_SOCKET=", "PATH=/usr/bin"},
                              file);
    CHECK(c.workers == 7);       // the variable over the file
    CHECK(c.queue_ttl_s == 60);  // the file where no variable is set
    CHECK(c.listen == "127.0.0.1:4000");
    CHECK(c.insecure);
    CHECK(c.maxima.batch == 5);
    CHECK(c.role == Role::Api);
    CHECK(c.unix_socket.empty());                                   // set but empty: the empty string
    CHECK(with_env({"EXECD_WORKERS_ROLE="}, c).role == Role::Api);  // an empty role keeps the value

    // Every key but the tokens has its variable: set each to a value other than its default.
    for (const Setting& s : settings()) {
        if (s.type() == SettingType::TextList && !s.env.empty()) continue;
        INFO(s.env_name());
        std::string value;
        switch (s.type()) {
            case SettingType::Integer: value = std::to_string(s.integer == s.max ? s.min : s.max); break;
            case SettingType::Text: value = "/elsewhere"; break;
            case SettingType::Boolean: value = s.boolean ? "false" : "true"; break;
            case SettingType::Choice:
                value =
                    std::string(s.choice_list().front() == s.text ? s.choice_list().back() : s.choice_list().front());
                break;
            case SettingType::TextList: value = " https://a.example,https://b.example:8080 "; break;
        }
        const Config set = with_env({s.env_name() + "=" + value});
        std::string expected =
            s.type() == SettingType::Integer || s.type() == SettingType::Boolean ? value : "\"" + value + "\"";
        if (s.type() == SettingType::TextList) expected = R"(["https://a.example", "https://b.example:8080"])";
        CHECK(s.toml_of(set) == expected);
        CHECK(s.toml_of(set) != s.default_toml());
    }

    // Tokens come from EXECD_TOKENS through load_token_sources, and exec's
    // variables are not execd's.
    const Config untouched = with_env({"EXECD_TOKENS=env-token-0123456789abcd", "EXECD_LANGUAGES=/x",
                                       "EXECD_STATE_DIR=/x", "EXECD_SOCKET=/x", "EXECD_PROBE=1"});
    for (const Setting& s : settings()) CHECK(s.toml_of(untouched) == s.default_toml());
}

TEST_CASE("a bad EXECD_* value is refused naming the variable", "[unit]") {
    auto refused = [](const std::string& var) {
        const char* envp[] = {var.c_str(), nullptr};
        Config c;
        try {
            load_environment(c, envp);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK_THAT(refused("EXECD_WORKERS_COUNT=lots"),
               Contains("$EXECD_WORKERS_COUNT: [workers] count must be an integer"));
    CHECK_THAT(refused("EXECD_WORKERS_COUNT=5000"),
               Contains("$EXECD_WORKERS_COUNT: [workers] count must be between 0 and 1024, not 5000"));
    CHECK_THAT(refused("EXECD_JOBS_QUEUE_MAX= 5"), Contains("$EXECD_JOBS_QUEUE_MAX") && Contains("an integer"));
    CHECK_THAT(refused("EXECD_JOBS_QUEUE_MAX="), Contains("$EXECD_JOBS_QUEUE_MAX") && Contains("an integer"));
    CHECK_THAT(refused("EXECD_LIMITS_MAX_TESTS=99999999999999999999"), Contains("$EXECD_LIMITS_MAX_TESTS"));
    CHECK_THAT(refused("EXECD_SERVER_INSECURE=yes"), Contains("$EXECD_SERVER_INSECURE") && Contains("true or false"));
    CHECK_THAT(refused("EXECD_WORKERS_ROLE=boss"),
               Contains("$EXECD_WORKERS_ROLE") && Contains("\"api\", \"worker\" or \"all\""));
    // A variable in a section's name space that names no key is a typo.
    CHECK_THAT(refused("EXECD_WORKERS_CONT=3"), Contains("$EXECD_WORKERS_CONT is not a setting"));
    CHECK_THAT(refused("EXECD_LIMITS_TIME_MS=3"), Contains("$EXECD_LIMITS_TIME_MS is not a setting"));
    CHECK_THAT(refused("EXECD_SERVER_TOKENS=x"), Contains("$EXECD_SERVER_TOKENS is not a setting"));
    CHECK(refused("EXECD_WORKERS_COUNT=3") == "accepted");
}

TEST_CASE("execd --help lists every flag of the table with its default, range, key and variable", "[cli]") {
    const auto p = execd::test::run_process({EXECD_DAEMON_BINARY, "--help"});
    REQUIRE(p.exit_code == 0);
    // An option's names → its description, continuation lines included.
    std::map<std::string, std::string> options;
    std::string current;
    std::istringstream in(p.out);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("  -", 0) == 0) {
            current = line.substr(2, line.find(' ', 2) - 2);
            options[current] = line.size() > 30 ? line.substr(30) : "";
        } else if (!current.empty() && line.rfind(std::string(30, ' '), 0) == 0) {
            options[current] += "\n" + line.substr(30);
        } else {
            current.clear();
        }
    }
    for (const Setting& s : settings()) {
        if (s.flag.empty()) continue;
        INFO(s.flag);
        REQUIRE(options.count(std::string(s.flag)) == 1);
        const std::string& text = options.at(std::string(s.flag));
        CHECK_THAT(text, Contains(std::string(s.help)) && Contains(s.name()) && Contains("$" + s.env_name()));
        CHECK(says_default(text, s.default_toml()));
        if (s.type() == SettingType::Integer)
            CHECK_THAT(text, Contains(", " + std::to_string(s.min) + " to " + std::to_string(s.max) + ";"));
    }
    // And no flag of execd's settings is made anywhere but from the table.
    const std::set<std::string> process_options{"-h,--help", "--version", "-c,--config", "--port-file", "--node-name"};
    for (const auto& [names, text] : options) {
        INFO(names);
        CHECK((process_options.count(names) ||
               std::any_of(settings().begin(), settings().end(), [&](const Setting& s) { return s.flag == names; })));
    }
}

TEST_CASE("execd takes the default, then the file, then EXECD_* variables, then flags", "[cli]") {
    const std::string dir = execd::test::make_temp_dir("execd-config");
    const std::string file = dir + "/execd.toml";
    std::ofstream(file) << "[server]\nbody_max_bytes = 2048\nbuffer_max_bytes = 1048576\n";
    // Each run stops at validation (buffer_max_bytes below body_max_bytes),
    // whose message shows which value won.
    auto execd = [&](std::vector<std::string> env, std::vector<std::string> flags) {
        std::vector<std::string> argv{"/usr/bin/env", "-i"};
        argv.insert(argv.end(), env.begin(), env.end());
        argv.insert(argv.end(), {EXECD_DAEMON_BINARY, "--config", file});
        argv.insert(argv.end(), flags.begin(), flags.end());
        return execd::test::run_process(argv);
    };
    auto env_over_file = execd({"EXECD_SERVER_BODY_MAX_BYTES=8192", "EXECD_SERVER_BUFFER_MAX_BYTES=5000"}, {});
    CHECK(env_over_file.exit_code == 2);
    CHECK_THAT(env_over_file.err, Contains("buffer_max_bytes (5000) must be at least body_max_bytes (8192)"));
    auto flag_over_env = execd({"EXECD_SERVER_BODY_MAX_BYTES=8192", "EXECD_SERVER_BUFFER_MAX_BYTES=5000"},
                               {"--buffer-max-bytes", "4096"});
    CHECK(flag_over_env.exit_code == 2);
    CHECK_THAT(flag_over_env.err, Contains("buffer_max_bytes (4096) must be at least body_max_bytes (8192)"));
    auto flag_over_file = execd({}, {"--buffer-max-bytes", "1500"});
    CHECK(flag_over_file.exit_code == 2);
    CHECK_THAT(flag_over_file.err, Contains("buffer_max_bytes (1500) must be at least body_max_bytes (2048)"));

    auto bad_env = execd({"EXECD_WORKERS_ATTEMPTS=0"}, {});
    CHECK(bad_env.exit_code == 2);
    CHECK_THAT(bad_env.err, Contains("$EXECD_WORKERS_ATTEMPTS: [workers] attempts must be between 1 and 100"));
    auto typo = execd({"EXECD_WORKERS_ATEMPTS=2"}, {});
    CHECK(typo.exit_code == 2);
    CHECK_THAT(typo.err, Contains("$EXECD_WORKERS_ATEMPTS is not a setting"));
    auto bad_flag = execd({}, {"--attempts", "0"});
    CHECK(bad_flag.exit_code == 2);
    CHECK_THAT(bad_flag.err, Contains("--attempts: [workers] attempts must be between 1 and 100, not 0"));
}

TEST_CASE("execd.toml(5) names exactly the settings SIGHUP leaves for a restart", "[unit]") {
    // The paragraph's list: a whole section when all its keys wait for a
    // restart, else the keys themselves.
    const auto lines = lines_of(EXECD_SOURCE_DIR "/man/execd.toml.5");
    std::string text;
    bool in = false;
    for (const auto& line : lines) {
        if (line.rfind("SIGHUP reads this file again", 0) == 0) in = true;
        if (!in) continue;
        text += roff_text(line) + " ";
        if (line.find("which keep their value") != std::string::npos) break;
    }
    REQUIRE(in);
    const auto open = text.find('('), close = text.find(')');
    REQUIRE((open != std::string::npos && close > open));
    std::set<std::string> listed;
    std::istringstream items(text.substr(open + 1, close - open - 1));
    for (std::string item; std::getline(items, item, ',');) {
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        listed.insert(item);
    }
    std::set<std::string> expected;
    for (std::string_view section : setting_sections()) {
        bool all = true;
        for (const Setting& s : settings())
            if (s.section == section && !s.restart) all = false;
        for (const Setting& s : settings())
            if (s.section == section && s.restart)
                expected.insert(all ? "[" + std::string(section) + "]" : std::string(s.key));
    }
    CHECK(listed == expected);
}

TEST_CASE("execd.toml's syntax errors never quote its lines, which may hold secrets", "[unit]") {
    const std::string unterminated = refusal("[redis]\nurl = \"redis://:sup3r-secret@h:6379\n");
    CHECK_THAT(unterminated, Contains("execd.toml:2") && Contains("syntax error"));
    CHECK(unterminated.find("sup3r-secret") == std::string::npos);
    const std::string list = refusal("[server]\ntokens = [\"tok-secret-0123456789abc\" \"x\"]\n");
    CHECK_THAT(list, Contains("execd.toml:2"));
    CHECK(list.find("tok-secret") == std::string::npos);
}

TEST_CASE("a reload keeps restart-only settings and is checked as it will be in force", "[unit]") {
    Config running;
    running.listen = "0.0.0.0:3001";
    running.tokens = {"reload-token-0123456789"};
    running.result_ttl_s = 3600;
    const Config configured = running;
    // The file now asks for loopback and no tokens: the address waits for a
    // restart, so the tokens may not go.
    Config fresh;
    fresh.listen = "127.0.0.1:3001";
    fresh.result_ttl_s = 60;
    REQUIRE_NOTHROW(validate_config(fresh));
    const auto lines = settle_reload(configured, running, fresh);
    CHECK(fresh.listen == "0.0.0.0:3001");
    CHECK(fresh.result_ttl_s == 60);
    CHECK_THROWS_WITH(validate_config(fresh), Contains("beyond loopback"));
    std::string log;
    for (const auto& l : lines) log += l + "\n";
    CHECK_THAT(log, Contains("[server] listen changed to \"127.0.0.1:3001\", which takes effect after a restart"));
    CHECK_THAT(log, Contains("[jobs] result_ttl_s is now 60 (was 3600)"));
    CHECK_THAT(log, Contains("[server] tokens is now 0 tokens (was 1 tokens)"));
    CHECK(log.find("reload-token") == std::string::npos);
}

TEST_CASE("Redis URLs: credentials, databases, IPv6, unix paths; the password never shown", "[unit]") {
    using execd::daemon::parse_redis_url;
    using execd::daemon::redacted_redis_url;
    auto a = parse_redis_url("redis://10.0.0.5");
    CHECK((a.host == "10.0.0.5" && a.port == 6379 && a.db == 0 && a.password.empty() && !a.unix_socket));
    a = parse_redis_url("redis://:p%40ss%3Aw%25rd@redis:6380/2");
    CHECK((a.host == "redis" && a.port == 6380 && a.db == 2 && a.user.empty() && a.password == "p@ss:w%rd"));
    a = parse_redis_url("redis://grader:pw@[::1]:7000");
    CHECK((a.host == "::1" && a.port == 7000 && a.user == "grader" && a.password == "pw"));
    a = parse_redis_url("redis://x:p@ss@host:1");  // the last '@' ends the credentials
    CHECK((a.password == "p@ss" && a.host == "host"));
    a = parse_redis_url("unix:///run/redis@main/redis.sock?db=4");
    CHECK((a.unix_socket && a.path == "/run/redis@main/redis.sock" && a.db == 4 && a.password.empty()));
    a = parse_redis_url("unix://:pw@/run/redis/redis.sock");
    CHECK((a.unix_socket && a.path == "/run/redis/redis.sock" && a.password == "pw"));
    for (const char* bad : {"redis://::1", "redis://2001:db8::1:6379", "redis://h:0", "redis://h:70000", "redis://h:x",
                            "redis://:@h", "redis://pw@h", "redis://h/x", "rediss://h", "http://h", "unix://relative",
                            "unix:///s?x=1", "redis://:p%4@h", "redis://[::1"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_redis_url(bad), std::invalid_argument);
    }
    CHECK_THROWS_WITH(parse_redis_url("redis://:hidden-pw@h:99999"),
                      Contains("redis://:***@h:99999") && !Contains("hidden-pw"));
    CHECK(redacted_redis_url("redis://:pw@h:1") == "redis://:***@h:1");
    CHECK(redacted_redis_url("redis://user:pw@h:1/2") == "redis://user:***@h:1/2");
    CHECK(redacted_redis_url("redis://pw@h") == "redis://***@h");
    CHECK(redacted_redis_url("redis://:pa/ss@h") == "redis://:***@h");
    CHECK(redacted_redis_url("unix:///run/redis@main/s.sock") == "unix:///run/redis@main/s.sock");
    CHECK(redacted_redis_url("redis://h:1") == "redis://h:1");
}

TEST_CASE("log text is escaped: quotes, control bytes, invalid UTF-8", "[unit]") {
    using execd::daemon::json_escape;
    CHECK(json_escape("plain é ✓") == "plain é ✓");
    CHECK(json_escape("a\"b\\c") == "a\\\"b\\\\c");
    CHECK(json_escape("l1\nl2\tx\r\x1b[31m\x7f") == "l1\\nl2\\tx\\u000d\\u001b[31m\\u007f");
    CHECK(json_escape(std::string("nul\0end", 7)) == "nul\\u0000end");
    CHECK(json_escape("bad \xff\xfe tail \xc3") == "bad \\ufffd\\ufffd tail \\ufffd");
    CHECK(json_escape("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");  // a surrogate is no UTF-8
}
