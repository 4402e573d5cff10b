#include <catch2/catch.hpp>
#include <fstream>

#include "config.h"
#include "support.h"

using namespace execd::daemon;
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
