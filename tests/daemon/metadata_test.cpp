// A job's `metadata`: stored with it and returned by every GET of it exactly
// as the client sent it, through the API and through exec submit / status.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

// Written the way no serialiser would: spaces, key order, escapes, numbers
// in several spellings, a repeated key, non-ASCII text.
const std::string kOdd = R"J({ "zeta" : [1, 2.50, 1e3, -0.0, 1E-2] ,"alpha":"\u00e9\u0041 é \"q\" \/",)J"
                         R"J( "nested": {"x" : null , "y":true,"y":false}, "n":  12345678901234567890 })J";

std::string submitted(int port, const std::string& body) {
    auto r = http(port, "POST", "/v1/jobs", body);
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

// A job that holds the only worker for a few seconds, once it runs.
std::string hold_the_worker(int port, const std::string& metadata = "") {
    const std::string id = submitted(port, R"J({"language":"python","code":"import time\ntime.sleep(3)")J" +
                                               (metadata.empty() ? "" : ",\"metadata\":" + metadata) + "}");
    for (int i = 0; i < 100; ++i) {
        if (json_field(http(port, "GET", "/v1/jobs/" + id).body, "status") == "running") return id;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("job " << id << " did not start");
    return id;
}

// The document carries `raw` as its last member, byte for byte, and is JSON.
void carries(const std::string& doc, const std::string& raw) {
    INFO(doc);
    CHECK_THAT(doc, EndsWith(",\"metadata\":" + raw + "}"));
    CHECK(json_field(doc, "status").rfind("<not json", 0) != 0);
    CHECK(doc.find("\"metadata\"") == doc.rfind("\"metadata\""));  // once
}

}  // namespace

TEST_CASE("metadata is stored with the job and every GET returns it exactly as sent", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1"});
    const int port = execd.port();

    SECTION("queued, running and completed; alone and in ?ids=") {
        // The first job holds the only worker, so the second is seen queued.
        const std::string busy = hold_the_worker(port, R"({"first":true})");
        const std::string id =
            submitted(port, R"J({"language":"python","code":"print(1)", "metadata" :  )J" + kOdd + " }");
        auto queued = http(port, "GET", "/v1/jobs/" + id);
        CHECK(json_field(queued.body, "status") == "queued");
        carries(queued.body, kOdd);
        auto running = http(port, "GET", "/v1/jobs/" + busy);
        CHECK(json_field(running.body, "status") == "running");
        carries(running.body, R"({"first":true})");
        const std::string done = finished(port, id);
        CHECK(json_field(done, "output") == "1");
        carries(done, kOdd);
        auto many = http(port, "GET", "/v1/jobs?ids=" + busy + "," + id);
        REQUIRE(many.status == 200);
        CHECK_THAT(many.body, Contains(",\"metadata\":" + kOdd + "}"));
        CHECK_THAT(many.body, Contains(",\"metadata\":{\"first\":true}}"));
    }
    SECTION("a job sent without metadata has none; {} is kept as {}") {
        const std::string none = submitted(port, R"J({"language":"python","code":"print(1)"})J");
        const std::string empty = submitted(port, R"J({"language":"python","code":"print(1)","metadata":{}})J");
        CHECK(finished(port, none).find("metadata") == std::string::npos);
        carries(finished(port, empty), "{}");
    }
    SECTION("a key written with escapes is the same key; of a repeated one the last counts") {
        const std::string escaped =
            submitted(port, R"J({"language":"python","code":"print(1)","meta\u0064ata":{"k":"v"}})J");
        carries(finished(port, escaped), R"({"k":"v"})");
        const std::string twice =
            submitted(port, R"J({"metadata":{"old":1},"language":"python","code":"print(1)","metadata":{"new":2}})J");
        carries(finished(port, twice), R"({"new":2})");
    }
    SECTION("a cancelled job keeps its metadata") {
        const std::string busy = hold_the_worker(port);
        const std::string id =
            submitted(port, R"J({"language":"python","code":"print(1)","metadata":{"why":"cancel me"}})J");
        auto del = http(port, "DELETE", "/v1/jobs/" + id);
        CHECK(del.status == 200);
        carries(http(port, "GET", "/v1/jobs/" + id).body, R"({"why":"cancel me"})");
        finished(port, busy);
    }
    SECTION("each job of a batch keeps its own") {
        auto r = http(
            port, "POST", "/v1/jobs/batch",
            R"J({"jobs":[ {"language":"python","code":"print(1)","metadata": {"i" : 0}},)J"
            R"J({"language":"python","code":"print(2)"}, {"metadata":[1,{"i":2}],"language":"python","code":"print(3)"}]})J");
        INFO(r.body);
        CHECK(r.status == 400);  // the third's metadata is no object
        CHECK(json_field(json_field(r.body, "error"), "field") == "jobs[2].metadata");
        r = http(
            port, "POST", "/v1/jobs/batch",
            R"J({"jobs":[ {"language":"python","code":"print(1)","metadata": {"i" : 0}},)J"
            R"J({"language":"python","code":"print(2)"}, {"metadata":{"i":[2, "]}"]},"language":"python","code":"print(3)"}]})J");
        REQUIRE(r.status == 202);
        const std::string ids = r.body;
        std::vector<std::string> id;
        for (size_t at = 0; (at = ids.find("\"jobId\":\"", at)) != std::string::npos; at += 9)
            id.push_back(ids.substr(at + 9, 32));
        REQUIRE(id.size() == 3);
        carries(finished(port, id[0]), R"({"i" : 0})");
        CHECK(finished(port, id[1]).find("metadata") == std::string::npos);
        carries(finished(port, id[2]), R"({"i":[2, "]}"]})");
    }
    SECTION("refused: not an object, more than 16 KB as sent, not UTF-8; nothing is queued") {
        const auto refused = [&](const std::string& body, const std::string& says) {
            auto r = http(port, "POST", "/v1/jobs", body);
            INFO(r.body);
            CHECK(r.status == 400);
            CHECK(json_field(json_field(r.body, "error"), "field") == "metadata");
            CHECK_THAT(json_field(json_field(r.body, "error"), "message"), Contains(says));
        };
        refused(R"J({"language":"python","code":"x","metadata":"text"})J", "must be an object");
        // 16 KB of spaces inside: small once parsed, too large as sent.
        refused(R"J({"language":"python","code":"x","metadata":{"k":1)J" + std::string(16384, ' ') + "}}", "16384");
        auto not_utf8 =
            http(port, "POST", "/v1/jobs", "{\"language\":\"python\",\"code\":\"x\",\"metadata\":{\"k\":\"\xff\"}}");
        CHECK(not_utf8.status == 400);
        CHECK_THAT(not_utf8.body, Contains("not valid UTF-8"));
        CHECK(redis.command({"GET", prefix + "seq"}).nil());  // nothing was ever queued
        // Exactly 16 KB as sent is taken.
        std::string fits = R"({"k":")";
        fits += std::string(16384 - fits.size() - 2, 'a') + "\"}";
        REQUIRE(fits.size() == 16384);
        carries(finished(port, submitted(port, R"J({"language":"python","code":"print(1)","metadata":)J" + fits + "}")),
                fits);
    }
}

TEST_CASE("exec submit --metadata: exec status --json and exec wait --json give it back as written", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    const std::string server = "http://127.0.0.1:" + std::to_string(execd.port());
    const std::string dir = make_temp_dir("metadata");
    const std::string file = dir + "/hi.py";
    std::ofstream(file) << "print('hi')\n";

    auto sent = run_process({EXECD_EXEC_BINARY, "--server", server, "submit", "--metadata", kOdd, file});
    INFO(sent.err);
    REQUIRE(sent.exit_code == 0);
    const std::string id = sent.out.substr(0, sent.out.find('\n'));
    REQUIRE(id.size() == 32);
    auto waited = run_process({EXECD_EXEC_BINARY, "--server", server, "wait", "--json", id});
    CHECK(waited.exit_code == 0);
    carries(waited.out.substr(0, waited.out.find_last_not_of('\n') + 1), kOdd);
    auto status = run_process({EXECD_EXEC_BINARY, "--server", server, "status", id});
    CHECK(status.exit_code == 0);
    carries(status.out.substr(0, status.out.find_last_not_of('\n') + 1), kOdd);
    CHECK(json_field(status.out, "verdict") == "OK");

    for (const std::string& bad : {std::string("[1]"), std::string("{\"k\":"), std::string("")}) {
        auto r = run_process({EXECD_EXEC_BINARY, "--server", server, "submit", "--metadata", bad, file});
        INFO(bad << ": " << r.err);
        if (bad.empty()) {
            CHECK(r.exit_code == 0);  // an empty option is no metadata
            continue;
        }
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Contains("--metadata"));
    }
}
