// execd end to end: a real redis-server and real execd processes on free
// loopback ports, talked to over HTTP.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

const char* kSeedExample =
    R"J({"language":"python","code":"print(2 + 2)","priority":10,"timeoutMs":3000,"metadata":{}})J";

}  // namespace

TEST_CASE("the seed's examples work verbatim", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "2"});

    auto r = http(execd.port(), "POST", "/v1/jobs", kSeedExample);
    INFO(r.body);
    REQUIRE(r.status == 202);
    const std::string id = json_field(r.body, "jobId");
    CHECK(id.size() == 32);
    CHECK(json_field(r.body, "status") == "queued");

    auto done = wait_done(execd.port(), id);
    INFO(done.body);
    CHECK(json_field(done.body, "status") == "completed");
    CHECK(json_field(done.body, "output") == "4");
    CHECK(json_field(done.body, "exitCode") == "0");
    CHECK(json_field(done.body, "verdict") == "OK");

    const std::string loop = submit(execd.port(), python_job("while True: pass", R"J(,"timeoutMs":1000)J"));
    auto tle = wait_done(execd.port(), loop);
    INFO(tle.body);
    CHECK(json_field(tle.body, "status") == "completed");
    CHECK(json_field(tle.body, "error") == "Time Limit Exceeded (program ran too long)");
    CHECK(json_field(tle.body, "exitCode") == "124");
    CHECK(json_field(tle.body, "verdict") == "TimeLimitExceeded");

    // Ids are unguessable: 128 random bits, never sequential.
    std::set<std::string> ids{id, loop};
    for (int i = 0; i < 5; ++i) ids.insert(submit(execd.port(), kSeedExample));
    CHECK(ids.size() == 7);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("bad requests get a 4xx JSON error naming the problem; the daemon stays healthy", "[daemon]") {
    RedisServer redis;
    Execd execd(
        {"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1", "--body-max-bytes", "100000"});
    struct Case {
        std::string body;
        int status;
        std::string field;
        std::string message_part;
    };
    const std::vector<Case> cases{
        {"{not json", 400, "", "not valid JSON"},
        {"[1,2]", 400, "", "must be a JSON object"},
        {R"J({"language":5,"code":"x"})J", 400, "language", "must be a string"},
        {R"J({"language":"python","code":5})J", 400, "code", "must be a string"},
        {R"J({"language":"python","code":"x","stdin":[]})J", 400, "stdin", "must be a string"},
        {R"J({"language":"python","code":"x","args":"a"})J", 400, "args", "array"},
        {R"J({"language":"python","code":"x","priority":"high"})J", 400, "priority", "integer"},
        {R"J({"language":"python","code":"x","timeoutMs":"3000"})J", 400, "timeoutMs", "integer"},
        {R"J({"language":"python","code":"x","timeoutMs":2.5})J", 400, "timeoutMs", "integer"},
        {R"J({"language":"python","code":"x","metadata":[]})J", 400, "metadata", "object"},
        {R"J({"language":"klingon","code":"x"})J", 400, "language", "unknown language"},
        {R"J({"code":"x"})J", 400, "language", "required"},
        {R"J({"language":"python"})J", 400, "code", "exactly one"},
        {R"J({"language":"python","code":"x","colour":1})J", 400, "colour", "unknown field"},
        {R"J({"language":"python","code":"x","timeoutMs":-5})J", 400, "timeoutMs", "at least 1"},
        {R"J({"language":"python","code":"x","timeoutMs":999999999})J", 400, "timeoutMs", "at most 30000"},
        {R"J({"language":"python","code":"x","memoryMb":4096})J", 400, "memoryMb", "at most 1024"},
        {R"J({"language":"python","code":"x","pids":0})J", 400, "pids", "at least 1"},
        {R"J({"language":"python","code":"x","outputBytes":99999999999})J", 400, "outputBytes", "at most"},
        {R"J({"language":"python","files":[{"name":"../main.py","content":"x"}]})J", 400, "files[0].name",
         "not allowed"},
        {R"J({"language":"python","files":[{"name":"a/b/main.py","content":"x"}]})J", 400, "files[0].name",
         "not allowed"},
        {R"J({"language":"python","files":[{"name":"..","content":"x"}]})J", 400, "files[0].name", "not allowed"},
        {R"J({"language":"python","files":[{"name":"ma\u0000in.py","content":"x"}]})J", 400, "files[0].name",
         "not allowed"},
        {R"J({"language":"python","files":[{"name":"other.py","content":"x"}]})J", 400, "files", "main.py"},
        {R"J({"language":"python","code":"!!!","encoding":"base64"})J", 400, "code", "base64"},
        {R"J({"language":"python","code":"cHJpbnQoMSk=","stdin":"a=b=","encoding":"base64"})J", 400, "stdin", "base64"},
        {R"J({"language":"python","code":"x","encoding":"rot13"})J", 400, "encoding", "base64"},
    };
    for (const auto& c : cases) {
        auto r = http(execd.port(), "POST", "/v1/jobs", c.body);
        INFO(c.body << " -> " << r.status << " " << r.body);
        CHECK(r.status == c.status);
        CHECK(error_field(r.body, "field") == c.field);
        CHECK_THAT(error_field(r.body, "message"), Contains(c.message_part));
    }
    // Not JSON at all, too big, unknown ids and endpoints.
    auto media = http(execd.port(), "POST", "/v1/jobs", kSeedExample, {{"Content-Type", "text/plain"}});
    CHECK(media.status == 415);
    CHECK(error_field(media.body, "code") == "unsupported_media_type");
    auto big = http(execd.port(), "POST", "/v1/jobs", python_job(std::string(200000, 'x')));
    CHECK(big.status == 413);
    CHECK(error_field(big.body, "code") == "body_too_large");
    CHECK(http(execd.port(), "GET", "/v1/jobs/0123456789abcdef0123456789abcdef").status == 404);
    CHECK(http(execd.port(), "GET", "/v1/jobs/../../etc/passwd").status == 404);
    CHECK(http(execd.port(), "GET", "/v1/nothing").status == 404);
    CHECK(http(execd.port(), "PUT", "/v1/jobs").status == 405);
    CHECK(http(execd.port(), "GET", "/v1/jobs/0123456789abcdef0123456789abcdef?wait=soon").status == 400);

    // Still healthy: it answers and runs a job, base64 both ways.
    CHECK(http(execd.port(), "GET", "/healthz").status == 200);
    CHECK(http(execd.port(), "GET", "/readyz").status == 200);
    const std::string id =
        submit(execd.port(), R"J({"language":"python","code":"cHJpbnQoMiArIDIp","encoding":"base64"})J");
    auto done = wait_done(execd.port(), id);
    CHECK(json_field(done.body, "stdout") == "NAo=");
    CHECK(json_field(done.body, "encoding") == "base64");
    // Output that is not UTF-8 still makes valid JSON.
    const std::string raw = submit(execd.port(), python_job("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe')"));
    auto raw_done = wait_done(execd.port(), raw);
    CHECK(json_field(raw_done.body, "stdout") == "ok \xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("API tokens: Bearer or X-Auth-Token, else 401", "[daemon]") {
    RedisServer redis;
    const std::string token = "s3cret-token-0123456789";
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1", "--token", token});
    auto none = http(execd.port(), "POST", "/v1/jobs", kSeedExample);
    CHECK(none.status == 401);
    CHECK(error_field(none.body, "code") == "unauthorized");
    auto wrong = http(execd.port(), "POST", "/v1/jobs", kSeedExample,
                      {{"Content-Type", "application/json"}, {"Authorization", "Bearer nope"}});
    CHECK(wrong.status == 401);
    auto bearer = http(execd.port(), "POST", "/v1/jobs", kSeedExample,
                       {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
    CHECK(bearer.status == 202);
    auto judge0 = http(execd.port(), "POST", "/v1/jobs", kSeedExample,
                       {{"Content-Type", "application/json"}, {"X-Auth-Token", token}});
    CHECK(judge0.status == 202);
    CHECK(http(execd.port(), "GET", "/v1/languages").status == 401);
    CHECK(http(execd.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("execd refuses to listen beyond loopback without tokens", "[daemon]") {
    const std::string dir = make_temp_dir("execd-refuse");
    auto p = run_process({EXECD_DAEMON_BINARY, "--listen", "0.0.0.0:0", "--state-dir", dir});
    CHECK(p.exit_code == 2);
    CHECK_THAT(p.err, Contains("beyond loopback") && Contains("tokens"));
}

TEST_CASE("a job of priority 1 submitted after ten of priority 10 runs before them", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1"});
    const std::string busy = submit(execd.port(), python_job("import time\ntime.sleep(1.5)"));
    // Wait until the only worker holds it.
    for (int i = 0; i < 200 && json_field(http(execd.port(), "GET", "/v1/jobs/" + busy).body, "status") != "running";
         ++i)
        std::this_thread::sleep_for(milliseconds(20));
    std::vector<std::string> low;
    for (int i = 0; i < 10; ++i) low.push_back(submit(execd.port(), python_job("print(1)", R"J(,"priority":10)J")));
    const std::string urgent = submit(execd.port(), python_job("print(1)", R"J(,"priority":1)J"));
    for (const auto& id : low) wait_done(execd.port(), id);
    wait_done(execd.port(), urgent);
    auto started = [&](const std::string& id) {
        return std::stoll(redis.command({"HGET", prefix + "job:" + id, "started_ms"}).string);
    };
    const long long urgent_start = started(urgent);
    for (const auto& id : low) CHECK(urgent_start <= started(id));
    // FIFO within one priority.
    for (size_t i = 1; i < low.size(); ++i) CHECK(started(low[i - 1]) <= started(low[i]));
}

TEST_CASE("POST /v1/jobs?wait=MS answers with the finished job, or 202 when it runs longer", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    const int port = execd.port();

    // Finished within the wait: 200 and the document GET gives, with its id.
    auto r = http(port, "POST", "/v1/jobs?wait=30000", python_job("print(6 * 7)"),
                  {{"Content-Type", "application/json"}, {"X-Request-Id", "post-wait-1"}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const std::string id = json_field(r.body, "jobId");
    CHECK(id.size() == 32);
    CHECK(json_field(r.body, "status") == "completed");
    CHECK(json_field(r.body, "verdict") == "OK");
    CHECK(json_field(r.body, "output") == "42");
    CHECK(json_field(r.body, "requestId") == "post-wait-1");
    auto again = http(port, "GET", "/v1/jobs/" + id);
    CHECK(again.status == 200);
    for (const char* field : {"status", "verdict", "output", "stdout", "exitCode", "timeMs", "requestId"})
        CHECK(json_field(again.body, field) == json_field(r.body, field));

    // Longer than the wait: 202 with its id and its state then; it goes on.
    const auto t0 = steady_clock::now();
    auto slow = http(port, "POST", "/v1/jobs?wait=700", python_job("import time\ntime.sleep(2)\nprint('late')"));
    INFO(slow.body);
    REQUIRE(slow.status == 202);
    CHECK(steady_clock::now() - t0 < milliseconds(1900));
    CHECK(steady_clock::now() - t0 >= milliseconds(650));
    const std::string status = json_field(slow.body, "status");
    CHECK((status == "queued" || status == "running"));
    auto late = wait_done(port, json_field(slow.body, "jobId"));
    INFO(late.body);
    CHECK(json_field(late.body, "verdict") == "OK");
    CHECK(json_field(late.body, "output") == "late");

    // ?wait=0 is a plain submit.
    auto plain = http(port, "POST", "/v1/jobs?wait=0", python_job("print(1)"));
    CHECK(plain.status == 202);
    CHECK(json_field(plain.body, "status") == "queued");
    wait_done(port, json_field(plain.body, "jobId"));

    // A bad wait is refused before anything is queued.
    const std::string before = http(port, "GET", "/metrics").body;
    for (const char* bad : {"abc", "-1", "1e3", ""}) {
        auto b = http(port, "POST", std::string("/v1/jobs?wait=") + bad, python_job("print(1)"));
        INFO(bad << ": " << b.body);
        CHECK(b.status == 400);
        CHECK(error_field(b.body, "field") == "wait");
    }
    auto submitted = [](const std::string& metrics) {
        const std::string name = "\nexecd_jobs_submitted_total ";
        const auto at = metrics.find(name);
        return at == std::string::npos
                   ? std::string("none")
                   : metrics.substr(at + name.size(), metrics.find('\n', at + 1) - at - name.size());
    };
    CHECK(submitted(before) == "3");
    CHECK(submitted(http(port, "GET", "/metrics").body) == "3");
}

TEST_CASE("cancel: a queued job at once, a running one promptly", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    const std::string running =
        submit(execd.port(), python_job("import time\ntime.sleep(20)", R"J(,"timeoutMs":25000)J"));
    for (int i = 0; i < 200 && json_field(http(execd.port(), "GET", "/v1/jobs/" + running).body, "status") != "running";
         ++i)
        std::this_thread::sleep_for(milliseconds(20));
    const std::string queued = submit(execd.port(), kSeedExample);
    auto q = http(execd.port(), "DELETE", "/v1/jobs/" + queued);
    CHECK(q.status == 200);
    CHECK(json_field(http(execd.port(), "GET", "/v1/jobs/" + queued).body, "status") == "cancelled");
    const auto t0 = steady_clock::now();
    auto r = http(execd.port(), "DELETE", "/v1/jobs/" + running);
    CHECK(r.status == 202);
    auto done = wait_done(execd.port(), running);
    CHECK(json_field(done.body, "status") == "cancelled");
    CHECK(steady_clock::now() - t0 < seconds(10));
    CHECK(http(execd.port(), "DELETE", "/v1/jobs/" + running).status == 409);
    CHECK(box_uid_processes_after(test_uid_base()).empty());
}

TEST_CASE("SIGTERM during a run finishes that job and exits 0", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1"});
    const std::string id = submit(execd.port(), python_job("import time\ntime.sleep(1)\nprint('finished')"));
    wait_running(execd.port(), id, 4);
    CHECK(execd.stop(SIGTERM) == 0);
    CHECK(redis.command({"HGET", prefix + "job:" + id, "status"}).string == "completed");
    CHECK_THAT(redis.command({"HGET", prefix + "job:" + id, "result"}).string, Contains("finished"));
}

TEST_CASE("with no Redis configured execd runs its own and keeps queued jobs across restarts", "[daemon]") {
    const std::string state = make_temp_dir("execd-private");
    std::vector<std::string> ids;
    {
        Execd execd({"--state-dir", state, "--workers", "1"});
        const std::string first = submit(execd.port(), kSeedExample);
        CHECK(json_field(wait_done(execd.port(), first).body, "output") == "4");
        // Queue jobs behind a slow one, then stop before they can run.
        submit(execd.port(), python_job("import time\ntime.sleep(1)"));
        for (int i = 0; i < 5; ++i) ids.push_back(submit(execd.port(), python_job("print(" + std::to_string(i) + ")")));
        CHECK(execd.stop(SIGTERM) == 0);
    }
    // Its redis-server went with it.
    CHECK(host_mounts_mentioning(state).empty());
    std::string procs = run_process({"/usr/bin/pgrep", "-f", state + "/redis.sock"}).out;
    CHECK(procs.empty());

    Execd again({"--state-dir", state, "--workers", "1"});
    for (size_t i = 0; i < ids.size(); ++i) {
        auto done = wait_done(again.port(), ids[i]);
        CHECK(json_field(done.body, "output") == std::to_string(i));
    }
    CHECK(again.stop(SIGTERM) == 0);
}

TEST_CASE("metrics and languages", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    wait_done(execd.port(), submit(execd.port(), kSeedExample));
    auto m = http(execd.port(), "GET", "/metrics");
    CHECK(m.status == 200);
    CHECK_THAT(m.body, Contains("execd_job_verdicts_total{verdict=\"OK\"} 1") &&
                           Contains("execd_cluster_job_verdicts_total{verdict=\"OK\"} 1") &&
                           Contains("execd_cluster_queue_depth 0") && Contains("execd_job_run_seconds_bucket") &&
                           Contains("execd_workers 1"));
    auto l = http(execd.port(), "GET", "/v1/languages");
    CHECK(l.status == 200);
    CHECK_THAT(l.body, Contains("\"id\":\"python\"") && Contains("\"usable\":true"));
    // Each with its version, packages and default limits, as exec languages --json says.
    CHECK_THAT(l.body, Contains(R"J("version":"Python 3.)J") && Contains(R"J("packages":["python3"])J"));
    CHECK_THAT(l.body,
               Contains(R"J("limits":{"timeMs":3000,"cpuMs":3000,"memoryMb":128,"pids":50,"outputBytes":4096})J"));
    CHECK_THAT(l.body,
               Contains(R"J("id":"cpp20","name":"C++ (G++, GNU C++20)")J") && Contains(R"J("variantOf":"cpp")J"));
    CHECK_THAT(l.body, Contains(R"J("compileLimits":{"timeMs":15000,"cpuMs":15000,"memoryMb":512,"pids":32)J"));
}

TEST_CASE("two nodes share a burst; kill -9 of one mid-job: the other finishes it, attempts = 2, one result",
          "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd a(
        {"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--lease-ms", "2000", "--node-name", "A"});
    const std::string id =
        submit(a.port(), python_job("import time\ntime.sleep(3)\nprint('finished')", R"J(,"timeoutMs":10000)J"));
    wait_running(a.port(), id, 6);
    REQUIRE(redis.command({"HGET", prefix + "job:" + id, "worker"}).string == "A/0");
    Execd b(
        {"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--lease-ms", "2000", "--node-name", "B"});
    CHECK(a.stop(SIGKILL) == 128 + SIGKILL);

    auto done = wait_done(b.port(), id);
    INFO(done.body);
    CHECK(json_field(done.body, "output") == "finished");
    CHECK(redis.command({"HGET", prefix + "job:" + id, "attempts"}).string == "2");
    CHECK(redis.command({"HGET", prefix + "job:" + id, "worker"}).string == "B/0");
    CHECK(redis.command({"HGET", prefix + "stats", "status:completed"}).string == "1");

    // A burst submitted through B runs on both B and a fresh node C.
    Execd c({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--node-name", "C"});
    std::vector<std::string> burst;
    for (int i = 0; i < 16; ++i) burst.push_back(submit(b.port(), python_job("import time\ntime.sleep(0.2)")));
    std::set<std::string> nodes;
    for (const auto& j : burst) {
        wait_done(c.port(), j);
        nodes.insert(redis.command({"HGET", prefix + "job:" + j, "worker"}).string);
    }
    CHECK(nodes.count("B/0") == 1);
    CHECK(nodes.count("C/0") == 1);
    CHECK(box_uid_processes_after(test_uid_base()).empty());
}

TEST_CASE("500 concurrent submissions all complete, none lost or duplicated", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "2"});
    constexpr int kThreads = 10, kEach = 50;
    std::vector<std::vector<std::string>> ids(kThreads);
    std::vector<std::thread> clients;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t)
        clients.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                auto r =
                    http(execd.port(), "POST", "/v1/jobs", python_job("print(" + std::to_string(t * kEach + i) + ")"));
                if (r.status != 202) ++failures;
                ids[t].push_back(json_field(r.body, "jobId"));
            }
        });
    for (auto& c : clients) c.join();
    CHECK(failures == 0);
    std::set<std::string> unique;
    for (int t = 0; t < kThreads; ++t)
        for (int i = 0; i < kEach; ++i) {
            unique.insert(ids[t][i]);
            auto done = wait_done(execd.port(), ids[t][i], 300);
            CHECK(json_field(done.body, "output") == std::to_string(t * kEach + i));
        }
    CHECK(unique.size() == kThreads * kEach);
    CHECK(redis.command({"HGET", prefix + "stats", "status:completed"}).string == std::to_string(kThreads * kEach));
    CHECK(redis.command({"ZCARD", prefix + "queue"}).integer == 0);
    CHECK(redis.command({"ZCARD", prefix + "running"}).integer == 0);
}

TEST_CASE("restarting Redis under load: 503 during the gap, reconnect, no accepted job lost", "[daemon]") {
    RedisServer redis(/*append_only=*/true);
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "2"});
    std::vector<std::string> accepted;
    for (int i = 0; i < 20; ++i)
        accepted.push_back(
            submit(execd.port(), python_job("import time\ntime.sleep(0.1)\nprint(" + std::to_string(i) + ")")));
    redis.stop();
    auto gap = http(execd.port(), "POST", "/v1/jobs", kSeedExample);
    CHECK(gap.status == 503);
    CHECK(error_field(gap.body, "code") == "unavailable");
    CHECK(http(execd.port(), "GET", "/readyz").status == 503);
    CHECK(http(execd.port(), "GET", "/healthz").status == 200);
    std::this_thread::sleep_for(milliseconds(500));
    redis.start();
    accepted.push_back(submit(execd.port(), kSeedExample));
    for (size_t i = 0; i < accepted.size(); ++i) {
        auto done = wait_done(execd.port(), accepted[i], 120);
        INFO(done.body);
        CHECK(json_field(done.body, "status") == "completed");
        CHECK(json_field(done.body, "verdict") == "OK");
    }
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("Redis away for seconds: the idle worker, the lease keeper and the reaper log it once, then the recovery",
          "[daemon]") {
    RedisServer redis(/*append_only=*/true);
    const std::string prefix = unique_prefix();
    // Leases renewed every 1.5 s: two renewals fail in the gap, and the
    // lease (6 s) outlasts it.
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "2", "--lease-ms", "6000"});
    const int port = execd.port();
    CHECK(json_field(wait_done(port, submit(port, kSeedExample)).body, "output") == "4");
    // One worker runs through the gap, the other waits for work.
    const std::string held =
        submit(port, python_job("import time\ntime.sleep(5)\nprint('held')", ",\"timeoutMs\":15000"));
    REQUIRE(wait_running(port, held));
    // The idle worker and the reaper try again every half second: six tries each.
    redis.stop();
    std::this_thread::sleep_for(milliseconds(3000));
    redis.start();
    CHECK(json_field(wait_done(port, held).body, "output") == "held");
    CHECK(redis.command({"HGET", prefix + "job:" + held, "attempts"}).string == "1");  // its lease held
    CHECK(json_field(wait_done(port, submit(port, kSeedExample)).body, "output") == "4");
    // The reaper's recovery is logged on its next tick.
    std::this_thread::sleep_for(milliseconds(1000));
    CHECK(execd.stop(SIGTERM) == 0);

    const std::string log = read_text(execd.log_path());
    auto count = [&log](const std::string& text) {
        int n = 0;
        for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
        return n;
    };
    INFO(log);
    const int failed = count(": cannot take a job: ");
    CHECK(failed >= 1);
    CHECK(failed <= 2);
    CHECK(count("still cannot take a job") == 0);  // that comes after a minute
    CHECK(count(": takes jobs again, after ") == failed);
    CHECK(count(": cannot renew lease: ") == 1);
    CHECK(count("leases renewed again, after ") == 1);
    CHECK(count("reaper: works again, after ") == 1);
    CHECK(count("reaper: ") == 2);  // the failure, then the recovery
}

TEST_CASE("exec through a server prints what --local prints, for every language", "[daemon][every-language]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "2"});
    const std::string server = "http://127.0.0.1:" + std::to_string(execd.port());
    const std::string langs = EXECD_SOURCE_DIR "/languages.toml";
    const auto& registry = repo_registry();
    // One daemon for all of them: a section would start the test case, and
    // so a Redis and an execd, again for each language.
    for (const auto& lang : registry.languages()) {
        INFO("language " << lang.id);
        const std::string file = language_sample(lang, "hello");
        REQUIRE_FALSE(file.empty());
        // By id: a variant (cpp20, chicken) is never chosen by extension.
        auto local = run_process(
            {EXECD_EXEC_BINARY, "--languages", langs, "--local", "run", "--lang", lang.id, "--time", "10000", file});
        auto remote = run_process({EXECD_EXEC_BINARY, "--languages", langs, "--server", server, "run", "--lang",
                                   lang.id, "--time", "10000", file});
        INFO(local.err << " | " << remote.err);
        CHECK(local.out == "hello\n");
        CHECK(remote.out == local.out);
        CHECK(remote.err == local.err);
        CHECK(remote.exit_code == local.exit_code);
    }
    // Verdicts and exit statuses match too, and --json has the same fields.
    const std::string dir = make_temp_dir("execd-cli-remote");
    const std::string tle = dir + "/loop.py", exit3 = dir + "/exit3.py";
    std::ofstream(tle) << "while True: pass\n";
    std::ofstream(exit3) << "import sys\nprint('out')\nsys.exit(3)\n";
    for (const auto& f : {tle, exit3}) {
        auto local = run_process({EXECD_EXEC_BINARY, "--local", "run", "--time", "1000", f});
        auto remote = run_process({EXECD_EXEC_BINARY, "--server", server, "run", "--time", "1000", f});
        CHECK(remote.out == local.out);
        CHECK(remote.err == local.err);
        CHECK(remote.exit_code == local.exit_code);
        auto lj = run_process({EXECD_EXEC_BINARY, "--local", "run", "--json", "--time", "1000", f});
        auto rj = run_process({EXECD_EXEC_BINARY, "--server", server, "run", "--json", "--time", "1000", f});
        for (const char* field :
             {"status", "language", "verdict", "stdout", "stderr", "exitCode", "output", "error", "message"})
            CHECK(json_field(rj.out, field) == json_field(lj.out, field));
        CHECK(rj.exit_code == lj.exit_code);
    }
    // submit, status, wait, cancel.
    auto id = run_process({EXECD_EXEC_BINARY, "--server", server, "submit", exit3});
    CHECK(id.exit_code == 0);
    const std::string job = id.out.substr(0, id.out.find('\n'));
    CHECK(job.size() == 32);
    auto waited = run_process({EXECD_EXEC_BINARY, "--server", server, "wait", job});
    CHECK(waited.out == "out\n");
    CHECK(waited.exit_code == 3);
    auto status = run_process({EXECD_EXEC_BINARY, "--server", server, "status", job});
    CHECK(json_field(status.out, "verdict") == "RuntimeError");
    auto slow = run_process({EXECD_EXEC_BINARY, "--server", server, "submit", "--time", "20000", tle});
    const std::string slow_id = slow.out.substr(0, slow.out.find('\n'));
    auto cancelled = run_process({EXECD_EXEC_BINARY, "--server", server, "cancel", slow_id});
    CHECK(cancelled.exit_code == 0);
    CHECK((cancelled.out == "cancelled\n" || cancelled.out == "cancelling\n"));
    auto no_server = run_process({EXECD_EXEC_BINARY, "--local", "submit", exit3});
    CHECK(no_server.exit_code == 2);
    CHECK_THAT(no_server.err, Contains("needs a server"));
}

TEST_CASE("--role api and --role worker split the parts across processes", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd api({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api"});
    const std::string id = submit(api.port(), kSeedExample);
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(json_field(http(api.port(), "GET", "/v1/jobs/" + id).body, "status") == "queued");  // nobody runs it yet
    Execd worker({"--redis", redis.url(), "--key-prefix", prefix, "--role", "worker", "--workers", "1"},
                 /*worker_only=*/true);
    CHECK(json_field(wait_done(api.port(), id).body, "output") == "4");
    CHECK(api.stop(SIGTERM) == 0);
    CHECK(worker.stop(SIGTERM) == 0);
}

TEST_CASE("SIGHUP reloads languages.toml and keeps the old one when the new one is invalid", "[daemon]") {
    RedisServer redis;
    const std::string dir = make_temp_dir("execd-reload");
    const std::string file = dir + "/languages.toml";
    const std::string original = read_text(EXECD_SOURCE_DIR "/languages.toml");
    std::ofstream(file) << original;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1", "--languages", file});
    CHECK_THAT(http(execd.port(), "GET", "/v1/languages").body, Contains("\"id\":\"python\""));

    // A new language under a new id: visible after SIGHUP.
    std::ofstream(file) << original
                        << "\n[language.python2x]\nname = \"Python again\"\nextensions = [\"py2x\"]\n"
                           "source = \"main.py\"\nrun = [\"/usr/bin/python3\", \"main.py\"]\n";
    ::kill(execd.pid(), SIGHUP);
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
        seen = http(execd.port(), "GET", "/v1/languages").body.find("python2x") != std::string::npos;
        std::this_thread::sleep_for(milliseconds(50));
    }
    CHECK(seen);
    CHECK(
        json_field(wait_done(execd.port(), submit(execd.port(), R"J({"language":"python2x","code":"print(7)"})J")).body,
                   "output") == "7");

    // A broken file: refused, logged, the previous registry stays.
    std::ofstream(file) << "[language.x]\nname = 5\n";
    ::kill(execd.pid(), SIGHUP);
    std::this_thread::sleep_for(milliseconds(500));
    CHECK_THAT(read_text(execd.log_path()), Contains("keeping the old ones") && Contains("languages.toml:2"));
    CHECK_THAT(http(execd.port(), "GET", "/v1/languages").body, Contains("python2x"));
    CHECK(json_field(wait_done(execd.port(), submit(execd.port(), kSeedExample)).body, "output") == "4");
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("execd tells systemd it is ready through NOTIFY_SOCKET", "[daemon]") {
    RedisServer redis;
    const std::string path = make_temp_dir("execd-notify") + "/notify.sock";
    int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "1000000", 1);
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    std::string received;
    timeval tv{5, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    for (int i = 0; i < 4; ++i) {
        ssize_t n = ::recv(sock, buf, sizeof buf, 0);
        if (n > 0) received.append(buf, static_cast<size_t>(n)).append("\n");
    }
    CHECK_THAT(received, Contains("READY=1") && Contains("WATCHDOG=1"));
    CHECK(execd.stop(SIGTERM) == 0);
    ::close(sock);
}

TEST_CASE("infrastructure failures are retried with backoff, then reported as InternalError", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    const std::string file = make_temp_dir("execd-retry") + "/languages.toml";
    // "./missing" passes the registry's checks but cannot be executed: the
    // sandbox fails at execve, which is the engine's failure, not the program's.
    std::ofstream(file) << read_text(EXECD_SOURCE_DIR "/languages.toml")
                        << "\n[language.broken]\nname = \"Broken\"\nextensions = [\"broken\"]\n"
                           "source = \"main.broken\"\nrun = [\"./missing\"]\n";
    Execd execd(
        {"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--languages", file, "--backoff-ms", "100"});
    const auto t0 = steady_clock::now();
    const std::string id = submit(execd.port(), R"J({"language":"broken","code":"x"})J");
    auto done = wait_done(execd.port(), id);
    INFO(done.body);
    CHECK(json_field(done.body, "verdict") == "InternalError");
    CHECK_THAT(json_field(done.body, "message"), Contains("execve") && Contains("ENOENT"));
    CHECK(redis.command({"HGET", prefix + "job:" + id, "attempts"}).string == "3");
    CHECK(steady_clock::now() - t0 >= milliseconds(300));  // 100 ms, then 200 ms of backoff
    // A verdict on the program is never retried.
    const std::string tle = submit(execd.port(), python_job("while True: pass", R"J(,"timeoutMs":500)J"));
    wait_done(execd.port(), tle);
    CHECK(redis.command({"HGET", prefix + "job:" + tle, "attempts"}).string == "1");
}

TEST_CASE("the private redis-server is restarted if it dies; the API also listens on a unix socket", "[daemon]") {
    const std::string state = make_temp_dir("execd-private-restart");
    const std::string sock = state + "/api.sock";
    Execd execd({"--state-dir", state, "--workers", "1", "--unix-socket", sock});
    CHECK(json_field(wait_done(execd.port(), submit(execd.port(), kSeedExample)).body, "output") == "4");
    auto pids = run_process({"/usr/bin/pgrep", "-f", state + "/redis.sock"}).out;
    REQUIRE_FALSE(pids.empty());
    ::kill(std::stoi(pids), SIGKILL);
    std::string id;
    for (int i = 0; i < 100 && id.empty(); ++i) {
        auto r = http(execd.port(), "POST", "/v1/jobs", kSeedExample);
        if (r.status == 202)
            id = json_field(r.body, "jobId");
        else
            std::this_thread::sleep_for(milliseconds(100));
    }
    REQUIRE_FALSE(id.empty());
    CHECK(json_field(wait_done(execd.port(), id).body, "output") == "4");
    CHECK_THAT(read_text(execd.log_path()), Contains("restarted"));

    // Plain HTTP/1.0 over the unix socket.
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string request = "GET /healthz HTTP/1.0\r\nHost: execd\r\n\r\n";
    REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
    ::close(fd);
    CHECK_THAT(reply, Catch::Matchers::StartsWith("HTTP/1.0 200") && Contains(R"J({"status":"ok"})J"));
    CHECK(execd.stop(SIGTERM) == 0);
}
