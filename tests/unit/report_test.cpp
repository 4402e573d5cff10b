#include "cmd/report.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace execd;
using namespace execd::cli;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

// Program output a report must not copy raw: C0 controls, an ANSI colour
// sequence, invalid UTF-8 (a lone 0xFF, a truncated sequence), a CDATA end
// and markup.
const std::string kNastyOutput = "1\n\x01\x1b[31mred\x1b[0m \xff\xfe\xc3 ]]> <&> \"q\"\n";

TestResult test_result(const std::string& name, Verdict verdict, int64_t time_ms, int64_t memory_kb,
                       std::string message = {}) {
    TestResult t;
    t.name = name;
    t.result.verdict = verdict;
    t.result.time_ms = time_ms;
    t.result.memory_kb = memory_kb;
    t.result.message = std::move(message);
    return t;
}

TestCase test_case(const std::string& name, const std::string& input, std::optional<std::string> expected) {
    TestCase t;
    t.name = name;
    t.stdin_data = input;
    t.expected_output = std::move(expected);
    return t;
}

struct Job {
    JobRequest request;
    JobResult result;
};

// Five tests: OK, WrongAnswer (with nasty output), TimeLimitExceeded,
// CheckerError and Skipped, in a compiled language.
Job graded_job() {
    Job job;
    job.request.language = "cpp";
    job.request.tests = {test_case("01", "1\n", "1\n"), test_case("02", "2 3\n", "1\n5\n"), test_case("03", "", "3\n"),
                         test_case("04", "4\n", std::nullopt), test_case("05", "5\n", "5\n")};
    JobResult& r = job.result;
    r.language = "cpp";
    r.compile = StepResult{};
    r.compile->verdict = Verdict::OK;
    r.compile->exit_code = 0;
    r.compile->time_ms = 812;

    TestResult ok = test_result("01", Verdict::OK, 12, 3277);
    ok.result.exit_code = 0;
    ok.result.stdout_data = "1\n";
    TestResult wrong = test_result("02", Verdict::WrongAnswer, 10, 3100,
                                   "line 2: expected \"5\", got \"\x1b[31mred\"\nthe rest of the explanation");
    wrong.result.exit_code = 0;
    wrong.result.stdout_data = kNastyOutput;
    wrong.result.stderr_data = "warn\x07\n";
    TestResult slow = test_result("03", Verdict::TimeLimitExceeded, 2000, 1024, "wall time limit of 2000 ms");
    slow.result.exit_code = kExitTimeLimit;
    TestResult checker = test_result("04", Verdict::CheckerError, 15, 2048, "the checker exited with status 3");
    checker.result.stdout_data = "4\n";
    TestResult skipped = test_result("05", Verdict::Skipped, 0, 0, "an earlier test failed");
    r.tests = {ok, wrong, slow, checker, skipped};

    r.run = wrong.result;
    r.failed_test = "02";
    return job;
}

// Compiling failed; the runner left no test results.
Job compile_error_job() {
    Job job;
    job.request.language = "cpp";
    job.request.tests = {test_case("a", "", "1\n"), test_case("b", "", "2\n"), test_case("c", "", "3\n")};
    job.result.language = "cpp";
    job.result.compile = StepResult{};
    job.result.compile->verdict = Verdict::CompileError;
    job.result.compile->exit_code = 1;
    job.result.run.verdict = Verdict::CompileError;
    job.result.run.exit_code = 1;
    job.result.run.message = "main.cpp:3:5: error: 'x' was not declared in this scope\n    3 | x = 1;\n";
    return job;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

constexpr const char* kXmllint = "/usr/bin/xmllint";

// xmllint's verdict on `document` against tests/data/junit.xsd.
test::Process validate(const std::string& document) {
    INFO("xmllint comes with libxml2-utils (packaging/install-deps.sh)");
    REQUIRE(::access(kXmllint, X_OK) == 0);
    const std::string dir = test::make_temp_dir("execd-junit");
    const std::string file = dir + "/report.xml";
    {
        std::ofstream out(file, std::ios::binary);
        out << document;
    }
    test::Process p =
        test::run_process({kXmllint, "--noout", "--schema", EXECD_SOURCE_DIR "/tests/data/junit.xsd", file});
    std::filesystem::remove_all(dir);
    return p;
}

bool only_text_bytes(const std::string& s) {
    for (unsigned char c : s)
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return false;
    return true;
}

std::string replace_first(std::string s, const std::string& from, const std::string& to) {
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("JUnit XML validates against the schema, whatever the program printed", "[unit]") {
    const Job job = graded_job();
    const std::string xml = junit_xml(job.request, job.result, "sol.cpp");
    INFO(xml);

    const test::Process p = validate(xml);
    INFO(p.err);
    CHECK(p.exit_code == 0);

    CHECK_THAT(xml, StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sol.cpp\" tests=\"5\" "
                               "failures=\"2\" errors=\"1\" time=\"2.037\">\n"));
    CHECK_THAT(xml, Contains("<testsuite name=\"sol.cpp\" tests=\"5\" failures=\"2\" errors=\"1\" skipped=\"1\" "
                             "time=\"2.037\">"));
    CHECK_THAT(xml, Contains("<property name=\"language\" value=\"cpp\"/>"));
    CHECK_THAT(xml, Contains("<property name=\"compile_time_ms\" value=\"812\"/>"));
    CHECK_THAT(xml, Contains("<testcase name=\"01\" classname=\"sol_cpp\" time=\"0.012\">"));
    CHECK_THAT(xml, Contains("<failure message=\"line 2: expected &quot;5&quot;, got &quot;\u241b[31mred&quot; "
                             "\u2026\" type=\"WrongAnswer\">"));
    CHECK_THAT(xml, Contains("--- input ---\n2 3\n--- expected output ---\n1\n5\n--- actual output ---\n1\n"));
    CHECK_THAT(xml, Contains("<testcase name=\"03\" classname=\"sol_cpp\" time=\"2.000\">"));
    CHECK_THAT(xml, Contains("<failure message=\"wall time limit of 2000 ms\" type=\"TimeLimitExceeded\">"));
    CHECK_THAT(xml, Contains("exit code 124"));
    CHECK_THAT(xml, Contains("<error message=\"the checker exited with status 3\" type=\"CheckerError\">"));
    CHECK_THAT(xml, Contains("<skipped message=\"an earlier test failed\"/>"));
    CHECK_THAT(xml, Contains("<system-err>warn\u2407\n</system-err>"));
    // The nasty output, made safe: control pictures, U+FFFD, escaped markup.
    CHECK_THAT(xml, Contains("<system-out>1\n\u2401\u241b[31mred\u241b[0m \ufffd\ufffd\ufffd ]]&gt; &lt;&amp;&gt; "
                             "\"q\"\n</system-out>"));
    CHECK(only_text_bytes(xml));
}

TEST_CASE("the JUnit schema check is not vacuous", "[unit]") {
    const Job job = graded_job();
    const std::string xml = junit_xml(job.request, job.result, "sol.cpp");
    REQUIRE(validate(xml).exit_code == 0);

    CHECK(validate(replace_first(xml, "tests=\"5\" failures", "tests=\"five\" failures")).exit_code != 0);
    CHECK(validate(replace_first(xml, "<testcase name=\"01\" ", "<testcase ")).exit_code != 0);
    CHECK(validate(replace_first(xml, "<properties>", "<failure/><properties>")).exit_code != 0);
    CHECK(validate(replace_first(xml, "<testsuites ", "<results ")).exit_code != 0);
    CHECK(validate(replace_first(xml, "time=\"0.012\"", "time=\"12 ms\"")).exit_code != 0);
    // What the sanitising prevents: a raw control byte is not XML 1.0.
    CHECK(validate(replace_first(xml, "\u2401", "\x01")).exit_code != 0);
}

TEST_CASE("JUnit XML for a CompileError: every test is an error with the compiler's output", "[unit]") {
    const Job job = compile_error_job();
    const std::string xml = junit_xml(job.request, job.result);
    INFO(xml);
    const test::Process p = validate(xml);
    INFO(p.err);
    CHECK(p.exit_code == 0);
    CHECK_THAT(xml, Contains("tests=\"3\" failures=\"0\" errors=\"3\" skipped=\"0\""));
    CHECK_THAT(xml, Contains("classname=\"exec test\""));
    const std::string error =
        "<error message=\"main.cpp:3:5: error: 'x' was not declared in this scope \u2026\" "
        "type=\"CompileError\">main.cpp:3:5: error: 'x' was not declared in this scope\n"
        "    3 | x = 1;\n</error>";
    size_t count = 0;
    for (size_t at = xml.find(error); at != std::string::npos; at = xml.find(error, at + 1)) ++count;
    CHECK(count == 3);
    CHECK(xml.find("<system-out>") == std::string::npos);
}

TEST_CASE("JUnit excerpts are capped", "[unit]") {
    Job job = graded_job();
    job.result.tests[1].result.stdout_data = std::string(kTestOutputKeepBytes, 'y');
    job.result.tests[1].output_truncated = true;
    job.request.tests[1].expected_output = std::string(10000, 'x') + "\xc3\xa9";
    const std::string xml = junit_xml(job.request, job.result);
    CHECK(validate(xml).exit_code == 0);
    CHECK_THAT(xml, Contains(std::string(kExcerptBytes, 'x') + "\n[" + std::to_string(10002 - kExcerptBytes) +
                             " more bytes not shown]"));
    CHECK_THAT(xml, Contains("more bytes not shown]\n[the result kept only the first 8192 bytes]</system-out>"));
    CHECK(xml.find(std::string(kExcerptBytes + 1, 'x')) == std::string::npos);
}

TEST_CASE("TAP: plan, ok and not ok lines, YAML diagnostics, SKIP", "[unit]") {
    const Job job = graded_job();
    const std::vector<std::string> lines = lines_of(tap(job.request, job.result));
    INFO(tap(job.request, job.result));
    REQUIRE(lines.size() > 4);
    CHECK(lines[0] == "TAP version 13");
    CHECK(lines[1] == "1..5");
    CHECK(lines[2] == "ok 1 - 01");
    CHECK(lines[3] == "not ok 2 - 02");
    CHECK(lines[4] == "  ---");
    CHECK(lines[5] == "  verdict: WrongAnswer");
    CHECK(lines[6] ==
          "  message: \"line 2: expected \\\"5\\\", got \\\"\u241b[31mred\\\"\\nthe rest of the explanation\"");
    auto has = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) != lines.end(); };
    CHECK(has("  exit_code: 0"));
    CHECK(has("  expected: \"1\\n5\\n\""));
    CHECK(has("  got: \"1\\n\u2401\u241b[31mred\u241b[0m \ufffd\ufffd\ufffd ]]> <&> \\\"q\\\"\\n\""));
    CHECK(has("not ok 3 - 03"));
    CHECK(has("  verdict: TimeLimitExceeded"));
    CHECK(has("  time_ms: 2000"));
    CHECK(has("not ok 4 - 04"));
    CHECK(has("  verdict: CheckerError"));
    CHECK(has("ok 5 - 05 # SKIP an earlier test failed"));
    CHECK(std::count(lines.begin(), lines.end(), "  ...") == 3);
    CHECK(lines.back() == "# 1/5 passed · WrongAnswer on test 2 (02) · compiled in 812 ms");
    // Every line is a TAP line, a YAML line or a comment.
    for (const auto& line : lines)
        CHECK((line.rfind("ok ", 0) == 0 || line.rfind("not ok ", 0) == 0 || line.rfind("  ", 0) == 0 ||
               line.rfind("# ", 0) == 0 || line == "TAP version 13" || line == "1..5"));
}

TEST_CASE("TAP: a '#' in a name is escaped, a CompileError is explained once", "[unit]") {
    Job hashed;
    hashed.request.tests = {test_case("a#b", "", std::nullopt)};
    hashed.result.tests = {test_result("a#b", Verdict::OK, 1, 1)};
    hashed.result.run.verdict = Verdict::OK;
    CHECK_THAT(tap(hashed.request, hashed.result), Contains("\nok 1 - a\\#b\n"));

    const Job job = compile_error_job();
    const std::string text = tap(job.request, job.result);
    INFO(text);
    const std::vector<std::string> lines = lines_of(text);
    CHECK(lines[1] == "1..3");
    CHECK(lines[2] == "# CompileError: no tests ran; the compiler said:");
    CHECK(lines[3] == "#   main.cpp:3:5: error: 'x' was not declared in this scope");
    CHECK(lines[4] == "#       3 | x = 1;");
    CHECK_THAT(text, Contains("not ok 1 - a\n  ---\n  verdict: CompileError\n"));
    CHECK_THAT(text, Contains("not ok 3 - c\n"));
    CHECK(lines.back() == "# 0/3 passed · CompileError · no tests ran");
}

TEST_CASE("table: one line per test and a summary", "[unit]") {
    const Job job = graded_job();
    std::ostringstream out;
    print_table(out, job.request, job.result, TableColor::Plain);
    const std::string text = out.str();
    INFO(text);
    const std::vector<std::string> lines = lines_of(text);
    REQUIRE(lines.size() == 7);
    CHECK(lines[0] == "#  test  verdict               time  memory");
    CHECK(lines[1] == "1  01    OK                   12 ms  3.2 MB");
    CHECK(lines[2] ==
          "2  02    WrongAnswer          10 ms  3.0 MB  line 2: expected \"5\", got \"\u241b[31mred\" \u2026");
    CHECK(lines[3] == "3  03    TimeLimitExceeded  2000 ms  1.0 MB  wall time limit of 2000 ms");
    CHECK(lines[4] == "4  04    CheckerError         15 ms  2.0 MB  the checker exited with status 3");
    CHECK(lines[5] == "5  05    Skipped                  -       -  an earlier test failed");
    CHECK(lines[6] == "1/5 passed · WrongAnswer on test 2 (02) · compiled in 812 ms");
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(summary_line(job.request, job.result) == lines[6]);

    std::ostringstream colored;
    print_table(colored, job.request, job.result, TableColor::Ansi);
    CHECK_THAT(colored.str(), Contains("\x1b[32mOK"));
    CHECK_THAT(colored.str(), Contains("\x1b[31mWrongAnswer"));
    CHECK_THAT(colored.str(), Contains("\x1b[1;31m1/5 passed"));
    // The program's own ESC never reaches the terminal, colour or not.
    CHECK(colored.str().find("\x1b[31mred") == std::string::npos);
}

TEST_CASE("table: all passed, compile cached or interpreted", "[unit]") {
    Job job;
    job.request.tests = {test_case("1", "", "1\n"), test_case("2", "", "2\n")};
    job.result.tests = {test_result("1", Verdict::OK, 5, 10240), test_result("2", Verdict::OK, 7, 10343)};
    job.result.run.verdict = Verdict::OK;
    CHECK(summary_line(job.request, job.result) == "2/2 passed");
    job.result.compile = StepResult{};
    job.result.cached = true;
    CHECK(summary_line(job.request, job.result) == "2/2 passed · compile cached");

    std::ostringstream out;
    print_table(out, job.request, job.result, TableColor::Ansi);
    CHECK_THAT(out.str(), Contains("10.0 MB"));
    CHECK_THAT(out.str(), Contains("10.1 MB"));
    CHECK_THAT(out.str(), EndsWith("\x1b[1;32m2/2 passed · compile cached\x1b[0m\n"));
}

TEST_CASE("table: a CompileError prints the compiler's output and no test lines", "[unit]") {
    const Job job = compile_error_job();
    std::ostringstream out;
    print_table(out, job.request, job.result, TableColor::Plain);
    CHECK(out.str() ==
          "main.cpp:3:5: error: 'x' was not declared in this scope\n    3 | x = 1;\n"
          "0/3 passed · CompileError · no tests ran\n");
}

TEST_CASE("reports: a job that ended before any test carries its verdict to every test", "[unit]") {
    Job job;
    job.request.tests = {test_case("a", "", "1\n"), test_case("b", "", "2\n")};
    job.result.run.verdict = Verdict::InternalError;
    job.result.run.message = "clone: EAGAIN";
    std::ostringstream out;
    print_table(out, job.request, job.result, TableColor::Plain);
    const std::vector<std::string> lines = lines_of(out.str());
    REQUIRE(lines.size() == 4);
    CHECK(lines[1] == "1  a     InternalError     -       -  clone: EAGAIN");
    CHECK(lines[3] == "0/2 passed · InternalError on test 1 (a)");
    const std::string xml = junit_xml(job.request, job.result);
    CHECK_THAT(xml, Contains("tests=\"2\" failures=\"0\" errors=\"2\""));
    CHECK(validate(xml).exit_code == 0);

    // After a failing test, the tests that never ran are Skipped.
    job.result.run.verdict = Verdict::RuntimeError;
    job.result.tests = {test_result("a", Verdict::RuntimeError, 3, 100, "exited with status 1")};
    job.result.failed_test = "a";
    CHECK_THAT(tap(job.request, job.result), Contains("ok 2 - b # SKIP not run\n"));

    // A cancelled job: the rest are Skipped too, and the summary says so.
    job.result.tests.clear();
    job.result.cancelled = true;
    CHECK(summary_line(job.request, job.result) == "0/2 passed · cancelled");
}
