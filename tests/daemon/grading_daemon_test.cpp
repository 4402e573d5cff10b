// Graded jobs through a real execd and Redis: tests, checkers, the compile
// cache, and hostile test sets that must end in a verdict or a 400 while the
// daemon stays healthy.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "api/submission.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd;
using namespace execd::test;
using namespace std::chrono;
using Poco::JSON::Object;

namespace {

const char* kDoubler = R"(#include <iostream>
int main() {
    long n;
    std::cin >> n;
    if (n == 5) for (volatile long i = 0;; ++i) {}
    std::cout << n * 2 << "\n";
}
)";

JobRequest five_tests() {
    JobRequest r;
    r.language = "cpp";
    r.code = kDoubler;
    r.limits.time_ms = 1000;
    const char* expected[] = {"2\n", "4\n", "7\n", "8\n", "10\n"};
    const char* names[] = {"one", "two", "three", "four", "five"};
    for (int i = 0; i < 5; ++i) {
        TestCase t;
        t.name = names[i];
        t.stdin_data = std::to_string(i + 1) + "\n";
        t.expected_output = expected[i];
        r.tests.push_back(t);
    }
    return r;
}

Object::Ptr parse(const std::string& body) {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
}

Object::Ptr finished(int port, const std::string& body) {
    auto posted = http(port, "POST", "/v1/jobs", body);
    INFO(posted.body);
    REQUIRE(posted.status == 202);
    const std::string id = json_field(posted.body, "jobId");
    const auto give_up = steady_clock::now() + seconds(120);
    while (steady_clock::now() < give_up) {
        auto r = http(port, "GET", "/v1/jobs/" + id + "?wait=5000");
        if (json_field(r.body, "status") == "completed") return parse(r.body);
    }
    FAIL("job " << id << " did not finish");
    return nullptr;
}

std::string verdict_of_test(const Object::Ptr& job, unsigned i) {
    return job->getArray("tests")->getObject(i)->getValue<std::string>("verdict");
}

// A counter from GET /metrics.
long metric(int port, const std::string& name) {
    auto r = http(port, "GET", "/metrics", {}, {});
    const auto at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stol(r.body.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("graded jobs over HTTP", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    const int port = execd.port();

    // Run all: the first failure names the verdict; every test has its own.
    auto job = finished(port, api::submission_body(five_tests(), api::Encoding::Utf8));
    INFO(api::stringify(job));
    CHECK(job->getValue<std::string>("verdict") == "WrongAnswer");
    CHECK(job->getValue<std::string>("failedTest") == "three");
    CHECK(job->getValue<int>("testsPassed") == 3);
    CHECK_FALSE(job->getValue<bool>("cached"));
    REQUIRE(job->getArray("tests")->size() == 5);
    CHECK(verdict_of_test(job, 0) == "OK");
    CHECK(verdict_of_test(job, 1) == "OK");
    CHECK(verdict_of_test(job, 2) == "WrongAnswer");
    CHECK(verdict_of_test(job, 3) == "OK");
    CHECK(verdict_of_test(job, 4) == "TimeLimitExceeded");
    CHECK(job->getArray("tests")->getObject(4)->getValue<int>("exitCode") == 124);
    CHECK(metric(port, "execd_compile_steps_total") == 1);  // compiled exactly once for five runs
    CHECK(metric(port, "execd_tests_total") == 5);

    // The same submission again: the artifact comes from the cache, and
    // stopping at the first failure skips the rest.
    JobRequest again = five_tests();
    again.stop_on_failure = true;
    job = finished(port, api::submission_body(again, api::Encoding::Base64));
    CHECK(job->getValue<bool>("cached"));
    CHECK(job->getValue<std::string>("verdict") == "WrongAnswer");
    CHECK(verdict_of_test(job, 3) == "Skipped");
    CHECK(verdict_of_test(job, 4) == "Skipped");
    CHECK(metric(port, "execd_compile_steps_total") == 1);
    CHECK(metric(port, "execd_compile_cache_hits_total") == 1);

    // A Python checker program over HTTP.
    JobRequest checked;
    checked.language = "python";
    checked.code = "print(*reversed(input().split()))\n";
    checked.tests = {TestCase{"a", "1 2 3\n", "3 2 1\n", {}, std::nullopt, std::nullopt},
                     TestCase{"b", "1 2 3\n", "1 2 3\n", {}, std::nullopt, std::nullopt}};
    checked.checker.kind = CheckerKind::Program;
    checked.checker.language = "python";
    checked.checker.code =
        "import sys\na, b = open(sys.argv[2]).read().split(), open(sys.argv[3]).read().split()\n"
        "print('same' if a == b else 'expected ' + ' '.join(b))\nsys.exit(0 if a == b else 1)\n";
    job = finished(port, api::submission_body(checked, api::Encoding::Utf8));
    CHECK(verdict_of_test(job, 0) == "OK");
    CHECK(verdict_of_test(job, 1) == "WrongAnswer");
    CHECK(job->getArray("tests")->getObject(1)->getValue<std::string>("message") == "expected 1 2 3");

    // While a graded job runs, GET says how many tests have finished.
    JobRequest slow;
    slow.language = "python";
    slow.code = "import time\ntime.sleep(0.4)\nprint('z')\n";
    for (int i = 0; i < 8; ++i) slow.tests.push_back(TestCase{"s" + std::to_string(i), "", "z\n", {}, {}, {}});
    auto posted = http(port, "POST", "/v1/jobs", api::submission_body(slow, api::Encoding::Utf8));
    REQUIRE(posted.status == 202);
    const std::string slow_id = json_field(posted.body, "jobId");
    long seen_done = -1;
    const auto give_up = steady_clock::now() + seconds(60);
    while (steady_clock::now() < give_up) {
        auto r = http(port, "GET", "/v1/jobs/" + slow_id);
        if (json_field(r.body, "status") == "completed") break;
        if (json_field(r.body, "status") == "running" && !json_field(r.body, "testsDone").empty()) {
            CHECK(json_field(r.body, "testsTotal") == "8");
            seen_done = std::max(seen_done, std::stol(json_field(r.body, "testsDone")));
        }
        std::this_thread::sleep_for(milliseconds(100));
    }
    CHECK(seen_done >= 1);
    CHECK(seen_done <= 8);

    // A checker that never ends: the test is a CheckerError; the daemon goes on.
    checked.checker.code = "while True:\n    pass\n";
    checked.checker.limits.time_ms = 500;
    job = finished(port, api::submission_body(checked, api::Encoding::Utf8));
    CHECK(job->getValue<std::string>("verdict") == "CheckerError");
    CHECK(verdict_of_test(job, 0) == "CheckerError");
    CHECK(http(port, "GET", "/healthz").status == 200);
}

TEST_CASE("hostile test sets are refused with the maximum they pass", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    const int port = execd.port();
    auto error_of = [](const HttpReply& r) { return parse(r.body)->getObject("error"); };

    SECTION("1,000 tests in one job") {
        JobRequest r;
        r.language = "python";
        r.code = "print(input())";
        for (int i = 0; i < 1000; ++i) r.tests.push_back(TestCase{"t" + std::to_string(i), "x\n", "x\n", {}, {}, {}});
        auto reply = http(port, "POST", "/v1/jobs", api::submission_body(r, api::Encoding::Utf8));
        INFO(reply.body);
        CHECK(reply.status == 400);
        CHECK(error_of(reply)->getValue<std::string>("field") == "tests");
        CHECK_THAT(error_of(reply)->getValue<std::string>("message"), Catch::Contains("maximum is 500"));
    }

    SECTION("an expected output past the output maximum") {
        JobRequest r;
        r.language = "python";
        r.code = "print(input())";
        r.tests = {TestCase{"big", "x\n", std::string(2 << 20, 'x'), {}, {}, {}}};
        auto reply = http(port, "POST", "/v1/jobs", api::submission_body(r, api::Encoding::Utf8));
        CHECK(reply.status == 400);
        CHECK(error_of(reply)->getValue<std::string>("field") == "tests[0].expectedOutput");
        CHECK_THAT(error_of(reply)->getValue<std::string>("message"), Catch::Contains("1048576"));
    }

    SECTION("a test's stdin past the stdin maximum") {
        JobRequest r;
        r.language = "python";
        r.code = "print(input())";
        r.tests = {TestCase{"big", std::string(20 << 20, 'x'), std::nullopt, {}, {}, {}}};
        auto reply = http(port, "POST", "/v1/jobs", api::submission_body(r, api::Encoding::Utf8));
        CHECK(reply.status == 400);
        CHECK(error_of(reply)->getValue<std::string>("field") == "tests[0].stdin");
        CHECK_THAT(error_of(reply)->getValue<std::string>("message"), Catch::Contains("16777216"));
    }

    SECTION("64 MB of stdin, or of expected output: the body cap, named") {
        for (int which = 0; which < 2; ++which) {
            JobRequest r;
            r.language = "python";
            r.code = "print(input())";
            TestCase t{"huge", "x\n", std::nullopt, {}, {}, {}};
            if (which == 0)
                t.stdin_data = std::string(64 << 20, 'x');
            else
                t.expected_output = std::string(64 << 20, 'x');
            r.tests = {t};
            auto reply = http(port, "POST", "/v1/jobs", api::submission_body(r, api::Encoding::Utf8));
            CHECK(reply.status == 413);
            CHECK_THAT(error_of(reply)->getValue<std::string>("message"), Catch::Contains("67108864"));
        }
    }

    // Whatever was refused, the daemon still serves and runs jobs.
    CHECK(http(port, "GET", "/healthz").status == 200);
    JobRequest fine;
    fine.language = "python";
    fine.code = "print(input())";
    fine.tests = {TestCase{"one", "ok\n", "ok\n", {}, {}, {}}};
    CHECK(finished(port, api::submission_body(fine, api::Encoding::Utf8))->getValue<std::string>("verdict") == "OK");
}
