// The one plain description of a sandboxed run. TOML, CLI flags and API
// requests all compile into a RunPolicy before any fork; the child only reads it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace execd {

// Hard limits of one run. Zero never means "unlimited": every field is set.
struct Limits {
    int64_t time_ms = 3000;       // wall clock
    int64_t cpu_ms = 3000;        // CPU time of the whole box
    int64_t memory_mb = 128;      // memory cgroup limit, swap off
    int64_t pids = 50;            // processes + threads in the box
    int64_t output_bytes = 4096;  // stdout + stderr together
    int64_t file_size_mb = 16;    // RLIMIT_FSIZE for files the program writes
    int64_t open_files = 256;     // RLIMIT_NOFILE
};

// How the box's work directory is mounted.
enum class WorkDirAccess { ReadOnly, Writable };

struct RunPolicy {
    std::vector<std::string> argv;           // argv[0] is resolved inside the box
    std::map<std::string, std::string> env;  // the whole environment (an allowlist)
    std::string work_dir;                    // host path, mounted at /box
    WorkDirAccess work_access = WorkDirAccess::ReadOnly;
    int64_t tmpfs_mb = 0;  // writable /tmp of this size, 0 = none
    Limits limits;
    std::string stdin_data;
    // When set and it becomes true, the run is stopped (checked every 10 ms).
    const std::atomic<bool>* cancel = nullptr;
    // Whether the box prepares its next run (namespaces, privileges, filter)
    // as soon as this one ends, off the next run's path. The last run of a
    // box that is then destroyed says no, and saves that work.
    bool prepare_next = true;
};

// What happened to one run, as the sandbox measured it. The verdict is derived
// from this by the runner; the sandbox itself never guesses.
struct RunOutcome {
    bool internal_error = false;  // the sandbox failed; nothing below is about the program
    std::string internal_message;

    bool exited = false;  // the program's main process ended by itself
    int exit_code = 0;    // when exited and not signaled
    int term_signal = 0;  // when killed by a signal (ours or its own)

    bool wall_timeout = false;      // we killed it at the wall-clock limit
    bool cpu_timeout = false;       // CPU time passed the limit
    bool output_exceeded = false;   // stdout+stderr passed the output limit
    bool oom_killed = false;        // the memory cgroup OOM-killed something
    bool memory_thrashing = false;  // we killed it thrashing at its memory limit (supervise.h)
    bool pids_limit_hit = false;    // a fork/clone failed on the pids limit
    bool cancelled = false;         // stopped through RunPolicy::cancel

    std::string stdout_data;
    std::string stderr_data;
    int64_t wall_ms = 0;
    int64_t cpu_ms = 0;
    int64_t memory_kb = 0;  // peak: the box cgroup's, or the main process's max RSS when larger
};

}  // namespace execd
