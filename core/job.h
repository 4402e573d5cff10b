// What a job asks for and what it gets back. Plain data: the runner fills a
// JobResult from a JobRequest; the API codec and the CLI's reports read them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "registry.h"
#include "verdict.h"

namespace execd {

struct SourceFile {
    std::string name;      // "main.c" or one directory level down: "lib/util.c"
    std::string content;
};

// How a test's output is compared with its expected output.
enum class CheckerKind {
    Exact,    // byte for byte
    Lines,    // trailing whitespace of each line and trailing empty lines ignored (the default)
    Tokens,   // whitespace-separated tokens
    Float,    // tokens; numbers equal within an absolute or relative tolerance
    Program,  // a checker program in any registered language decides
};

struct CheckerSpec {
    CheckerKind kind = CheckerKind::Lines;
    double abs_tolerance = 1e-6;        // Float: |a - b| <= abs_tolerance ...
    double rel_tolerance = 1e-6;        // ... or <= rel_tolerance * |expected|
    // Program: its source (as a job's code or files) and its run limits.
    std::string language;
    std::string code;
    std::vector<SourceFile> files;
    LimitOverrides limits;
};

struct TestCase {
    std::string name;
    std::string stdin_data;
    std::optional<std::string> expected_output;   // none: the test passes when the run is OK
    std::vector<std::string> args;                // appended to the run argv (after the job's args)
    std::optional<int64_t> time_ms, memory_mb;    // over the job's limits for this test
};

struct StepResult {
    Verdict verdict = Verdict::InternalError;
    std::optional<int> exit_code;       // none for InternalError and Skipped
    std::string stdout_data, stderr_data;
    int64_t time_ms = 0, cpu_ms = 0, memory_kb = 0;
    std::string message;                // why, for anything but OK
};

struct TestResult {
    std::string name;
    StepResult result;                  // WrongAnswer/CheckerError/Skipped are per-test verdicts
    bool output_truncated = false;      // stdout/stderr kept only up to kTestOutputKeepBytes each
};

// Per test, this much of stdout and of stderr is kept in the result; the whole
// output is still what the checker compares.
inline constexpr size_t kTestOutputKeepBytes = 8192;

struct JobResult {
    std::string language;               // resolved id
    // The verdict of the job. With tests: OK when every test passed, else the
    // first failing test's verdict, exit code, output and message (time, CPU
    // and memory are totals/peaks over the tests). CompileError lives here too.
    StepResult run;
    std::optional<StepResult> compile;  // present for compiled languages
    bool cached = false;                // the compile step's artifact came from the compile cache
    std::vector<TestResult> tests;      // one per requested test, in order
    std::string failed_test;            // the first failing test's name, if any
    bool cancelled = false;             // stopped through JobRequest::cancel; no verdict applies
};

struct JobRequest {
    std::string language;               // id or alias
    std::string code;                   // written to the language's source file...
    std::vector<SourceFile> files;      // ...or these (one must be the language's source file)
    std::string stdin_data;
    std::vector<std::string> args;      // appended to the run argv
    LimitOverrides limits;              // the request's own limits over the language's
    // Grading: with tests, the program is compiled once and run once per test.
    std::vector<TestCase> tests;
    CheckerSpec checker;
    bool stop_on_failure = false;       // later tests become Skipped after the first failure
    // Without an explicit output limit, a test may print up to twice its
    // expected output (at least the language's limit), but never more than this.
    int64_t max_output_bytes = int64_t{1} << 30;
    const std::atomic<bool>* cancel = nullptr;  // stops the job when it turns true
    // Called after each test (not for Skipped ones), from the running thread.
    std::function<void(const TestResult&, size_t index, size_t total)> on_test;
};

}  // namespace execd
