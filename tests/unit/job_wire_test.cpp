// The host-local form of a job (core/job_wire.h): what exec sends its warm
// sandbox and gets back. Everything survives a round trip; a cut or
// corrupted message is refused, never half-read.
#include "core/job_wire.h"

#include <catch2/catch.hpp>
#include <cstring>

using namespace execd;

namespace {

JobRequest full_request() {
    JobRequest q;
    q.language = "python";
    q.code = std::string("print('x')\n\0tail", 16);
    q.files = {{"main.py", "a"}, {"lib/util.py", std::string(3, '\0')}};
    q.stdin_data = "in\n";
    q.args = {"-v", "", "two words"};
    q.limits.time_ms = 1500;
    q.limits.pids = 7;
    TestCase t;
    t.name = "первый";
    t.stdin_data = "1 2\n";
    t.expected_output = "3\n";
    t.args = {"--x"};
    t.time_ms = 300;
    q.tests = {t, TestCase{"second", "", std::nullopt, {}, std::nullopt, 64}};
    q.checker.kind = CheckerKind::Float;
    q.checker.abs_tolerance = 0.25;
    q.checker.rel_tolerance = 1e-9;
    q.checker.language = "c";
    q.checker.code = "int main(){}";
    q.checker.files = {{"main.c", "int main(){}"}};
    q.checker.limits.memory_mb = 32;
    q.stop_on_failure = true;
    q.max_output_bytes = 12345;
    return q;
}

JobResult full_result() {
    JobResult j;
    j.language = "c";
    j.run.verdict = Verdict::WrongAnswer;
    j.run.exit_code = 0;
    j.run.stdout_data = "out";
    j.run.stderr_data = std::string("e\0rr", 4);
    j.run.time_ms = 12;
    j.run.cpu_ms = 11;
    j.run.memory_kb = 2048;
    j.run.message = "expected 3";
    j.compile = StepResult{Verdict::OK, 0, "", "warning", 300, 290, 50000, ""};
    j.cached = true;
    j.tests = {TestResult{"a", StepResult{Verdict::OK, 0, "3\n", "", 1, 1, 1000, ""}, false},
               TestResult{"b", StepResult{Verdict::Skipped, std::nullopt, "", "", 0, 0, 0, "skipped"}, true}};
    j.failed_test = "b";
    j.cancelled = false;
    return j;
}

void same_step(const StepResult& a, const StepResult& b) {
    CHECK(a.verdict == b.verdict);
    CHECK(a.exit_code == b.exit_code);
    CHECK(a.stdout_data == b.stdout_data);
    CHECK(a.stderr_data == b.stderr_data);
    CHECK(a.time_ms == b.time_ms);
    CHECK(a.cpu_ms == b.cpu_ms);
    CHECK(a.memory_kb == b.memory_kb);
    CHECK(a.message == b.message);
}

}  // namespace

TEST_CASE("a job request survives the host-local form whole", "[unit]") {
    const JobRequest q = full_request();
    auto back = decode_request(encode_request(q));
    REQUIRE(back);
    CHECK(back->language == q.language);
    CHECK(back->code == q.code);
    REQUIRE(back->files.size() == 2);
    CHECK(back->files[1].name == "lib/util.py");
    CHECK(back->files[1].content == q.files[1].content);
    CHECK(back->stdin_data == q.stdin_data);
    CHECK(back->args == q.args);
    CHECK(back->limits == q.limits);
    REQUIRE(back->tests.size() == 2);
    CHECK(back->tests[0].name == "первый");
    CHECK(back->tests[0].expected_output == q.tests[0].expected_output);
    CHECK(back->tests[0].args == q.tests[0].args);
    CHECK(back->tests[0].time_ms == q.tests[0].time_ms);
    CHECK_FALSE(back->tests[1].expected_output);
    CHECK(back->tests[1].memory_mb == 64);
    CHECK(back->checker.kind == CheckerKind::Float);
    CHECK(back->checker.abs_tolerance == 0.25);
    CHECK(back->checker.rel_tolerance == 1e-9);
    CHECK(back->checker.language == "c");
    CHECK(back->checker.code == q.checker.code);
    CHECK(back->checker.files.size() == 1);
    CHECK(back->checker.limits == q.checker.limits);
    CHECK(back->stop_on_failure);
    CHECK(back->max_output_bytes == 12345);
}

TEST_CASE("a job result and a test's progress survive the host-local form whole", "[unit]") {
    const JobResult j = full_result();
    auto back = decode_result(encode_result(j));
    REQUIRE(back);
    CHECK(back->language == "c");
    same_step(back->run, j.run);
    REQUIRE(back->compile);
    same_step(*back->compile, *j.compile);
    CHECK(back->cached);
    REQUIRE(back->tests.size() == 2);
    CHECK(back->tests[1].name == "b");
    same_step(back->tests[1].result, j.tests[1].result);
    CHECK(back->tests[1].output_truncated);
    CHECK(back->failed_test == "b");
    CHECK_FALSE(back->cancelled);

    auto p = decode_test_progress(encode_test_progress(j.tests[0], 0, 2));
    REQUIRE(p);
    CHECK(p->test.name == "a");
    CHECK(p->index == 0);
    CHECK(p->total == 2);
    CHECK_FALSE(decode_test_progress(encode_test_progress(j.tests[0], 2, 2)));  // index past the end
}

TEST_CASE("a cut, lengthened or corrupted job message is refused whole", "[unit]") {
    const std::string request = encode_request(full_request());
    const std::string result = encode_result(full_result());
    // Every proper prefix, and one byte more.
    for (size_t n = 0; n < request.size(); ++n) CHECK_FALSE(decode_request(request.substr(0, n)));
    for (size_t n = 0; n < result.size(); ++n) CHECK_FALSE(decode_result(result.substr(0, n)));
    CHECK_FALSE(decode_request(request + "x"));
    CHECK_FALSE(decode_result(result + "x"));
    // One message is not the other.
    CHECK_FALSE(decode_request(result));
    CHECK_FALSE(decode_result(request));
    // A length that claims more than there is, and a verdict out of range.
    std::string huge = request;
    const size_t len_at = std::strlen("execd-job-request 1\n");
    huge[len_at + 7] = '\x7f';
    CHECK_FALSE(decode_request(huge));
    std::string bad_verdict = result;
    const size_t verdict_at = std::strlen("execd-job-result 1\n") + 8 + 1;  // after "c"
    bad_verdict[verdict_at] = '\x42';
    CHECK_FALSE(decode_result(bad_verdict));
    // Every single byte flipped: refused or decoded, never a crash.
    size_t decoded = 0;
    for (size_t i = 0; i < request.size(); ++i) {
        std::string flipped = request;
        flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
        if (decode_request(flipped)) ++decoded;
    }
    CHECK(decoded < request.size());
}
