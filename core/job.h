// What a job asks for and what it gets back. Plain data: the runner fills a
// JobResult from a JobRequest; the API codec and the CLI's reports read them.
// Also the two rules on a request's names that every reader of a request
// (the API's parser, the CLI's test directories, the runner) applies.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/registry.h"
#include "core/util/utf8.h"
#include "core/verdict.h"

namespace execd {

struct SourceFile {
    std::string name;  // "main.c" or one directory level down: "lib/util.c"
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

// The files a checker program finds in /box next to its own, named on its
// command line in this order (testlib's: the test's input, the program's
// output, the expected answer). A checker's own files may not be named so.
inline constexpr const char* kCheckerInputFile = "input.txt";
inline constexpr const char* kCheckerActualFile = "actual.txt";
inline constexpr const char* kCheckerExpectedFile = "expected.txt";
inline constexpr std::array<const char*, 3> kCheckerDataFiles = {kCheckerInputFile, kCheckerActualFile,
                                                                 kCheckerExpectedFile};

inline bool is_checker_data_file(std::string_view name) noexcept {
    for (const char* reserved : kCheckerDataFiles)
        if (name == reserved) return true;
    return false;
}

struct CheckerSpec {
    CheckerKind kind = CheckerKind::Lines;
    double abs_tolerance = 1e-6;  // Float: |a - b| <= abs_tolerance ...
    double rel_tolerance = 1e-6;  // ... or <= rel_tolerance * |expected|
    // Program: its source (as a job's code or files) and its run limits.
    std::string language;
    std::string code;
    std::vector<SourceFile> files;
    LimitOverrides limits;
};

// A test's name: 1 to 200 bytes of valid UTF-8 without control characters
// (a space, '#' or a letter in any script is fine). The API has always
// accepted exactly these; `exec test` takes them from file names (NAME.in).
// The reports escape what would change their meaning (TAP's '#', XML, the
// terminal), so nothing stricter is needed.
inline constexpr size_t kMaxTestNameBytes = 200;
inline constexpr const char* kTestNameRule = "a test name must be 1 to 200 printable characters";

inline bool is_valid_test_name(std::string_view name) noexcept {
    return !name.empty() && name.size() <= kMaxTestNameBytes && is_printable_utf8(name);
}

struct TestCase {
    std::string name;
    std::string stdin_data;
    std::optional<std::string> expected_output;  // none: the test passes when the run is OK
    std::vector<std::string> args;               // appended to the run argv (after the job's args)
    std::optional<int64_t> time_ms, memory_mb;   // over the job's limits for this test
};

struct StepResult {
    Verdict verdict = Verdict::InternalError;
    std::optional<int> exit_code;  // none for InternalError and Skipped
    std::string stdout_data, stderr_data;
    int64_t time_ms = 0, cpu_ms = 0, memory_kb = 0;
    std::string message;  // why, for anything but OK
};

struct TestResult {
    std::string name;
    StepResult result;              // WrongAnswer/CheckerError/Skipped are per-test verdicts
    bool output_truncated = false;  // stdout/stderr kept only up to kTestOutputKeepBytes each
};

// Per test, this much of stdout and of stderr is kept in the result; the whole
// output is still what the checker compares.
inline constexpr size_t kTestOutputKeepBytes = 8192;

struct JobResult {
    std::string language;  // resolved id
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
    std::string language;           // id or alias
    std::string code;               // written to the language's source file...
    std::vector<SourceFile> files;  // ...or these (one must be the language's source file)
    std::string stdin_data;
    std::vector<std::string> args;  // appended to the run argv
    LimitOverrides limits;          // the request's own limits over the language's
    // Grading: with tests, the program is compiled once and run once per test.
    std::vector<TestCase> tests;
    CheckerSpec checker;
    bool stop_on_failure = false;  // later tests become Skipped after the first failure
    // Without an explicit output limit, a test may print up to twice its
    // expected output (at least the language's limit), but never more than this.
    int64_t max_output_bytes = int64_t{1} << 30;
    const std::atomic<bool>* cancel = nullptr;  // stops the job when it turns true
    // Called after each test (not for Skipped ones), from the running thread.
    std::function<void(const TestResult&, size_t index, size_t total)> on_test;
};

}  // namespace execd
