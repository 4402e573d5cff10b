// execd between itself and Redis: connections cut in the middle of its
// scripts (a relay that closes them before a command reaches Redis, or after
// Redis ran it and before the reply gets back), and a node killed the moment
// its pop's reply arrives. Real execd processes, a real redis-server.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/lua_scripts.h"
#include "daemon/redis.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/daemon/redis_proxy.h"
#include "tests/support.h"

using namespace execd::test;
using namespace std::chrono;

namespace {

std::string python_printing(int n) {
    return R"J({"language":"python","code":"print()J" + std::to_string(n) + R"J()"})J";
}

// How often `needle` occurs in `text`.
size_t occurrences(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("a node whose Redis connection is cut at every third script still runs each job once, first time",
          "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    RedisProxy proxy(port_of(redis.url()));
    const auto when = GENERATE(RedisProxy::Cut::After, RedisProxy::Cut::Before);
    INFO((when == RedisProxy::Cut::Before ? "cut before Redis runs it" : "cut after, the reply lost"));
    // Every third script call of the API and the workers, submit, pop,
    // renew, complete-and-take-next alike, is cut; the one sent again after
    // it never is (the count is over all connections, and n > 1).
    Execd execd({"--redis", proxy.url(), "--key-prefix", prefix, "--workers", "2", "--lease-ms", "3000"});
    proxy.cut_every(3, "EVALSHA", when);

    std::vector<std::string> ids;
    for (int i = 0; i < 24; ++i) ids.push_back(submit(execd.port(), python_printing(i)));
    for (size_t i = 0; i < ids.size(); ++i) {
        auto done = wait_done(execd.port(), ids[i]);
        INFO(done.body);
        CHECK(json_field(done.body, "status") == "completed");
        CHECK(json_field(done.body, "verdict") == "OK");
        CHECK(json_field(done.body, "output") == std::to_string(i));
        // Never stranded by a lost reply, so never run twice.
        CHECK(redis.command({"HGET", prefix + "job:" + ids[i], "attempts"}).string == "1");
    }
    proxy.cut_every(0, "", when);
    CHECK(proxy.cuts() >= 20);
    INFO("cuts: " << proxy.cuts());

    // Queued once each, recorded once each, counted once each.
    CHECK(redis.command({"GET", prefix + "seq"}).string == "24");
    CHECK(redis.command({"HGET", prefix + "stats", "status:completed"}).string == "24");
    CHECK(redis.command({"HGET", prefix + "stats", "verdict:OK"}).string == "24");
    CHECK(redis.command({"ZCARD", prefix + "running"}).integer == 0);
    CHECK(redis.command({"ZCARD", prefix + "queue"}).integer == 0);
    // A job's result can be in Redis before its worker knows (the reply
    // lost, the script sent again): the node's own count and log catch up
    // within moments.
    const std::string all_counted = R"(execd_jobs_total{status="completed"} 24)";
    std::string metrics;
    for (int i = 0; i < 100; ++i) {
        metrics = http(execd.port(), "GET", "/metrics").body;
        if (metrics.find(all_counted) != std::string::npos) break;
        std::this_thread::sleep_for(milliseconds(50));
    }
    CHECK_THAT(metrics, Catch::Matchers::Contains(all_counted));
    const std::string log = read_text(execd.log_path());
    for (const auto& id : ids) {
        INFO(id);
        CHECK(occurrences(log, "job " + id + " completed OK") == 1);
        CHECK(occurrences(log, "job " + id + " started") == 1);
    }
    {
        std::string lost;  // the lines that say so, and each job's lines before them
        std::istringstream lines(log);
        for (std::string line; std::getline(lines, line);)
            if (line.find("lease lost") != std::string::npos) lost += line + "\n";
        INFO(lost);
        CHECK(lost.empty());
    }
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("a node killed as its pop's reply arrives: the job runs once more elsewhere once the lease lapses",
          "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd api({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api"});
    const std::string id = submit(api.port(), python_printing(7));

    // Node A takes jobs through the relay, which kills it once Redis has
    // answered its pop with a job: the job is leased to A, and A never
    // hears of it.
    RedisProxy proxy(port_of(redis.url()));
    const std::string pop_sha =
        execd::daemon::Script(std::string(execd::daemon::lua::kPrelude) + execd::daemon::lua::kPop).sha;
    // Loaded, so that A's pops are EVALSHA with this SHA from the first.
    REQUIRE(redis.command({"SCRIPT", "LOAD", std::string(execd::daemon::lua::kPrelude) + execd::daemon::lua::kPop})
                .string == pop_sha);
    std::atomic<pid_t> victim{-1};
    std::atomic<bool> killed{false};
    proxy.on_reply(pop_sha, [&](const std::string& reply) {
        if (reply.rfind("*6\r\n", 0) != 0 || killed) return;
        // A may pop before its constructor has returned its pid: the reply
        // is held here, unsent, until the pid is known.
        for (int i = 0; i < 500 && victim <= 0; ++i) std::this_thread::sleep_for(milliseconds(10));
        if (victim > 0 && !killed.exchange(true)) ::kill(victim, SIGKILL);
    });
    Execd a({"--redis", proxy.url(), "--key-prefix", prefix, "--role", "worker", "--workers", "1", "--lease-ms", "2000",
             "--node-name", "A"},
            /*worker_only=*/true);
    victim = a.pid();
    for (int i = 0; i < 250 && !killed; ++i) std::this_thread::sleep_for(milliseconds(20));
    REQUIRE(killed);
    CHECK(a.stop(SIGKILL) == 128 + SIGKILL);
    CHECK(redis.command({"HGET", prefix + "job:" + id, "status"}).string == "running");
    CHECK(redis.command({"HGET", prefix + "job:" + id, "worker"}).string == "A/0");

    // Node B finds the lease lapsed, and runs the job: attempt 2, one result.
    Execd b({"--redis", redis.url(), "--key-prefix", prefix, "--role", "worker", "--workers", "1", "--lease-ms", "2000",
             "--node-name", "B"},
            /*worker_only=*/true);
    auto done = wait_done(api.port(), id);
    INFO(done.body);
    CHECK(json_field(done.body, "output") == "7");
    CHECK(redis.command({"HGET", prefix + "job:" + id, "attempts"}).string == "2");
    CHECK(redis.command({"HGET", prefix + "job:" + id, "worker"}).string == "B/0");
    CHECK(redis.command({"HGET", prefix + "stats", "status:completed"}).string == "1");
    CHECK(occurrences(read_text(b.log_path()), "job " + id + " completed OK") == 1);
    CHECK(b.stop(SIGTERM) == 0);
    CHECK(api.stop(SIGTERM) == 0);
}
