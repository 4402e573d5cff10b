#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "api/tokens.h"
#include "config.h"
#include "support.h"

using namespace execd::daemon;
using execd::api::parse_token_lines;
using execd::api::read_token_file;
using Catch::Matchers::Contains;

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

TEST_CASE("the example execd.toml holds exactly the defaults", "[unit]") {
    Config c;
    load_config_file(EXECD_SOURCE_DIR "/packaging/execd.toml", c);
    validate_config(c);
    const Config d;
    CHECK(c.listen == d.listen);
    CHECK(c.redis_url == d.redis_url);
    CHECK(c.state_dir == d.state_dir);
    CHECK(c.workers == d.workers);
    CHECK(c.lease_ms == d.lease_ms);
    CHECK(c.attempts == d.attempts);
    CHECK(c.backoff_ms == d.backoff_ms);
    CHECK(c.result_ttl_s == d.result_ttl_s);
    CHECK(c.queue_max == d.queue_max);
    CHECK(c.body_max_bytes == d.body_max_bytes);
    CHECK(c.maxima.time_ms == d.maxima.time_ms);
    CHECK(c.maxima.memory_mb == d.maxima.memory_mb);
    CHECK(c.maxima.stdin_bytes == d.maxima.stdin_bytes);
    CHECK(c.maxima.batch == d.maxima.batch);
    CHECK(d.maxima.batch == 100);
    CHECK(c.maxima.tests == d.maxima.tests);
    CHECK(c.maxima.job_time_ms == d.maxima.job_time_ms);
    CHECK(c.maxima.output_bytes == d.maxima.output_bytes);
    CHECK(c.cache_dir == d.cache_dir);
    CHECK(c.cache_max_mb == d.cache_max_mb);
    CHECK(c.unix_socket == d.unix_socket);
    CHECK(c.max_waiters == d.max_waiters);
    CHECK(c.max_connections == d.max_connections);
    CHECK(c.header_timeout_ms == d.header_timeout_ms);
    CHECK(c.body_timeout_ms == d.body_timeout_ms);
    CHECK(c.keep_alive_ms == d.keep_alive_ms);
    CHECK(c.buffer_max_bytes == d.buffer_max_bytes);
    CHECK(c.tokens == d.tokens);
    CHECK(c.admin_tokens == d.admin_tokens);
    CHECK(c.token_file == d.token_file);
    CHECK(c.admin_token_file == d.admin_token_file);
    CHECK(c.redis_maxmemory_mb == d.redis_maxmemory_mb);
    CHECK(c.queue_max_bytes == d.queue_max_bytes);
    CHECK(c.queue_ttl_s == d.queue_ttl_s);
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
                            "f") == std::vector<std::string>{"first-token-0123456789", "second-token-0123456789",
                                                             "last-token-0123456789"});
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
    CHECK_THAT(warning, Contains(file + " is readable by group or others") && Contains("0640") &&
                            !Contains("file-token"));
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
