#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include "api/api_error.h"
#include "api/result.h"
#include "api/stored_request.h"
#include "api/submission.h"
#include "config.h"
#include "support.h"
#include "util/base64.h"

using namespace execd;

namespace {

// The maxima of a daemon with the default configuration.
api::Maxima default_maxima() { return daemon::submission_maxima(daemon::Config{}); }

}  // namespace

TEST_CASE("invalid UTF-8 never reaches JSON", "[unit]") {
    CHECK(api::sanitize_utf8("plain") == "plain");
    CHECK(api::sanitize_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(api::sanitize_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
    CHECK(api::sanitize_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");      // overlong '/'
    CHECK(api::sanitize_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(api::sanitize_utf8("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");      // truncated
}

TEST_CASE("base64", "[unit]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode(std::string("\0\xff", 2)) == "AP8=");
}

TEST_CASE("a finished job has the seed's fields", "[unit]") {
    JobResult r;
    r.language = "python";
    r.run.verdict = Verdict::TimeLimitExceeded;
    r.run.exit_code = 124;
    r.run.stdout_data = "4\n\xFF";
    std::string text = api::stringify(api::completed_job_json(r, api::Encoding::Utf8));
    Poco::JSON::Parser parser;
    auto obj = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    CHECK(obj->getValue<std::string>("status") == "completed");
    CHECK(obj->getValue<std::string>("verdict") == "TimeLimitExceeded");
    CHECK(obj->getValue<std::string>("error") == "Time Limit Exceeded (program ran too long)");
    CHECK(obj->getValue<int>("exitCode") == 124);
    CHECK(obj->getValue<std::string>("stdout") == "4\n\xEF\xBF\xBD");

    r.run.verdict = Verdict::OK;
    r.run.exit_code = 0;
    r.run.stdout_data = "4\n";
    obj = parser.parse(api::stringify(api::completed_job_json(r, api::Encoding::Utf8))).extract<Poco::JSON::Object::Ptr>();
    CHECK(obj->getValue<std::string>("output") == "4");
    CHECK_FALSE(obj->has("error"));
}

// ------------------------------------------------------------------ grading


namespace {

// The field a rejected body is blamed on ("" when it parses).
std::string rejected_field(const std::string& body, const api::Maxima& max = default_maxima()) {
    try {
        api::parse_submission_body(body, test::repo_registry(), max);
    } catch (const api::ApiError& e) {
        CHECK(e.status() == 400);
        return e.field() + ": " + e.what();
    }
    return "";
}

JobRequest graded_request() {
    JobRequest r;
    r.language = "c";
    r.files = {SourceFile{"main.c", "int main(void){return 0;}\n"}, SourceFile{"lib/x.c", std::string("\0\xff", 2)}};
    r.limits.time_ms = 2000;
    TestCase a;
    a.name = "first";
    a.stdin_data = std::string("1 2\n\0\xfe", 6);
    a.expected_output = "3\n";
    a.args = {"--fast"};
    a.time_ms = 500;
    a.memory_mb = 64;
    TestCase b;
    b.name = "second";
    r.tests = {a, b};
    r.stop_on_failure = true;
    r.checker.kind = CheckerKind::Program;
    r.checker.language = "python";
    r.checker.code = "import sys\nsys.exit(0)\n";
    r.checker.limits.time_ms = 700;
    return r;
}

void require_same(const JobRequest& x, const JobRequest& y) {
    CHECK(x.language == y.language);
    REQUIRE(x.files.size() == y.files.size());
    for (size_t i = 0; i < x.files.size(); ++i) {
        CHECK(x.files[i].name == y.files[i].name);
        CHECK(x.files[i].content == y.files[i].content);
    }
    CHECK(x.limits.time_ms == y.limits.time_ms);
    REQUIRE(x.tests.size() == y.tests.size());
    for (size_t i = 0; i < x.tests.size(); ++i) {
        CHECK(x.tests[i].name == y.tests[i].name);
        CHECK(x.tests[i].stdin_data == y.tests[i].stdin_data);
        CHECK(x.tests[i].expected_output == y.tests[i].expected_output);
        CHECK(x.tests[i].args == y.tests[i].args);
        CHECK(x.tests[i].time_ms == y.tests[i].time_ms);
        CHECK(x.tests[i].memory_mb == y.tests[i].memory_mb);
    }
    CHECK(x.stop_on_failure == y.stop_on_failure);
    CHECK(x.checker.kind == y.checker.kind);
    CHECK(x.checker.language == y.checker.language);
    CHECK(x.checker.code == y.checker.code);
    CHECK(x.checker.limits.time_ms == y.checker.limits.time_ms);
}

}  // namespace

TEST_CASE("a graded request survives the wire and the queue", "[unit]") {
    const JobRequest original = graded_request();
    api::Submission parsed = api::parse_submission_body(api::submission_body(original, api::Encoding::Base64),
                                                        test::repo_registry(), default_maxima());
    require_same(original, parsed.request);
    CHECK(parsed.request.max_output_bytes == default_maxima().output_bytes);

    api::Submission stored = api::parse_stored_request(api::stored_request_json(parsed), test::repo_registry());
    require_same(original, stored.request);
    CHECK(stored.request.max_output_bytes == parsed.request.max_output_bytes);

    JobRequest floats;
    floats.language = "python";
    floats.code = "print(1)";
    floats.tests = {TestCase{"t", "", "1\n", {}, std::nullopt, std::nullopt}};
    floats.checker.kind = CheckerKind::Float;
    floats.checker.abs_tolerance = 1e-9;
    floats.checker.rel_tolerance = 0.5;
    auto f = api::parse_submission_body(api::submission_body(floats, api::Encoding::Utf8), test::repo_registry(),
                                        default_maxima());
    CHECK(f.request.checker.kind == CheckerKind::Float);
    CHECK(f.request.checker.abs_tolerance == 1e-9);
    CHECK(f.request.checker.rel_tolerance == 0.5);
    CHECK_FALSE(f.request.stop_on_failure);
}

TEST_CASE("a graded result reads back as it was written", "[unit]") {
    JobResult r;
    r.language = "cpp";
    r.run.verdict = Verdict::WrongAnswer;
    r.run.exit_code = 0;
    r.run.stdout_data = std::string("6\n\xff", 3);
    r.run.message = "test 'three': line 1: expected '7', got '6'";
    r.run.time_ms = 1200;
    r.compile = StepResult{Verdict::OK, 0, "", "warning", 800, 700, 90000, ""};
    r.cached = true;
    r.failed_test = "three";
    r.tests = {TestResult{"one", StepResult{Verdict::OK, 0, "2\n", "", 5, 4, 1000, ""}, false},
               TestResult{"three", r.run, true},
               TestResult{"five", StepResult{Verdict::Skipped, std::nullopt, "", "", 0, 0, 0, "skipped"}, false}};
    for (auto encoding : {api::Encoding::Base64, api::Encoding::Utf8}) {
        Poco::JSON::Parser parser;
        auto json = parser.parse(api::stringify(api::completed_job_json(r, encoding))).extract<Poco::JSON::Object::Ptr>();
        CHECK(json->getValue<std::string>("failedTest") == "three");
        CHECK(json->getValue<int>("testsPassed") == 1);
        CHECK(json->getValue<bool>("cached"));
        JobResult back = api::job_result_from_json(*json);
        CHECK(back.run.verdict == Verdict::WrongAnswer);
        CHECK(back.cached);
        CHECK(back.failed_test == "three");
        REQUIRE(back.tests.size() == 3);
        CHECK(back.tests[1].output_truncated);
        CHECK(back.tests[1].result.message == r.run.message);
        CHECK(back.tests[2].result.verdict == Verdict::Skipped);
        CHECK_FALSE(back.tests[2].result.exit_code.has_value());
        CHECK(back.compile->stderr_data == "warning");
        if (encoding == api::Encoding::Base64) CHECK(back.run.stdout_data == r.run.stdout_data);
        else CHECK(back.run.stdout_data == "6\n\xEF\xBF\xBD");
    }
}

TEST_CASE("graded submissions are validated field by field", "[unit]") {
    const std::string head = "{\"language\":\"python\",\"code\":\"print(1)\",";
    CHECK(rejected_field(head + R"("tests":[{"name":"a","stdin":"1"}]})").empty());
    CHECK(rejected_field(head + R"("tests":[{"stdin":"1"},{"stdin":"2"}]})").empty());  // named 1, 2
    CHECK_THAT(rejected_field(head + R"("tests":[]})"), Catch::StartsWith("tests:"));
    CHECK_THAT(rejected_field(head + R"("tests":{}})"), Catch::StartsWith("tests:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{"name":"a"},{"name":"a"}]})"), Catch::StartsWith("tests[1].name:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{"name":""}]})"), Catch::StartsWith("tests[0].name:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{"name":"a\u0001"}]})"), Catch::StartsWith("tests[0].name:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{"bogus":1}]})"), Catch::StartsWith("tests[0].bogus:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{"timeoutMs":999999}]})"),
               Catch::StartsWith("tests[0].timeoutMs:") && Catch::Contains("30000"));
    CHECK_THAT(rejected_field(head + R"("stdin":"x","tests":[{}]})"), Catch::StartsWith("stdin:"));
    CHECK_THAT(rejected_field(head + R"("checker":{"type":"exact"}})"), Catch::StartsWith("checker:"));
    CHECK_THAT(rejected_field(head + R"("stopOnFailure":true})"), Catch::StartsWith("stopOnFailure:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"stopOnFailure":1})"), Catch::StartsWith("stopOnFailure:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"checker":{"type":"fuzzy"}})"), Catch::StartsWith("checker.type:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"checker":{"type":"exact","absTolerance":1}})"),
               Catch::StartsWith("checker.absTolerance:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"checker":{"type":"float","absTolerance":-1}})"),
               Catch::StartsWith("checker.absTolerance:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"checker":{"type":"program"}})"),
               Catch::StartsWith("checker.language:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"checker":{"type":"program","language":"cobra","code":"x"}})"),
               Catch::StartsWith("checker.language:"));
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"checker":{"type":"program","language":"python"}})"),
               Catch::StartsWith("checker.code:"));
    CHECK(rejected_field(head + R"("tests":[{}],"checker":{"type":"program","language":"py","code":"x"}})").empty());

    api::Maxima small = default_maxima();
    small.tests = 3;
    small.output_bytes = 10;
    CHECK_THAT(rejected_field(head + R"("tests":[{},{},{},{}]})", small),
               Catch::StartsWith("tests:") && Catch::Contains("maximum is 3"));
    CHECK_THAT(rejected_field(head + R"("tests":[{"expectedOutput":"01234567890"}]})", small),
               Catch::StartsWith("tests[0].expectedOutput:") && Catch::Contains("10"));

    api::Maxima short_jobs = default_maxima();
    short_jobs.job_time_ms = 5000;  // python's default wall limit is 3000 ms per test
    CHECK(rejected_field(head + R"("tests":[{}]})", short_jobs).empty());
    CHECK_THAT(rejected_field(head + R"("tests":[{},{}]})", short_jobs),
               Catch::StartsWith("tests:") && Catch::Contains("6000 ms") && Catch::Contains("maximum is 5000"));
    CHECK(rejected_field(head + R"("timeoutMs":1000,"tests":[{},{}]})", short_jobs).empty());
    CHECK_THAT(rejected_field(head + R"("timeoutMs":1000,"tests":[{},{"timeoutMs":4500}]})", short_jobs),
               Catch::Contains("5500 ms"));
    CHECK_THAT(rejected_field(head + R"("timeoutMs":1000,"tests":[{},{}],)"
                                     R"("checker":{"type":"program","language":"python","code":"x","timeoutMs":2000}})",
                              short_jobs),
               Catch::Contains("6000 ms"));
}

TEST_CASE("submitted file names may go one directory down, never out", "[unit]") {
    auto files = [](const std::string& second) {
        return R"({"language":"c","files":[{"name":"main.c","content":"x"},{"name":")" + second +
               R"(","content":"y"}]})";
    };
    CHECK(rejected_field(files("lib/util.c")).empty());
    for (const char* bad : {"a/b/c.c", "../x.c", "/x.c", "lib/", "lib/..", "./x", "a\\\\b.c", "-o.c", "@o.c", "lib/-x.c"})
        CHECK_THAT(rejected_field(files(bad)), Catch::StartsWith("files[1].name:"));
    CHECK_THAT(rejected_field(R"({"language":"c","files":[{"name":"main.c","content":"x"},)"
                              R"({"name":"lib","content":"y"},{"name":"lib/a.c","content":"z"}]})"),
               Catch::StartsWith("files:"));
}
