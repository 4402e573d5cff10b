// POST /v1/jobs/batch and GET /v1/jobs?ids= against a real redis-server and
// real execd processes.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

// The elements of a {"jobs": [...]} answer, each as compact JSON with its keys
// sorted (Poco's default object), so two documents compare by content.
std::vector<std::string> jobs_of(const std::string& body) {
    Poco::JSON::Parser parser;
    auto root = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    auto list = root->getArray("jobs");
    REQUIRE(list);
    std::vector<std::string> out;
    for (size_t i = 0; i < list->size(); ++i) {
        std::ostringstream text;
        Poco::JSON::Stringifier::condense(list->getObject(static_cast<unsigned int>(i)), text);
        out.push_back(text.str());
    }
    return out;
}

// A document with its keys sorted and "jobId" dropped.
std::string without_job_id(const std::string& doc) {
    Poco::JSON::Parser parser;
    auto o = parser.parse(doc).extract<Poco::JSON::Object::Ptr>();
    o->remove("jobId");
    std::ostringstream text;
    Poco::JSON::Stringifier::condense(o, text);
    return text.str();
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
    return out;
}

std::string batch_of(int n, const std::string& job) {
    std::vector<std::string> jobs(static_cast<size_t>(n), job);
    return R"J({"jobs":[)J" + join(jobs) + "]}";
}

int64_t queue_depth(int port) {
    const std::string text = http(port, "GET", "/metrics").body;
    const std::string key = "\nexecd_cluster_queue_depth ";
    const auto at = text.find(key);
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + key.size()));
}

const char* kUnknownId = "0123456789abcdef0123456789abcdef";
const char* kPrint = R"J({"language":"python","code":"print(1)"})J";

}  // namespace

TEST_CASE("a batch of three jobs is queued in order; GET ?ids= answers for each, unknown ids in place", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "2"});
    const std::string body = R"J({"jobs":[
        {"language":"python","code":"print(6 * 7)"},
        {"language":"bash","code":"echo \"from $0\"; exit 3"},
        {"language":"python","code":"import sys\nprint(sys.stdin.read().upper())","stdin":"abc","priority":5}
    ]})J";
    auto r = http(execd.port(), "POST", "/v1/jobs/batch", body);
    INFO(r.body);
    REQUIRE(r.status == 202);
    const auto queued = jobs_of(r.body);
    REQUIRE(queued.size() == 3);
    std::vector<std::string> ids;
    for (const auto& q : queued) {
        CHECK(json_field(q, "status") == "queued");
        ids.push_back(json_field(q, "jobId"));
        CHECK(ids.back().size() == 32);
    }
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 3);

    // Asked out of order, with an unknown id, a malformed one and a duplicate.
    const std::vector<std::string> asked{ids[2], kUnknownId, ids[0], "not-a-job", ids[1], ids[2]};
    const std::string query = "/v1/jobs?ids=" + join(asked) + "&wait=2000";
    std::vector<std::string> docs;
    const auto give_up = steady_clock::now() + seconds(60);
    for (;;) {
        auto got = http(execd.port(), "GET", query);
        INFO(got.body);
        REQUIRE(got.status == 200);
        docs = jobs_of(got.body);
        REQUIRE(docs.size() == asked.size());
        bool all_done = true;
        for (const auto& id : ids)
            for (size_t i = 0; i < asked.size(); ++i)
                if (asked[i] == id) all_done &= json_field(docs[i], "status") == "completed";
        if (all_done) break;
        REQUIRE(steady_clock::now() < give_up);
    }
    for (size_t i = 0; i < asked.size(); ++i) CHECK(json_field(docs[i], "jobId") == asked[i]);
    CHECK(json_field(docs[0], "output") == "ABC");
    CHECK(json_field(docs[1], "status") == "unknown");
    CHECK(json_field(docs[2], "output") == "42");
    CHECK(json_field(docs[2], "verdict") == "OK");
    CHECK(json_field(docs[3], "status") == "unknown");
    CHECK(json_field(docs[4], "stdout") == "from main.sh\n");
    CHECK(json_field(docs[4], "exitCode") == "3");
    CHECK(json_field(docs[4], "language") == "bash");
    CHECK(docs[5] == docs[0]);
    // Each element is the single-job document plus its id.
    for (size_t i : {size_t{0}, size_t{2}, size_t{4}})
        CHECK(without_job_id(docs[i]) == without_job_id(http(execd.port(), "GET", "/v1/jobs/" + asked[i]).body));
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("a batch is all or nothing: refusals name the job and field, the maximum and a full queue", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    const std::string config = make_temp_dir("execd-batch") + "/execd.toml";
    std::ofstream(config) << "[limits.max]\nbatch = 3\n";
    // No workers, so whatever is queued stays in the queue to be counted.
    Execd execd({"--config", config, "--redis", redis.url(), "--key-prefix", prefix, "--role", "api", "--queue-max",
                 "4", "--body-max-bytes", "100000"});
    const int port = execd.port();

    auto invalid = http(port, "POST", "/v1/jobs/batch",
                        R"J({"jobs":[{"language":"python","code":"print(1)"},{"language":"klingon","code":"x"}]})J");
    INFO(invalid.body);
    CHECK(invalid.status == 400);
    CHECK(error_field(invalid.body, "code") == "invalid_field");
    CHECK(error_field(invalid.body, "field") == "jobs[1].language");
    CHECK_THAT(error_field(invalid.body, "message"), Contains("jobs[1]") && Contains("unknown language"));
    CHECK(queue_depth(port) == 0);
    CHECK(redis.command({"KEYS", prefix + "job:*"}).elements.empty());

    struct Case {
        std::string body;
        std::string code;
        std::string field;
        std::string message_part;
    };
    const std::vector<Case> cases{
        {"{not json", "invalid_json", "", "not valid JSON"},
        {"[1,2]", "invalid_json", "", "must be a JSON object"},
        {"{}", "invalid_field", "jobs", "required"},
        {R"J({"jobs":{"language":"python"}})J", "invalid_field", "jobs", "must be an array"},
        {R"J({"jobs":null})J", "invalid_field", "jobs", "must be an array"},
        {R"J({"jobs":[]})J", "invalid_field", "jobs", "at least one"},
        {R"J({"jobs":[{"language":"python","code":"x"}],"priority":1})J", "invalid_field", "priority", "unknown field"},
        {R"J({"jobs":[{"language":"python","code":"x"},5]})J", "invalid_field", "jobs[1]", "must be a JSON object"},
        {R"J({"jobs":[[]]})J", "invalid_field", "jobs[0]", "must be a JSON object"},
        {R"J({"jobs":[{"language":"python","code":"x","timeoutMs":999999999}]})J", "invalid_field", "jobs[0].timeoutMs",
         "at most 30000"},
        {R"J({"jobs":[{"language":"python","code":"x"},{"language":"python","code":"x"},
             {"language":"python","files":[{"name":"../main.py","content":"x"}]}]})J",
         "invalid_field", "jobs[2].files[0].name", "not allowed"},
        {R"J({"jobs":[{"language":"python","code":"x","colour":1}]})J", "invalid_field", "jobs[0].colour",
         "unknown field"},
        {batch_of(4, kPrint), "invalid_field", "jobs", "at most 3 jobs (the operator's maximum)"},
    };
    for (const auto& c : cases) {
        auto r = http(port, "POST", "/v1/jobs/batch", c.body);
        INFO(c.body << " -> " << r.status << " " << r.body);
        CHECK(r.status == 400);
        CHECK(error_field(r.body, "code") == c.code);
        CHECK(error_field(r.body, "field") == c.field);
        CHECK_THAT(error_field(r.body, "message"), Contains(c.message_part));
    }
    CHECK(http(port, "POST", "/v1/jobs/batch", batch_of(1, kPrint), {{"Content-Type", "text/plain"}}).status == 415);
    const std::string big = R"J({"language":"python","code":")J" + std::string(60000, 'x') + "\"}";
    auto too_big = http(port, "POST", "/v1/jobs/batch", batch_of(2, big));
    CHECK(too_big.status == 413);
    CHECK(http(port, "PUT", "/v1/jobs/batch", batch_of(1, kPrint)).status == 405);
    CHECK(http(port, "GET", "/v1/jobs/batch").status == 405);
    CHECK(queue_depth(port) == 0);

    // Up to the maximum is fine, and is queued.
    auto three = http(port, "POST", "/v1/jobs/batch", batch_of(3, kPrint));
    INFO(three.body);
    REQUIRE(three.status == 202);
    std::vector<std::string> ids;
    for (const auto& q : jobs_of(three.body)) ids.push_back(json_field(q, "jobId"));
    CHECK(queue_depth(port) == 3);

    // The lookup has the same maximum; bad ids lists are refused.
    auto lookup = http(port, "GET", "/v1/jobs?ids=" + join(ids));
    REQUIRE(lookup.status == 200);
    for (const auto& doc : jobs_of(lookup.body)) CHECK(json_field(doc, "status") == "queued");
    auto over = http(port, "GET", "/v1/jobs?ids=" + join(ids) + "," + kUnknownId);
    CHECK(over.status == 400);
    CHECK(error_field(over.body, "field") == "ids");
    CHECK_THAT(error_field(over.body, "message"), Contains("at most 3") && Contains("operator's maximum"));
    for (const auto& q :
         std::vector<std::string>{"/v1/jobs", "/v1/jobs?ids=", "/v1/jobs?ids=" + ids[0] + ",," + ids[1]}) {
        auto r = http(port, "GET", q);
        INFO(q << " -> " << r.body);
        CHECK(r.status == 400);
        CHECK(error_field(r.body, "field") == "ids");
    }
    auto bad_wait = http(port, "GET", "/v1/jobs?ids=" + ids[0] + "&wait=soon");
    CHECK(bad_wait.status == 400);
    CHECK(error_field(bad_wait.body, "field") == "wait");
    // A bounded wait on jobs nobody runs answers with their state then.
    const auto t0 = steady_clock::now();
    auto waited = http(port, "GET", "/v1/jobs?ids=" + ids[0] + "," + ids[1] + "&wait=300");
    CHECK(waited.status == 200);
    CHECK(steady_clock::now() - t0 >= milliseconds(300));
    CHECK(steady_clock::now() - t0 < seconds(5));

    // The queue holds 3 of at most 4: a batch of 2 does not fit and none of it is queued.
    auto full = http(port, "POST", "/v1/jobs/batch", batch_of(2, kPrint));
    INFO(full.body);
    CHECK(full.status == 429);
    CHECK(error_field(full.body, "code") == "queue_full");
    CHECK(queue_depth(port) == 3);
    CHECK(http(port, "POST", "/v1/jobs/batch", batch_of(1, kPrint)).status == 202);
    CHECK(queue_depth(port) == 4);
    CHECK(redis.command({"KEYS", prefix + "job:*"}).elements.size() == 4);
    const std::string metrics = http(port, "GET", "/metrics").body;
    CHECK_THAT(metrics, Contains("execd_jobs_submitted_total 4") && Contains("execd_jobs_rejected_total 2"));
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("a batch element is refused exactly as the same body alone: 3000.0 is no integer in either", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api"});
    const int port = execd.port();
    const std::string head = R"J({"language":"python","code":"print(1)",)J";
    const std::vector<std::string> bodies{
        head + R"J("timeoutMs":3000.0})J",           head + R"J("priority":5.0})J",
        head + R"J("tests":[{"memoryMb":64.0}]})J",  head + R"J("timeoutMs":1e3})J",
        head + R"J("tests":[{"name":"a\u0001"}]})J",
    };
    for (const auto& body : bodies) {
        auto single = http(port, "POST", "/v1/jobs", body);
        auto batch = http(port, "POST", "/v1/jobs/batch", std::string(R"J({"jobs":[)J") + kPrint + "," + body + "]}");
        INFO(body << " -> " << single.body << " / " << batch.body);
        CHECK(single.status == 400);
        CHECK(batch.status == 400);
        CHECK(error_field(batch.body, "code") == error_field(single.body, "code"));
        CHECK(error_field(batch.body, "field") == "jobs[1]." + error_field(single.body, "field"));
        CHECK(error_field(batch.body, "message") == "jobs[1]: " + error_field(single.body, "message"));
    }
    CHECK_THAT(error_field(http(port, "POST", "/v1/jobs", bodies[0]).body, "message"), Contains("must be an integer"));
    CHECK(queue_depth(port) == 0);
    CHECK(http(port, "POST", "/v1/jobs/batch", R"J({"jobs":[)J" + head + R"J("timeoutMs":3000}]})J").status == 202);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("batch endpoints need the API token when tokens are configured", "[daemon]") {
    RedisServer redis;
    const std::string token = "s3cret-token-0123456789";
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--role", "api", "--token", token});
    const int port = execd.port();
    auto none = http(port, "POST", "/v1/jobs/batch", batch_of(2, kPrint));
    CHECK(none.status == 401);
    CHECK(error_field(none.body, "code") == "unauthorized");
    CHECK(http(port, "GET", std::string("/v1/jobs?ids=") + kUnknownId).status == 401);
    const std::map<std::string, std::string> auth{{"Content-Type", "application/json"},
                                                  {"Authorization", "Bearer " + token}};
    auto ok = http(port, "POST", "/v1/jobs/batch", batch_of(2, kPrint), auth);
    REQUIRE(ok.status == 202);
    const auto ids = jobs_of(ok.body);
    REQUIRE(ids.size() == 2);
    auto got = http(port, "GET", "/v1/jobs?ids=" + json_field(ids[0], "jobId") + "," + kUnknownId, {},
                    {{"X-Auth-Token", token}});
    CHECK(got.status == 200);
    const auto docs = jobs_of(got.body);
    REQUIRE(docs.size() == 2);
    CHECK(json_field(docs[0], "status") == "queued");
    CHECK(json_field(docs[1], "status") == "unknown");
    CHECK(execd.stop(SIGTERM) == 0);
}
