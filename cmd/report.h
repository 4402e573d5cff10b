// Reports of a graded job: a table for the terminal, JUnit XML for CI
// (Jenkins, GitLab, GitHub) and TAP version 13. Pure functions of the request
// (names, stdin and expected outputs for excerpts) and its result; JSON comes
// from the API's result document (api/result.h).
//
// How the result's tests map to rows: result.tests[i] is request.tests[i]
// (the runner keeps the order). The rules that keep a broken job from looking
// green in CI:
//   - A CompileError job reports every requested test as CompileError, with
//     the compiler's output, whatever result.tests holds. (One row per test,
//     not one "compile" case, so CI's per-test history stays comparable.)
//   - A test without a result (the job ended early) is Skipped ("not run")
//     when an earlier test explains the failure or the job was cancelled;
//     otherwise it carries the job's verdict and message (an InternalError
//     before any test, say).
//
// Program output is never written raw: invalid UTF-8 becomes U+FFFD, control
// characters other than tab and newline become their Unicode control pictures
// (ESC is shown as U+241B), so output can neither break XML 1.0 nor drive the
// terminal. Excerpts keep the first kExcerptBytes of a text and say how much
// was left out.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "core/job.h"

namespace execd::cli {

// How much of an input, an expected output, stdout, stderr or a compiler's
// output a report shows per test.
inline constexpr size_t kExcerptBytes = 2048;

enum class TableColor {
    Plain,
    Ansi,  // SGR colours; for a terminal
};

// One line per test (number, name, verdict, wall time in ms, peak memory in MB
// with one decimal, and for a failure the first line of its message), then a
// summary: "3/5 passed · WrongAnswer on test 3 (03) · compiled in 812 ms"
// ("compile cached" when the compile cache served it). For a CompileError,
// the compiler's output and "no tests ran" instead of the lines. Never throws
// but for the stream's own exceptions.
void print_table(std::ostream& out, const JobRequest& request, const JobResult& result, TableColor color);

// The summary line print_table ends with, without colour or newline.
std::string summary_line(const JobRequest& request, const JobResult& result);

// A JUnit XML document: <testsuites> holding one <testsuite name=`suite`>
// with a <properties> block (language, compile time or cache) and one
// <testcase> per test. WrongAnswer, RuntimeError and the limit verdicts are
// <failure type="Verdict">, CompileError, CheckerError and InternalError are
// <error type="Verdict">, Skipped is <skipped>; the body holds the message and
// excerpts of the input, the expected output and the actual output. Each run
// test's stdout and stderr excerpts go in <system-out>/<system-err>. Times in
// seconds with three decimals. The classname is `suite` with dots turned into
// underscores. Always valid XML 1.0 (tests/data/junit.xsd describes it).
std::string junit_xml(const JobRequest& request, const JobResult& result, const std::string& suite = "exec test");

// TAP version 13: "1..N", then "ok N - name", "ok N - name # SKIP reason"
// or "not ok N - name" followed by an indented YAML block (verdict, message,
// time_ms, memory_kb, exit_code, expected and got excerpts). A CompileError's
// compiler output comes once, as comment lines; the summary line ends the
// stream as a comment.
std::string tap(const JobRequest& request, const JobResult& result);

}  // namespace execd::cli
