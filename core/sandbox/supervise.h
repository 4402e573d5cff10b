// The supervision of one running box: feeds its stdin, collects its output
// against the output limit, reads its init's reports, and watches the wall
// clock, the cgroup's CPU time, its pids limit, the cancel flag, and whether
// the program is thrashing at its memory limit. One
// thread, one non-blocking poll loop; it never kills anything itself, it says
// why the box should go.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/sandbox/cgroup.h"
#include "core/sandbox/plan.h"
#include "core/sandbox/policy.h"
#include "core/util/fd.h"

namespace execd {

enum class KillReason { None, Wall, Cpu, Output, Pids, Cancel, Memory };

// The supervisor's ends of a running box's pipes.
struct BoxStreams {
    Fd stdin_write;  // empty when there is no stdin to feed
    Fd stdout_read, stderr_read;
};

// What the loop saw.
struct Supervised {
    KillReason kill = KillReason::None;
    std::string stdout_data, stderr_data;       // together at most limits.output_bytes
    std::vector<ChildReport> reports;           // from the box init, in order
    std::chrono::steady_clock::time_point end;  // the exit report, or the kill
    std::string poll_error;                     // poll failed (then kill is Wall)
};

class Supervision {
public:
    using Clock = std::chrono::steady_clock;

    // `status_fd` is the box init's control socket (non-blocking); the
    // streams are made non-blocking here. `start` is when the run began.
    Supervision(const RunPolicy& policy, BoxCgroup& cgroup, int status_fd, BoxStreams streams, Clock::time_point start);

    // Until the init has reported the program's exit (or is gone) and both
    // output pipes are closed, or until there is a reason to kill the box.
    void run();

    // After the box is killed: any report already sent.
    void drain_status();

    Supervised& result() { return seen_; }

private:
    void read_output(Fd& fd, std::string& sink, bool& eof);
    void read_status();
    void feed_stdin();
    // Every 10 ms: CPU time, pids limit, cancel flag; every 100 ms, thrashing.
    KillReason check_counters();
    // Held at its memory limit, a program keeps running only because the
    // kernel evicts the pages of its code and mapped files, which it then
    // reads back from disk: it crawls until the time limit and loads the disk
    // for every other box. Checked every 100 ms; true after kThrashWindows
    // windows in a row that each end at the limit, with most of it memory
    // reclaim cannot take, and with file pages read back from disk soon
    // after their eviction during the window (supervise.cpp).
    bool thrashing();

    const RunPolicy& policy_;
    BoxCgroup& cgroup_;
    int status_fd_;
    BoxStreams streams_;
    Clock::time_point deadline_;
    size_t stdin_off_ = 0;
    std::string status_buf_;
    bool status_eof_ = false, exit_seen_ = false, out_eof_ = false, err_eof_ = false;
    Supervised seen_;
    int ticks_ = 0;
    int64_t major_faults_ = -1, refaults_ = -1;  // at the last window's end, when it was at the limit; else -1
    int thrash_windows_ = 0;                     // thrashing windows in a row
};

}  // namespace execd
