#include <Poco/JSON/Array.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "api/api_error.h"
#include "api/raw_json.h"
#include "api/result.h"
#include "api/stored_request.h"
#include "api/submission.h"
#include "core/util/base64.h"
#include "daemon/config.h"
#include "tests/support.h"

using namespace execd;

namespace {

// The maxima of a daemon with the default configuration.
api::Maxima default_maxima() { return daemon::submission_maxima(daemon::Config{}); }

}  // namespace

TEST_CASE("invalid UTF-8 never reaches JSON", "[unit]") {
    CHECK(api::sanitize_utf8("plain") == "plain");
    CHECK(api::sanitize_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(api::sanitize_utf8("a\xFF"
                             "b") ==
          "a\xEF\xBF\xBD"
          "b");
    CHECK(api::sanitize_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
    CHECK(api::sanitize_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(api::sanitize_utf8("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // truncated
}

TEST_CASE("base64", "[unit]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode(std::string("\0\xff", 2)) == "AP8=");

    CHECK(base64_decode("Zm8=") == "fo");
    CHECK(base64_decode("aGVsbG8=") == "hello");
    CHECK(base64_decode("") == "");
    for (const char* bad : {"Zm8", "Zm=8", "Z===", "Zm8=Zm8=", "Zm 8", "Zm8\n"}) CHECK_FALSE(base64_decode(bad));
    // One spelling per byte string: bits that padding leaves unused must be
    // zero (found by tests/fuzz/base64_fuzz.cpp: "aGVsbG1=" was taken as "hello").
    for (const char* other : {"aGVsbG1=", "aGVsbG9=", "Zm9=", "Zh==", "AP9="}) CHECK_FALSE(base64_decode(other));
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
    obj = parser.parse(api::stringify(api::completed_job_json(r, api::Encoding::Utf8)))
              .extract<Poco::JSON::Object::Ptr>();
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

void require_same_files(const std::vector<SourceFile>& x, const std::vector<SourceFile>& y) {
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) {
        CHECK(x[i].name == y[i].name);
        CHECK(x[i].content == y[i].content);
    }
}

// Every field a request carries over the wire.
void require_same(const JobRequest& x, const JobRequest& y) {
    CHECK(x.language == y.language);
    CHECK(x.code == y.code);
    require_same_files(x.files, y.files);
    CHECK(x.stdin_data == y.stdin_data);
    CHECK(x.args == y.args);
    CHECK(x.limits.time_ms == y.limits.time_ms);
    CHECK(x.limits.cpu_ms == y.limits.cpu_ms);
    CHECK(x.limits.memory_mb == y.limits.memory_mb);
    CHECK(x.limits.pids == y.limits.pids);
    CHECK(x.limits.output_bytes == y.limits.output_bytes);
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
    CHECK(x.checker.abs_tolerance == y.checker.abs_tolerance);
    CHECK(x.checker.rel_tolerance == y.checker.rel_tolerance);
    CHECK(x.checker.language == y.checker.language);
    CHECK(x.checker.code == y.checker.code);
    require_same_files(x.checker.files, y.checker.files);
    CHECK(x.checker.limits.time_ms == y.checker.limits.time_ms);
    CHECK(x.checker.limits.memory_mb == y.checker.limits.memory_mb);
}

// A request using every field but tests: binary code, stdin and args.
JobRequest plain_request() {
    JobRequest r;
    r.language = "python";
    r.code = std::string("print(input())\n# \0\xff\xfe", 20);
    r.stdin_data = std::string("\x01\x02\r\n\xc3", 5);
    r.args = {"--n", "caf\xC3\xA9", "a b", ""};
    r.limits.time_ms = 2500;
    r.limits.cpu_ms = 2000;
    r.limits.memory_mb = 96;
    r.limits.pids = 8;
    r.limits.output_bytes = 4096;
    return r;
}

// A graded request with a float checker whose tolerances are no short decimals.
JobRequest float_request() {
    JobRequest r;
    r.language = "python";
    r.code = "print(0.3)";
    r.tests = {TestCase{"t", "", "0.3\n", {}, std::nullopt, std::nullopt}};
    r.checker.kind = CheckerKind::Float;
    r.checker.abs_tolerance = 0.1 + 0.2;
    r.checker.rel_tolerance = 1e-300;
    return r;
}

// A graded request whose checker is given as files, and tests of every shape.
JobRequest checked_with_files() {
    JobRequest r = graded_request();
    r.checker.code.clear();
    r.checker.files = {SourceFile{"main.py", "import lib.util\n"}, SourceFile{"lib/util.py", std::string("\0", 1)}};
    r.checker.limits.memory_mb = 128;
    r.tests[1].expected_output = "";  // present and empty is not absent
    r.tests.push_back(TestCase{"sample 3", "x", std::nullopt, {"-v", "in"}, std::nullopt, 32});
    return r;
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

TEST_CASE("a request is the same object through the wire form and the stored form", "[unit]") {
    const Registry& registry = test::repo_registry();
    for (const JobRequest& original : {plain_request(), graded_request(), checked_with_files(), float_request()}) {
        for (auto encoding : {api::Encoding::Base64, api::Encoding::Utf8}) {
            for (int priority : {api::kDefaultPriority, 0, 1000}) {
                INFO("request for " << original.language << ", " << original.tests.size() << " tests, "
                                    << (encoding == api::Encoding::Base64 ? "base64" : "utf8") << ", priority "
                                    << priority);
                // The wire: what a client sends and the API parses.
                const std::string body = api::stringify(api::submission_json(original, encoding, priority));
                const api::Submission parsed = api::parse_submission_body(body, registry, default_maxima());
                if (encoding == api::Encoding::Base64) require_same(original, parsed.request);  // every byte
                CHECK(parsed.priority == priority);
                CHECK(parsed.encoding == encoding);

                // The queue: what the API stores and a worker reads.
                const std::string stored = api::stored_request_json(parsed);
                const api::Submission back = api::parse_stored_request(stored, registry);
                require_same(parsed.request, back.request);
                CHECK(back.priority == parsed.priority);
                CHECK(back.encoding == parsed.encoding);
                CHECK(back.request.max_output_bytes == parsed.request.max_output_bytes);

                // The stored form is the wire form in base64, no dialect of its
                // own: its body is what a client would send, and a server takes it.
                Poco::JSON::Parser keep_order(new Poco::JSON::ParseHandler(true));
                auto record = keep_order.parse(stored).extract<Poco::JSON::Object::Ptr>();
                REQUIRE(record->getObject("body"));
                CHECK(api::stringify(record->getObject("body")) ==
                      api::stringify(api::submission_json(parsed.request, api::Encoding::Base64, priority)));
                require_same(parsed.request,
                             api::parse_submission(*record->getObject("body"), registry, default_maxima()).request);
                CHECK(stored.find("\"timeMs\"") == std::string::npos);
            }
        }
    }
}

TEST_CASE("a job queued by execd 0.1.0 is still read", "[unit]") {
    // What 0.1.0's request_to_json wrote for graded_request(), priority 3, a
    // base64 result: its own dialect, names and args in base64, timeMs.
    const std::string legacy =
        R"({"language":"c","code":"","files":[{"name":"bWFpbi5j","content":"aW50IG1haW4odm9pZCl7cmV0dXJuIDA7fQo="},)"
        R"({"name":"bGliL3guYw==","content":"AP8="}],"stdin":"","args":[],"timeMs":2000,"priority":3,)"
        R"("encoding":"base64","tests":[{"name":"Zmlyc3Q=","stdin":"MSAyCgD+","expectedOutput":"Mwo=",)"
        R"("args":["LS1mYXN0"],"timeMs":500,"memoryMb":64},{"name":"c2Vjb25k","stdin":"","args":[]}],)"
        R"("stopOnFailure":true,"maxOutputBytes":1048576,"checker":{"type":"program","absTolerance":0.000001,)"
        R"("relTolerance":0.000001,"language":"python","code":"aW1wb3J0IHN5cwpzeXMuZXhpdCgwKQo=","files":[],)"
        R"("timeMs":700}})";
    const api::Submission s = api::parse_stored_request(legacy, test::repo_registry());
    require_same(graded_request(), s.request);
    CHECK(s.priority == 3);
    CHECK(s.encoding == api::Encoding::Base64);
    CHECK(s.request.max_output_bytes == 1048576);
}

TEST_CASE("a stored request is checked against the registry again, and a corrupt one is named", "[unit]") {
    const api::Submission parsed = api::parse_submission_body(
        api::submission_body(graded_request(), api::Encoding::Utf8), test::repo_registry(), default_maxima());
    std::string stored = api::stored_request_json(parsed);
    // The language was removed from the registry while the job was queued.
    const auto at = stored.find(R"("language":"c")");
    REQUIRE(at != std::string::npos);
    stored.replace(at, 14, R"("language":"klingon")");
    try {
        api::parse_stored_request(stored, test::repo_registry());
        FAIL("accepted");
    } catch (const api::ApiError& e) {
        CHECK(e.field() == "language");
        CHECK_THAT(e.what(), Catch::Contains("unknown language 'klingon'"));
    }
    for (const char* corrupt : {"{not json", "[1]", R"({"body":5,"resultEncoding":"utf8","maxOutputBytes":1})"})
        CHECK_THROWS_WITH(api::parse_stored_request(corrupt, test::repo_registry()),
                          Catch::StartsWith("corrupt stored request"));
}

TEST_CASE("integers are JSON integers, in a body and in a batch element alike", "[unit]") {
    const std::string head = R"({"language":"python","code":"x",)";
    const std::vector<std::pair<std::string, std::string>> cases{
        {head + R"("timeoutMs":3000.0})", "timeoutMs"},
        {head + R"("priority":5.0})", "priority"},
        {head + R"("memoryMb":64.0})", "memoryMb"},
        {head + R"("tests":[{"timeoutMs":500.0}]})", "tests[0].timeoutMs"},
        {head + R"("tests":[{}],"checker":{"type":"program","language":"python","code":"x","memoryMb":1e2}})",
         "checker.memoryMb"},
    };
    for (const auto& [single, field] : cases) {
        INFO(single);
        const std::string refusal = field + ": '" + field + "' must be an integer";
        CHECK(rejected_field(single) == refusal);
        // POST /v1/jobs/batch passes each element of "jobs" as parsed.
        Poco::JSON::Parser parser;
        auto batch = parser.parse(R"({"jobs":[)" + single + "]}").extract<Poco::JSON::Object::Ptr>();
        try {
            api::parse_submission(*batch->getArray("jobs")->getObject(0), test::repo_registry(), default_maxima());
            FAIL("accepted");
        } catch (const api::ApiError& e) {
            CHECK(e.field() + ": " + e.what() == refusal);
        }
    }
    CHECK(rejected_field(head + R"("timeoutMs":3000})").empty());
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
        auto json =
            parser.parse(api::stringify(api::completed_job_json(r, encoding))).extract<Poco::JSON::Object::Ptr>();
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
        if (encoding == api::Encoding::Base64)
            CHECK(back.run.stdout_data == r.run.stdout_data);
        else
            CHECK(back.run.stdout_data == "6\n\xEF\xBF\xBD");
    }
}

TEST_CASE("a cancelled job's document reads back as cancelled", "[unit]") {
    Poco::JSON::Parser parser;
    const JobResult plain =
        api::job_result_from_json(*parser.parse(R"({"status":"cancelled"})").extract<Poco::JSON::Object::Ptr>());
    CHECK(plain.cancelled);
    const JobResult expired =
        api::job_result_from_json(*parser.parse(api::expired_job_json(60)).extract<Poco::JSON::Object::Ptr>());
    CHECK(expired.cancelled);
    CHECK_THAT(expired.run.message, Catch::Contains("60 s (queue_ttl_s)"));
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
    CHECK_THAT(rejected_field(head + R"("tests":[{}],"checker":{"type":"fuzzy"}})"),
               Catch::StartsWith("checker.type:"));
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
    for (const char* bad :
         {"a/b/c.c", "../x.c", "/x.c", "lib/", "lib/..", "./x", "a\\\\b.c", "-o.c", "@o.c", "lib/-x.c"})
        CHECK_THAT(rejected_field(files(bad)), Catch::StartsWith("files[1].name:"));
    CHECK_THAT(rejected_field(R"({"language":"c","files":[{"name":"main.c","content":"x"},)"
                              R"({"name":"lib","content":"y"},{"name":"lib/a.c","content":"z"}]})"),
               Catch::StartsWith("files:"));
}

TEST_CASE("raw_member and raw_elements find values as written", "[unit]") {
    using api::raw_elements;
    using api::raw_member;
    const std::string doc =
        " {\"a\" : [1, {\"b\":\"}]\\\"\"}] , \"s\":\"x\\\\\",\"n\":-1.5e3 ,\"t\":true,\"o\":{ } ,\"a\":null}";
    // A repeated key: the last, as Poco's parser keeps it.
    CHECK(raw_member(doc, "a") == std::optional<std::string_view>("null"));
    CHECK(raw_member(doc, "s") == std::optional<std::string_view>("\"x\\\\\""));
    CHECK(raw_member(doc, "n") == std::optional<std::string_view>("-1.5e3"));
    CHECK(raw_member(doc, "t") == std::optional<std::string_view>("true"));
    CHECK(raw_member(doc, "o") == std::optional<std::string_view>("{ }"));
    CHECK_FALSE(raw_member(doc, "b"));  // nested keys are not members
    CHECK_FALSE(raw_member(doc, "missing"));
    CHECK_FALSE(raw_member("[1]", "a"));
    CHECK(raw_member(R"({"\u0061":1})", "a") == std::optional<std::string_view>("1"));
    CHECK(raw_member(R"({"\\u0061":1})", "a") == std::nullopt);  // a backslash and "u0061"
    CHECK(raw_member(R"({"é":"ü"})", "é") == std::optional<std::string_view>("\"ü\""));

    const auto elements = raw_elements(" [ 1,\"],\" , {\"k\": [2, 3]} ,[],null ] ");
    REQUIRE(elements.size() == 5);
    CHECK(elements[0] == "1");
    CHECK(elements[1] == "\"],\"");
    CHECK(elements[2] == "{\"k\": [2, 3]}");
    CHECK(elements[3] == "[]");
    CHECK(elements[4] == "null");
    CHECK(raw_elements("[]").empty());
    CHECK(raw_elements("{}").empty());

    CHECK(api::with_raw_member("{}", "m", "{ \"a\" :1}") == "{\"m\":{ \"a\" :1}}");
    CHECK(api::with_raw_member(R"({"s":1})", "m", "[ ]") == R"({"s":1,"m":[ ]})");
    CHECK(api::with_raw_member("[1]", "m", "2") == "[1]");

    // A key with a NUL: the parser reads it up to the NUL; so does raw_member.
    for (const std::string& body : {std::string(R"({"m":[1],"m\u0000":{}})"), std::string(R"({"m\u0000x":{}})"),
                                    std::string(R"({"m":{"a":1},"m\u0000":{"b":2}})")}) {
        INFO(body);
        Poco::JSON::Parser p;
        std::ostringstream kept;
        p.parse(body).extract<Poco::JSON::Object::Ptr>()->getObject("m")->stringify(kept);
        REQUIRE(raw_member(body, "m"));
        CHECK(std::string(*raw_member(body, "m")) == kept.str());
    }

    // What Poco's parser keeps is what raw_member finds, for a repeated key too.
    const std::string repeated = R"({"m":{"first":1},"x":0,"m":{"second":2}})";
    Poco::JSON::Parser parser;
    auto parsed = parser.parse(repeated).extract<Poco::JSON::Object::Ptr>();
    CHECK(parsed->getObject("m")->has("second"));
    CHECK(raw_member(repeated, "m") == std::optional<std::string_view>(R"({"second":2})"));
}

TEST_CASE("a body's metadata is kept as sent, within 16 KB and valid UTF-8", "[unit]") {
    const auto registry = test::repo_registry();
    const std::string body = R"({"language":"python","code":"x","metadata": { "b":1.50, "a" : [ ] } })";
    auto s = api::parse_submission_body(body, registry, default_maxima());
    CHECK(s.metadata_json == R"({ "b":1.50, "a" : [ ] })");
    CHECK(api::parse_submission_body(R"({"language":"python","code":"x"})", registry, default_maxima())
              .metadata_json.empty());
    std::string big = R"({"language":"python","code":"x","metadata":{"k":")";
    big += std::string(16384, 'a') + "\"}}";
    CHECK_THROWS_AS(api::parse_submission_body(big, registry, default_maxima()), api::ApiError);
}

TEST_CASE("attach_metadata refuses bytes that are not UTF-8, whoever parsed the text", "[unit]") {
    api::Submission s;
    CHECK_THROWS_WITH(api::attach_metadata(s, "{\"metadata\":{\"k\":\"\xff\"}}"), Catch::Contains("UTF-8"));
    CHECK(s.metadata_json.empty());
    api::attach_metadata(s, R"({"metadata":{"k":"é"}})");
    CHECK(s.metadata_json == R"({"k":"é"})");
    CHECK_THROWS_WITH(api::parse_json_body("{\"code\":\"\xc3\x28\"}"), Catch::Contains("not valid UTF-8"));
}
