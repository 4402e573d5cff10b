// `exec test SOLUTION --tests DIR`: a directory of tests read into the grading
// fields of a JobRequest.
//
// The directory:
//
//   NAME.in      a test: NAME is its name, the file its stdin
//   NAME.out     its expected output (optional: without it the test passes
//   NAME.ans     when the run is OK); .ans is accepted as the other common
//                spelling, but a test may not have both
//   tests.toml   optional settings (below)
//
// Everything else (dot files, subdirectories, sources, a checker program) is
// ignored. Extensions are lower case. Tests run in natural order: 1, 2, 10,
// a1, a2, a10 (digit runs compare as numbers).
//
// Test names follow the API's rule (is_valid_test_name, core/job.h): 1 to
// 200 bytes of UTF-8 without control characters, so "sample 1" or "café" is
// fine; in tests.toml such a name is a quoted key, [tests."sample 1"]. The
// reports escape what would change their meaning (TAP's '#', XML, the
// terminal).
//
// tests.toml:
//
//   stop_on_failure = false           # later tests become Skipped after a failure
//   [limits]                          # every test: time_ms cpu_ms memory_mb pids output_bytes
//   [checker]
//   type = "lines"                    # exact | lines (default) | tokens | float | program
//   abs_tolerance = 1e-6              # float only
//   rel_tolerance = 1e-6              # float only
//   file = "check.py"                 # program only (required): a path relative to DIR
//   language = "python"               # program only: else from the file's extension
//   limits = { time_ms = 5000 }       # program only: the checker's own run limits
//   [tests.NAME]                      # one test: time_ms memory_mb args = ["..."]
//
// Unknown keys, keys that do not apply to the checker type and [tests.NAME]
// without NAME.in are refused, so a typo never passes silently.
#pragma once

#include <string>
#include <vector>

#include "core/job.h"
#include "core/registry.h"
#include "core/runner.h"

namespace execd::cli {

// What a test directory asks for. The command copies these into its
// JobRequest; its own flags (limits, --stop-on-failure) go over them.
struct TestSuite {
    std::vector<TestCase> tests;  // natural order; never empty
    CheckerSpec checker;          // for Program: language id and code read in
    LimitOverrides limits;        // [limits], for every test
    bool stop_on_failure = false;
};

// A test directory that cannot be used. The message names the file (and for
// tests.toml the line) and the reason: "t/tests.toml:7: [checker]: unknown
// key 'tolerance'". A BadRequest on the field "tests", so the CLI reports it
// as a usage error (exit 2).
class TestDirError : public BadRequest {
public:
    explicit TestDirError(const std::string& message) : BadRequest("tests", message) {}
};

// Reads every test, expected output, tests.toml and the checker program in
// `dir`. `registry` resolves the checker program's language. Throws
// TestDirError: the directory cannot be read or holds no test, a file cannot
// be read, NAME.out or NAME.ans has no NAME.in, a test has both, a test name
// is unsafe, tests.toml is malformed, or its checker program is missing or of
// an unknown language.
TestSuite load_test_dir(const std::string& dir, const Registry& registry);

// Natural order: runs of digits compare by value (then, for "01" against
// "1", the shorter first), everything else byte by byte. A strict weak order.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace execd::cli
