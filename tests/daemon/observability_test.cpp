// What an operator reads and turns: /metrics through Prometheus's own
// parser, with counters that add up across nodes; request ids from the
// header to the job document and the log; JSON log lines; CORS answers; the
// version; SIGHUP; a Redis that wants a password.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/version.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;

namespace {

const std::map<std::string, std::string> kJson{{"Content-Type", "application/json"}};

std::string submitted(int port, const std::string& body, std::map<std::string, std::string> headers = kJson) {
    auto r = http(port, "POST", "/v1/jobs", body, headers);
    INFO(r.body);
    REQUIRE(r.status == 202);
    return json_field(r.body, "jobId");
}

std::string finished(int port, const std::string& id) {
    for (int i = 0; i < 30; ++i) {
        auto r = http(port, "GET", "/v1/jobs/" + id + "?wait=2000");
        const std::string status = json_field(r.body, "status");
        if (status == "completed" || status == "cancelled") return r.body;
    }
    FAIL("job " << id << " did not finish");
    return {};
}

// Every sample of a node's /metrics, as prometheus_client's parser reads them:
// "name{k=v,...}" → value. The parse failing fails the test.
std::map<std::string, double> scrape(int port) {
    auto r = http(port, "GET", "/metrics");
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
    const std::string file = make_temp_dir("execd-metrics") + "/metrics.txt";
    std::ofstream(file) << r.body;
    auto parsed = run_process({"/usr/bin/python3", EXECD_SOURCE_DIR "/tests/daemon/prometheus_samples.py", file});
    INFO(parsed.err << "\n" << r.body);
    REQUIRE(parsed.exit_code == 0);
    std::map<std::string, double> samples;
    std::istringstream lines(parsed.out);
    for (std::string line; std::getline(lines, line);) {
        const auto a = line.find('\t'), b = line.rfind('\t');
        REQUIRE((a != std::string::npos && b > a));
        const std::string labels = line.substr(a + 1, b - a - 1);
        samples[line.substr(0, a) + (labels.empty() ? "" : "{" + labels + "}")] = std::stod(line.substr(b + 1));
    }
    return samples;
}

double value(const std::map<std::string, double>& samples, const std::string& key) {
    auto it = samples.find(key);
    return it == samples.end() ? 0 : it->second;
}

// The sum of every sample of `name` (any labels).
double sum_of(const std::map<std::string, double>& samples, const std::string& name) {
    double total = 0;
    for (const auto& [key, v] : samples)
        if (key == name || key.rfind(name + "{", 0) == 0) total += v;
    return total;
}

Poco::JSON::Object::Ptr json_object(const std::string& line) {
    Poco::JSON::Parser parser;
    return parser.parse(line).extract<Poco::JSON::Object::Ptr>();
}

std::string text_of(const Poco::JSON::Object::Ptr& o, const std::string& key) {
    return o->has(key) ? o->getValue<std::string>(key) : "";
}

}  // namespace

TEST_CASE("/metrics parses with Prometheus's parser, and its counters add up over two nodes", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    // An API node with no workers, then a node that also runs jobs.
    Execd api({"--role", "api", "--redis", redis.url(), "--key-prefix", prefix});
    int api_requests = 0;
    auto api_http = [&](const std::string& method, const std::string& path, const std::string& body = {}) {
        ++api_requests;
        return http(api.port(), method, path, body);
    };

    // Nothing runs jobs yet: this one is cancelled while queued.
    const std::string queued =
        json_field(api_http("POST", "/v1/jobs", R"J({"language":"python","code":"print(0)"})J").body, "jobId");
    REQUIRE(api_http("DELETE", "/v1/jobs/" + queued).status == 200);

    Execd both({"--role", "all", "--workers", "1", "--redis", redis.url(), "--key-prefix", prefix});
    std::vector<std::string> ids;
    for (const char* code : {"print(1)", "print(2)", "raise SystemExit(3)"}) {
        auto r = api_http("POST", "/v1/jobs", std::string(R"({"language":"python","code":")") + code + "\"}");
        REQUIRE(r.status == 202);
        ids.push_back(json_field(r.body, "jobId"));
    }
    ids.push_back(submitted(both.port(), R"J({"language":"python","code":"print(4)"})J"));
    for (const auto& id : ids) finished(both.port(), id);
    REQUIRE(api_http("GET", "/v1/jobs/" + ids[0]).status == 200);
    REQUIRE(api_http("GET", "/v1/jobs/0123456789abcdef0123456789abcdef").status == 404);
    REQUIRE(api_http("PATCH", "/v1/jobs").status == 405);

    const auto a = scrape(api.port());
    const auto b = scrape(both.port());

    // This node: what its API answered, each response once (the scrape is
    // counted after it is sent).
    CHECK(sum_of(a, "execd_http_requests_total") == api_requests);
    CHECK(value(a, "execd_http_requests_total{code=202,method=POST}") == 4);
    CHECK(value(a, "execd_http_requests_total{code=200,method=DELETE}") == 1);
    CHECK(value(a, "execd_http_requests_total{code=404,method=GET}") == 1);
    CHECK(value(a, "execd_http_requests_total{code=405,method=PATCH}") == 1);
    CHECK(value(a, "execd_jobs_submitted_total") == 4);
    CHECK(value(b, "execd_jobs_submitted_total") == 1);
    // Jobs and verdicts are counted by the node whose worker ran them.
    CHECK(sum_of(a, "execd_jobs_total") == 0);
    CHECK(value(b, "execd_jobs_total{status=completed}") == 4);
    CHECK(sum_of(b, "execd_jobs_total") == 4);
    CHECK(value(b, "execd_job_verdicts_total{verdict=OK}") == 3);
    CHECK(value(b, "execd_job_verdicts_total{verdict=RuntimeError}") == 1);
    CHECK(sum_of(b, "execd_job_verdicts_total") == 4);
    CHECK(value(b, "execd_job_queue_wait_seconds_count") == 4);
    CHECK(value(b, "execd_job_queue_wait_seconds_bucket{le=+Inf}") == 4);
    CHECK(value(b, "execd_job_run_seconds_count") == 4);
    CHECK(value(b, "execd_workers") == 1);
    CHECK_FALSE(a.count("execd_workers"));

    // The cluster's figures are the same on both nodes, and add up to every
    // job submitted: four completed, one cancelled while queued.
    for (const auto* node : {&a, &b}) {
        const auto& m = *node;
        CHECK(value(m, "execd_cluster_jobs_total{status=completed}") == 4);
        CHECK(value(m, "execd_cluster_jobs_total{status=cancelled}") == 1);
        CHECK(sum_of(m, "execd_cluster_jobs_total") ==
              value(a, "execd_jobs_submitted_total") + value(b, "execd_jobs_submitted_total"));
        CHECK(value(m, "execd_cluster_job_verdicts_total{verdict=OK}") == 3);
        CHECK(sum_of(m, "execd_cluster_job_verdicts_total") == 4);
        CHECK(value(m, "execd_cluster_queue_depth") == 0);
        CHECK(value(m, "execd_redis_up") == 1);
        CHECK(value(m, "execd_build_info{version=" + std::string(execd::kVersion) + "}") == 1);
        CHECK(value(m, "process_resident_memory_bytes") > 1 << 20);
        CHECK(value(m, "process_open_fds") >= 3);
        CHECK(value(m, "process_start_time_seconds") > 1.6e9);
    }

    auto version = http(api.port(), "GET", "/v1/version");
    CHECK(version.status == 200);
    CHECK(version.body == std::string(R"({"name":"execd","version":")") + execd::kVersion + "\"}");
}

TEST_CASE("a request's id is echoed, stored with its jobs and carried by their JSON log lines", "[daemon]") {
    Execd execd({"--log-format", "json", "--workers", "1"});
    const int port = execd.port();

    std::map<std::string, std::string> headers = kJson;
    headers["X-Request-Id"] = "trace-42.a/b";
    auto r = http(port, "POST", "/v1/jobs", R"J({"language":"python","code":"print(42)"})J", headers);
    REQUIRE(r.status == 202);
    CHECK(r.header("X-Request-Id") == "trace-42.a/b");
    const std::string id = json_field(r.body, "jobId");
    CHECK(json_field(finished(port, id), "requestId") == "trace-42.a/b");

    // One that is not well-formed is replaced, not echoed; none at all gets one.
    const std::regex ours("[0-9a-f]{32}");
    for (const std::string& given : std::vector<std::string>{"two words", std::string(129, 'x'), "quote\"d", ""}) {
        INFO(given);
        std::map<std::string, std::string> h = kJson;
        if (!given.empty()) h["X-Request-Id"] = given;
        auto other = http(port, "POST", "/v1/jobs", R"J({"language":"python","code":"print(1)"})J", h);
        REQUIRE(other.status == 202);
        const std::string made = other.header("X-Request-Id");
        CHECK(std::regex_match(made, ours));
        CHECK(json_field(finished(port, json_field(other.body, "jobId")), "requestId") == made);
    }
    // Every answer has one, errors too.
    auto missing = http(port, "GET", "/v1/jobs/0123456789abcdef0123456789abcdef");
    CHECK(missing.status == 404);
    CHECK(std::regex_match(missing.header("X-Request-Id"), ours));
    // A batch's jobs share their request's id.
    headers["X-Request-Id"] = "batch-7";
    auto batch = http(port, "POST", "/v1/jobs/batch",
                      R"J({"jobs":[{"language":"python","code":"print(5)"},{"language":"python","code":"print(6)"}]})J",
                      headers);
    REQUIRE(batch.status == 202);
    std::vector<std::string> batch_ids;
    for (size_t at = batch.body.find("\"jobId\":\""); at != std::string::npos;
         at = batch.body.find("\"jobId\":\"", at + 1))
        batch_ids.push_back(batch.body.substr(at + 9, 32));
    REQUIRE(batch_ids.size() == 2);
    for (const auto& b : batch_ids) CHECK(json_field(finished(port, b), "requestId") == "batch-7");

    REQUIRE(execd.stop() == 0);
    // The private redis-server writes its own log, not into execd's.
    const std::string state = execd.log_path().substr(0, execd.log_path().rfind('/')) + "/state";
    CHECK(std::ifstream(state + "/redis.log").good());
    std::ifstream log(execd.log_path());
    int lines = 0, access = 0, job_lines = 0, batch_lines = 0;
    for (std::string line; std::getline(log, line);) {
        if (line.empty()) continue;
        ++lines;
        INFO(line);
        Poco::JSON::Object::Ptr o;
        REQUIRE_NOTHROW(o = json_object(line));
        for (const char* key : {"time", "level", "message", "node"}) CHECK(!text_of(o, key).empty());
        CHECK(std::regex_match(text_of(o, "time"), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
        if (text_of(o, "requestId") == "trace-42.a/b") {
            if (text_of(o, "method") == "POST") {
                ++access;
                CHECK(o->getValue<int>("status") == 202);
                CHECK(text_of(o, "target") == "/v1/jobs");
                CHECK(text_of(o, "jobId") == id);
            } else if (text_of(o, "jobId") == id) {
                ++job_lines;
            }
        }
        if (text_of(o, "requestId") == "batch-7" && !o->has("method")) {
            const std::string job = text_of(o, "jobId");
            CHECK((job == batch_ids[0] || job == batch_ids[1]));
            ++batch_lines;
        }
    }
    CHECK(lines > 10);
    CHECK(access == 1);
    CHECK(job_lines >= 3);    // queued, started, completed
    CHECK(batch_lines >= 6);  // the same for each of the two
}

TEST_CASE("CORS: preflights need no token, allowed origins get the headers, others none", "[daemon]") {
    const std::string token = "cors-token-0123456789abcdef";
    Execd execd({"--role", "api", "--cors-origin", "https://app.example", "--token", token});
    const int port = execd.port();

    auto preflight = [&](const std::string& origin, const std::string& path) {
        return http(port, "OPTIONS", path, {},
                    {{"Origin", origin},
                     {"Access-Control-Request-Method", "POST"},
                     {"Access-Control-Request-Headers", "authorization, content-type"}});
    };
    auto ok = preflight("https://app.example", "/v1/jobs");
    CHECK(ok.status == 204);
    CHECK(ok.body.empty());
    CHECK(ok.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK_THAT(ok.header("Access-Control-Allow-Methods"), Contains("POST"));
    CHECK_THAT(ok.header("Access-Control-Allow-Headers"), Contains("Authorization") && Contains("Content-Type"));
    CHECK(ok.header("Access-Control-Max-Age") == "600");
    CHECK(ok.header("Vary") == "Origin");
    CHECK(ok.header("Allow") == "GET, POST, OPTIONS");

    auto other = preflight("https://evil.example", "/v1/jobs");
    CHECK(other.status == 204);
    CHECK(other.header("Access-Control-Allow-Origin").empty());
    CHECK(other.header("Access-Control-Allow-Methods").empty());

    CHECK(preflight("https://app.example", "/v1/nothing").status == 404);
    // Origins compare without regard to case, as browsers write them either way.
    CHECK(preflight("HTTPS://APP.example", "/v1/jobs").header("Access-Control-Allow-Origin") == "HTTPS://APP.example");
    // A request that needs no token carries no body: nobody's bytes are held.
    auto with_body = http(port, "OPTIONS", "/v1/jobs", std::string(4096, 'x'),
                          {{"Origin", "https://app.example"}, {"Content-Type", "text/plain"}});
    CHECK(with_body.status == 413);
    CHECK(http(port, "GET", "/healthz", "{}", {{"Content-Type", "application/json"}}).status == 413);
    auto job_path = preflight("https://app.example", "/v1/jobs/0123456789abcdef0123456789abcdef");
    CHECK(job_path.header("Allow") == "GET, DELETE, OPTIONS");

    // The requests themselves: the token is still needed, and even a refusal
    // carries the headers, so the page can read why.
    auto refused = http(port, "GET", "/v1/languages", {}, {{"Origin", "https://app.example"}});
    CHECK(refused.status == 401);
    CHECK(refused.header("Access-Control-Allow-Origin") == "https://app.example");
    auto served = http(port, "GET", "/v1/languages", {},
                       {{"Origin", "https://app.example"}, {"Authorization", "Bearer " + token}});
    CHECK(served.status == 200);
    CHECK(served.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK_THAT(served.header("Access-Control-Expose-Headers"), Contains("X-Request-Id"));
    auto elsewhere = http(port, "GET", "/v1/languages", {},
                          {{"Origin", "https://evil.example"}, {"Authorization", "Bearer " + token}});
    CHECK(elsewhere.status == 200);
    CHECK(elsewhere.header("Access-Control-Allow-Origin").empty());

    // A method a path does not answer: 405 with what it does.
    auto put = http(port, "PUT", "/v1/jobs", "{}", {{"Authorization", "Bearer " + token}});
    CHECK(put.status == 405);
    CHECK(put.header("Allow") == "GET, POST, OPTIONS");
    CHECK(json_field(put.body, "error").find("method_not_allowed") != std::string::npos);

    // "*" without tokens is refused at start-up: any page could drive the engine.
    auto star = run_process(
        {EXECD_DAEMON_BINARY, "--role", "api", "--listen", "127.0.0.1:0", "--unix-socket", "", "--cors-origin", "*"});
    CHECK(star.exit_code == 2);
    CHECK_THAT(star.err, Contains("cors_origins") && Contains("tokens"));

    // Without cors_origins no answer has a CORS header.
    Execd plain({"--role", "api"});
    auto none = http(plain.port(), "OPTIONS", "/v1/jobs", {},
                     {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
    CHECK(none.status == 204);
    CHECK(none.header("Access-Control-Allow-Origin").empty());
    CHECK(none.header("Allow") == "GET, POST, OPTIONS");
}

TEST_CASE("SIGHUP reloads tokens, limits and TTLs, says what waits for a restart, and keeps a bad file out",
          "[daemon]") {
    const std::string dir = make_temp_dir("execd-reload");
    const std::string file = dir + "/execd.toml";
    const std::string token_a = "reload-token-a-0123456789", token_b = "reload-token-b-0123456789";
    auto write = [&](const std::string& text) {
        std::ofstream(file + ".new") << text;
        REQUIRE(std::rename((file + ".new").c_str(), file.c_str()) == 0);
    };
    write("[server]\ntokens = [\"" + token_a + "\"]\n[workers]\ncount = 1\n");
    Execd execd({"--config", file});
    const int port = execd.port();
    auto as = [&](const std::string& token, const std::string& method, const std::string& path,
                  const std::string& body = {}) {
        return http(port, method, path, body,
                    {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
    };
    const std::string slow = R"J({"language":"python","code":"print(1)","timeoutMs":2000})J";
    CHECK(as(token_a, "GET", "/v1/languages").status == 200);
    CHECK(as(token_b, "GET", "/v1/languages").status == 401);
    CHECK(as(token_a, "POST", "/v1/jobs", slow).status == 202);

    // Reloaded: the other token, a lower time limit, a shorter result TTL; a
    // worker count that needs a restart.
    auto hup_and_wait = [&](const std::string& line) {
        const size_t before = read_text(execd.log_path()).size();
        REQUIRE(::kill(execd.pid(), SIGHUP) == 0);
        for (int i = 0; i < 100; ++i) {
            if (read_text(execd.log_path()).find(line, before) != std::string::npos) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL("no '" << line << "' in the log after SIGHUP:\n" << read_text(execd.log_path()).substr(before));
    };
    write(
        "[server]\ntokens = [\"" + token_b +
        "\"]\n[redis]\nurl = \"redis://:hup-secret-91@127.0.0.1:1\"\n[workers]\ncount = 3\n[jobs]\nresult_ttl_s = 77\n"
        "[limits.max]\ntime_ms = 1500\n");
    hup_and_wait("configuration reloaded");
    CHECK(as(token_a, "GET", "/v1/languages").status == 401);
    CHECK(as(token_b, "GET", "/v1/languages").status == 200);
    auto over = as(token_b, "POST", "/v1/jobs", slow);
    CHECK(over.status == 400);
    CHECK_THAT(over.body, Contains("1500"));
    auto id = json_field(as(token_b, "POST", "/v1/jobs", R"J({"language":"python","code":"print(1)"})J").body, "jobId");
    auto missing = as(token_b, "GET", "/v1/jobs/0123456789abcdef0123456789abcdef");
    CHECK_THAT(missing.body, Contains("77 s"));
    const std::string log = read_text(execd.log_path());
    CHECK_THAT(log, Contains("[workers] count changed to 3, which takes effect after a restart"));
    CHECK_THAT(log, Contains("[jobs] result_ttl_s is now 77 (was 3600)"));
    CHECK_THAT(log, Contains("[limits.max] time_ms is now 1500 (was 30000)"));
    CHECK_THAT(log,
               Contains("[redis] url changed to \"redis://:***@127.0.0.1:1\", which takes effect after a restart"));
    CHECK(log.find("hup-secret-91") == std::string::npos);
    CHECK(log.find(token_a) == std::string::npos);  // tokens are counted in the log, never written
    CHECK(log.find(token_b) == std::string::npos);
    auto metrics = as(token_b, "GET", "/metrics");
    CHECK_THAT(metrics.body, Contains("\nexecd_workers 1\n"));

    // A file that is refused changes nothing.
    write("[server]\ntokens = [\"" + token_a + "\"]\nno_such_key = 1\n");
    hup_and_wait("configuration not reloaded, keeping the running one");
    CHECK_THAT(read_text(execd.log_path()), Contains("no_such_key"));
    CHECK(as(token_b, "GET", "/v1/languages").status == 200);
    CHECK(as(token_a, "GET", "/v1/languages").status == 401);
    CHECK(json_field(as(token_b, "GET", "/v1/jobs/" + id + "?wait=5000").body, "verdict") == "OK");
}

TEST_CASE("Redis with a password, an ACL user and a database number; a wrong password is named, never shown",
          "[daemon]") {
    RedisServer redis;
    const std::string hostport = redis.url().substr(std::string("redis://").size());
    const std::string prefix = unique_prefix();
    REQUIRE(redis.command({"ACL", "SETUSER", "grader", "on", ">acl-pass-4f9", "~*", "&*", "+@all"}).kind !=
            execd::daemon::Reply::Kind::Error);
    REQUIRE(redis.command({"CONFIG", "SET", "requirepass", "main-pass-7c2"}).kind != execd::daemon::Reply::Kind::Error);
    const std::string port = hostport.substr(hostport.rfind(':') + 1);
    auto keys_in_db = [&](const std::string& db) {
        auto r = run_process({"/usr/bin/redis-cli", "-p", port, "--user", "grader", "--pass", "acl-pass-4f9",
                              "--no-auth-warning", "-n", db, "--scan", "--pattern", prefix + "*"});
        REQUIRE(r.exit_code == 0);
        return r.out;
    };

    for (const std::string& url :
         {"redis://:main-pass-7c2@" + hostport, "redis://grader:acl%2Dpass-4f9@" + hostport + "/3"}) {
        INFO(url);
        Execd execd({"--redis", url, "--key-prefix", prefix, "--workers", "1"});
        auto r = http(execd.port(), "POST", "/v1/jobs", R"J({"language":"python","code":"print(7)"})J");
        REQUIRE(r.status == 202);
        CHECK(json_field(finished(execd.port(), json_field(r.body, "jobId")), "stdout") == "7\n");
        CHECK(http(execd.port(), "GET", "/readyz").status == 200);
    }
    // The job hashes went to database 3 for the second URL, database 0 for the first.
    CHECK_THAT(keys_in_db("3"), Contains(prefix + "job:"));
    CHECK_THAT(keys_in_db("0"), Contains(prefix + "job:"));

    Execd wrong({"--role", "api", "--redis", "redis://:wrong-pass-zz9@" + hostport, "--key-prefix", prefix});
    auto ready = http(wrong.port(), "GET", "/readyz");
    CHECK(ready.status == 503);
    auto submit = http(wrong.port(), "POST", "/v1/jobs", R"J({"language":"python","code":"print(7)"})J");
    CHECK(submit.status == 503);
    CHECK(wrong.stop() == 0);
    const std::string log = read_text(wrong.log_path());
    CHECK_THAT(log, Contains("refused the password") && Contains("redis://:***@" + hostport));
    CHECK(log.find("wrong-pass-zz9") == std::string::npos);

    // A URL that cannot be one stops execd at start-up, saying why.
    auto bad = run_process({EXECD_DAEMON_BINARY, "--role", "api", "--listen", "127.0.0.1:0", "--unix-socket", "",
                            "--redis", "redis://:secret-in-url@host:99999"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Contains("[redis] url") && Contains("port") && Contains("redis://:***@host:99999"));
    CHECK(bad.err.find("secret-in-url") == std::string::npos);
}

TEST_CASE("text log lines name the request and the job they are about", "[daemon]") {
    Execd execd({"--workers", "1"});
    std::map<std::string, std::string> headers = kJson;
    headers["X-Request-Id"] = "text-trace-1";
    auto r = http(execd.port(), "POST", "/v1/jobs", R"J({"language":"python","code":"print(3)"})J", headers);
    REQUIRE(r.status == 202);
    const std::string id = json_field(r.body, "jobId");
    finished(execd.port(), id);
    REQUIRE(execd.stop() == 0);
    const std::string log = read_text(execd.log_path());
    CHECK_THAT(log, Contains("job " + id + " queued: python priority 10 (request text-trace-1, job " + id + ")"));
    CHECK_THAT(log, Contains("POST /v1/jobs 202 62 "));
    CHECK_THAT(log, Contains(" completed OK in "));
    CHECK(log.find("{\"time\"") == std::string::npos);
}

TEST_CASE("a worker node serves /metrics on monitor_listen, and nothing of the API there", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd api({"--role", "api", "--redis", redis.url(), "--key-prefix", prefix, "--monitor-listen", "127.0.0.1:0"});
    // With --port-file a worker node writes its monitor port.
    Execd worker({"--role", "worker", "--workers", "1", "--redis", redis.url(), "--key-prefix", prefix,
                  "--monitor-listen", "127.0.0.1:0"});
    const std::string id = submitted(api.port(), R"J({"language":"python","code":"print(5)"})J");
    CHECK(json_field(finished(api.port(), id), "stdout") == "5\n");

    const auto w = scrape(worker.port());
    CHECK(value(w, "execd_workers") == 1);
    CHECK(value(w, "execd_jobs_total{status=completed}") == 1);
    CHECK(value(w, "execd_job_verdicts_total{verdict=OK}") == 1);
    CHECK(value(w, "execd_cluster_jobs_total{status=completed}") == 1);
    CHECK(http(worker.port(), "GET", "/healthz").status == 200);
    CHECK(http(worker.port(), "GET", "/readyz").status == 200);
    for (const char* path : {"/v1/jobs/", "/v1/languages", "/v1/version", "/v1/openapi.json"}) {
        INFO(path);
        auto r = http(worker.port(), "GET", path);
        CHECK(r.status == 404);
        CHECK_THAT(r.body, Contains("monitor_listen"));
    }
    CHECK(http(worker.port(), "POST", "/v1/jobs", R"J({"language":"python","code":"print(5)"})J").status == 404);
    // The API node's API is where it was; its monitor address is another.
    const std::string log = read_text(api.log_path());
    std::smatch m;
    REQUIRE(std::regex_search(
        log, m, std::regex(R"(monitoring \(/healthz, /readyz, /metrics\) on 127\.0\.0\.1:0 \(port (\d+)\))")));
    const int monitor = std::stoi(m[1].str());
    CHECK(monitor != api.port());
    CHECK(value(scrape(monitor), "execd_jobs_submitted_total") == 1);
    CHECK(http(monitor, "GET", "/v1/jobs/" + id).status == 404);
    CHECK(http(api.port(), "GET", "/v1/jobs/" + id).status == 200);
}

TEST_CASE("with --log-format json even the configuration's warnings are JSON lines", "[daemon]") {
    const std::string dir = make_temp_dir("execd-jsonlog");
    const std::string tokens = dir + "/admin-tokens";
    std::ofstream(tokens) << "json-admin-token-0123456789\n";
    REQUIRE(::chmod(tokens.c_str(), 0644) == 0);  // readable by others: execd warns
    Execd execd({"--role", "api", "--log-format", "json", "--admin-token-file", tokens});
    REQUIRE(execd.stop() == 0);
    std::ifstream log(execd.log_path());
    int warnings = 0, lines = 0;
    for (std::string line; std::getline(log, line);) {
        if (line.empty()) continue;
        ++lines;
        INFO(line);
        Poco::JSON::Object::Ptr o;
        REQUIRE_NOTHROW(o = json_object(line));
        if (text_of(o, "level") == "warning" && text_of(o, "message").find(tokens) != std::string::npos) ++warnings;
    }
    CHECK(lines >= 3);
    CHECK(warnings == 1);
}
