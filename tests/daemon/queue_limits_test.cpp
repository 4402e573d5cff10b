// The queue's storage is bounded: queued bytes (429), the Redis's memory
// (507, never eviction) and a queued job's age (it ends cancelled, reason
// "expired"). Real redis-server and execd processes.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

// A Python job whose source is about `bytes` long (a comment, then print(n)).
std::string big_job(size_t bytes, int n = 1) {
    return R"J({"language":"python","code":"# )J" + std::string(bytes, 'x') + "\\nprint(" + std::to_string(n) +
           R"J()"})J";
}

// One line of INFO, e.g. "used_memory" or "evicted_keys".
int64_t info_field(RedisServer& redis, const std::string& section, const std::string& name) {
    const std::string text = redis.command({"INFO", section}).string;
    const auto at = text.find("\n" + name + ":");
    REQUIRE(at != std::string::npos);
    return std::stoll(text.substr(at + name.size() + 2));
}

std::string config_get(execd::daemon::RedisConnection& c, const std::string& name) {
    auto r = c.command({"CONFIG", "GET", name});
    return r.elements.size() == 2 ? r.elements[1].string : "";
}

// Submits `body` until a refusal (at most `limit` tries); returns the ids
// accepted and the refusal.
std::pair<std::vector<std::string>, HttpReply> fill(int port, const std::string& body, int limit = 300) {
    std::vector<std::string> ids;
    HttpReply r;
    for (int i = 0; i < limit; ++i) {
        r = http(port, "POST", "/v1/jobs", body);
        if (r.status != 202) break;
        ids.push_back(json_field(r.body, "jobId"));
    }
    return {ids, r};
}

}  // namespace

TEST_CASE("a Redis out of memory: 507 with the JSON error, nothing evicted, submissions resume once space is freed",
          "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api"});
    const int port = execd.port();
    const int64_t used = info_field(redis, "memory", "used_memory");
    redis.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
    redis.command({"CONFIG", "SET", "maxmemory", std::to_string(used + (3 << 20))});

    const std::string job = big_job(100'000);
    auto [ids, refused] = fill(port, job);
    INFO(refused.body);
    REQUIRE(refused.status == 507);
    CHECK(error_field(refused.body, "code") == "insufficient_storage");
    CHECK_THAT(error_field(refused.body, "message"), Contains("memory"));
    CHECK(ids.size() >= 5);
    // Redis checks maxmemory before a command, against a figure that moves
    // with its buffers: a submission right after a refusal may still fit.
    // The store stays full: within three more tries it refuses again, and
    // whatever it took is counted below like the rest.
    auto [late, refused_again] = fill(port, job, 3);
    INFO(refused_again.body);
    CHECK(refused_again.status == 507);
    CHECK(late.size() <= 2);
    ids.insert(ids.end(), late.begin(), late.end());

    // Nothing was evicted: every accepted job is there, queued.
    CHECK(info_field(redis, "stats", "evicted_keys") == 0);
    for (const auto& id : ids) CHECK(json_field(http(port, "GET", "/v1/jobs/" + id).body, "status") == "queued");
    CHECK_THAT(http(port, "GET", "/metrics").body, Contains("execd_cluster_queue_depth " + std::to_string(ids.size())));

    // Cancelling works while Redis is full, and frees the room it held.
    for (size_t i = 0; i < 5; ++i) CHECK(http(port, "DELETE", "/v1/jobs/" + ids[i]).status == 200);
    auto again = http(port, "POST", "/v1/jobs", job);
    INFO(again.body);
    CHECK(again.status == 202);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("the private redis-server runs with maxmemory and noeviction; when full, workers still finish jobs",
          "[daemon]") {
    const std::string state = make_temp_dir("execd-maxmemory");
    {
        // The default is set too.
        Execd plain({"--state-dir", state + "/plain", "--role", "api"});
        execd::daemon::RedisConnection c("unix://" + state + "/plain/redis.sock");
        CHECK(config_get(c, "maxmemory") == std::to_string(int64_t{1024} << 20));
        CHECK(config_get(c, "maxmemory-policy") == "noeviction");
        CHECK(plain.stop(SIGTERM) == 0);
    }
    Execd api({"--state-dir", state + "/small", "--role", "api", "--redis-maxmemory-mb", "4"});
    const std::string socket = "unix://" + state + "/small/redis.sock";
    execd::daemon::RedisConnection c(socket);
    CHECK(config_get(c, "maxmemory") == std::to_string(4 << 20));
    CHECK(config_get(c, "maxmemory-policy") == "noeviction");

    auto [ids, refused] = fill(api.port(), big_job(100'000));
    INFO(refused.body);
    REQUIRE(refused.status == 507);
    CHECK(error_field(refused.body, "code") == "insufficient_storage");
    REQUIRE(!ids.empty());

    // A worker joins the full Redis: it takes, runs and records every job.
    Execd worker({"--redis", socket, "--role", "worker", "--workers", "1"}, true);
    for (const auto& id : ids) {
        auto done = wait_done(api.port(), id, 60);
        CHECK(json_field(done.body, "verdict") == "OK");
    }
    auto after = http(api.port(), "POST", "/v1/jobs", big_job(100'000, 7));
    INFO(after.body);
    REQUIRE(after.status == 202);
    CHECK(json_field(wait_done(api.port(), json_field(after.body, "jobId"), 60).body, "output") == "7");
    CHECK(worker.stop(SIGTERM) == 0);
    CHECK(api.stop(SIGTERM) == 0);
}

TEST_CASE("queued bytes are bounded: 429 with the JSON error, none evicted, room again once jobs leave", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api", "--queue-max-bytes", "600000"});
    const int port = execd.port();
    const std::string job = big_job(100'000);  // about 135 kB stored (base64)

    auto [ids, refused] = fill(port, job);
    INFO(refused.body);
    REQUIRE(refused.status == 429);
    CHECK(error_field(refused.body, "code") == "queue_full");
    CHECK_THAT(error_field(refused.body, "message"), Contains("600000 bytes"));
    CHECK(ids.size() == 4);
    // A batch that does not fit is refused whole.
    auto batch = http(port, "POST", "/v1/jobs/batch", R"J({"jobs":[)J" + job + "," + job + "]}");
    CHECK(batch.status == 429);
    // A job that could never fit says so instead of "try later".
    auto huge = http(port, "POST", "/v1/jobs", big_job(500'000));
    CHECK(huge.status == 413);
    CHECK_THAT(error_field(huge.body, "message"), Contains("600000"));

    CHECK(redis.command({"KEYS", prefix + "job:*"}).elements.size() == ids.size());
    for (const auto& id : ids) CHECK(redis.command({"HGET", prefix + "job:" + id, "status"}).string == "queued");

    CHECK(http(port, "DELETE", "/v1/jobs/" + ids[0]).status == 200);
    auto again = http(port, "POST", "/v1/jobs", job);
    CHECK(again.status == 202);
    ids[0] = json_field(again.body, "jobId");
    // The count of bytes follows the jobs exactly: back to 0 when none is left.
    for (const auto& id : ids) CHECK(http(port, "DELETE", "/v1/jobs/" + id).status == 200);
    CHECK(redis.command({"GET", prefix + "queued_bytes"}).string == "0");
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("a job still queued after queue_ttl_s ends cancelled with reason expired; a running one is never expired",
          "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--queue-ttl", "1"});
    const int port = execd.port();
    // The only worker is busy well past the age limit...
    auto slow =
        http(port, "POST", "/v1/jobs",
             R"J({"language":"python","code":"import time\ntime.sleep(3)\nprint('slept')","timeoutMs":10000})J");
    REQUIRE(slow.status == 202);
    const std::string running = json_field(slow.body, "jobId");
    wait_running(port, running);
    // ... so this one waits in the queue longer than it may.
    const auto t0 = steady_clock::now();
    auto queued = http(port, "POST", "/v1/jobs", R"J({"language":"python","code":"print(1)"})J");
    REQUIRE(queued.status == 202);
    const std::string waiting = json_field(queued.body, "jobId");
    CHECK(json_field(http(port, "GET", "/v1/jobs/" + waiting).body, "status") == "queued");

    auto expired = wait_done(port, waiting, 60);
    INFO(expired.body);
    CHECK(steady_clock::now() - t0 >= milliseconds(1000));
    CHECK(json_field(expired.body, "status") == "cancelled");
    CHECK(json_field(expired.body, "reason") == "expired");
    CHECK_THAT(json_field(expired.body, "message"), Contains("1 s"));
    CHECK(redis.command({"HEXISTS", prefix + "job:" + waiting, "request"}).integer == 0);

    auto done = wait_done(port, running, 60);
    CHECK(json_field(done.body, "status") == "completed");
    CHECK(json_field(done.body, "output") == "slept");
    const std::string metrics = http(port, "GET", "/metrics").body;
    CHECK_THAT(metrics,
               Contains("execd_cluster_jobs_total{status=\"expired\"} 1") && Contains("execd_cluster_queue_depth 0"));
    CHECK(redis.command({"GET", prefix + "queued_bytes"}).string == "0");
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("a shared Redis that evicts keys draws a warning at start", "[daemon]") {
    RedisServer redis;
    redis.command({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--role", "api"});
    CHECK_THAT(read_text(execd.log_path()), Contains("maxmemory-policy allkeys-lru"));
    CHECK(execd.stop(SIGTERM) == 0);
    redis.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
    Execd quiet({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--role", "api"});
    CHECK_THAT(read_text(quiet.log_path()), !Contains("maxmemory-policy"));
    CHECK(quiet.stop(SIGTERM) == 0);
}
