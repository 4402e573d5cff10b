// The operator's maxima a submission is checked against: plain numbers. The
// daemon fills them from its configuration ([limits.max]) in one place
// (daemon::submission_maxima); this module never reads a configuration.
#pragma once

#include <cstdint>

namespace execd::api {

struct Maxima {
    // Every field must be set by whoever builds one: a zero refuses any
    // value given for its fields (and, for tests and job_time_ms, every
    // graded job).
    int64_t time_ms = 0;       // timeoutMs, tests[].timeoutMs, checker.timeoutMs
    int64_t cpu_ms = 0;        // cpuMs
    int64_t memory_mb = 0;     // memoryMb, tests[].memoryMb, checker.memoryMb
    int64_t pids = 0;          // pids
    int64_t output_bytes = 0;  // outputBytes, each tests[].expectedOutput; a graded job's output ceiling
    int64_t code_bytes = 0;    // code, or all files together (the checker's too)
    int64_t stdin_bytes = 0;   // stdin, each tests[].stdin
    int64_t files = 0;         // entries of files (and of checker.files)
    int64_t args = 0;          // entries of args (and of each tests[].args)
    int64_t tests = 0;         // entries of tests
    int64_t job_time_ms = 0;   // a graded job's tests (and checkers) at their wall limits, summed

    // No maximum at all: for reading back a request that was checked against
    // the maxima when it was submitted (the queue's record).
    static Maxima unlimited() noexcept;
};

}  // namespace execd::api
