// Memory, pids and CPU accounting for boxes, on cgroup v1 or v2 behind one
// interface. The version is chosen once at start-up (CgroupManager::detect).
//
// Four moments: the supervisor readies the box's cgroup for the next run
// (BoxCgroup::recycle), the program's process joins it while it is prepared
// ahead of the run (JoinPlan, used by contain.cpp), the run applies its limits
// and takes its counters' starting points (prepare), and the supervisor
// finishes (kill_all, finish).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/sandbox/policy.h"

namespace execd {

// What the child needs to join its box's cgroup without allocating.
struct JoinPlan {
    int clone_into_fd = -1;              // v2: directory fd for clone3(CLONE_INTO_CGROUP)
    int task_fds[4] = {-1, -1, -1, -1};  // v1: `tasks` files the child writes "0" to
    int n_task_fds = 0;
};

// Counters read after a run, relative to the start of that run.
struct CgroupUsage {
    int64_t cpu_ns = 0;
    int64_t memory_peak_bytes = 0;
    int64_t oom_kills = 0;
    int64_t pids_limit_hits = 0;
};

// The cgroup(s) of one box slot.
class BoxCgroup {
public:
    virtual ~BoxCgroup() = default;

    // Makes the cgroup ready to be joined by the next run's process (v2: a
    // fresh directory, so every counter starts at zero). Throws SystemFailure.
    virtual void recycle() = 0;

    // How the next run's process joins; valid after recycle().
    virtual JoinPlan join_plan() const = 0;

    // Applies the limits and takes the counters' starting points, with the
    // run's process already inside and waiting. Throws SystemFailure.
    virtual void prepare(const Limits& limits) = 0;

    // CPU time used so far in this run, cheap enough to call every few ms.
    virtual int64_t cpu_ns() = 0;

    // Whether a fork or clone has failed on the pids limit during this run.
    virtual bool pids_limit_hit() = 0;

    // Memory charged to the box now, page cache included (v1:
    // memory.usage_in_bytes; v2: memory.current). Cheap: one small read.
    virtual int64_t memory_usage() = 0;

    // From memory.stat: what reclaim cannot take (anonymous memory and tmpfs,
    // there being no swap); the page faults that had to read from disk
    // (`pgmajfault`); and the file pages read back soon after they were
    // evicted (`workingset_refault_file`, through a mapping or read(2); -1
    // when the kernel does not report it). The counters are cumulative over
    // the cgroup's life: callers compare two readings. A larger read: call it
    // only when memory_usage() is at the limit.
    struct MemoryStat {
        int64_t unreclaimable_bytes = 0;
        int64_t major_faults = 0;
        int64_t refaults = -1;
    };
    virtual MemoryStat memory_stat() = 0;

    // Kills every process in the box and waits until the cgroup is empty.
    // Returns false if it could not be emptied (an internal error).
    virtual bool kill_all() = 0;

    // Reads this run's counters once the box is empty. Throws SystemFailure.
    virtual CgroupUsage finish() = 0;
};

class CgroupManager {
public:
    virtual ~CgroupManager() = default;

    // Picks v2 when /sys/fs/cgroup is a cgroup2 mount, otherwise v1 with the
    // memory, pids and cpuacct hierarchies. Creates execd's parent cgroup(s).
    // Throws SystemFailure with a hint when neither is usable.
    // `parent` names execd's parent cgroup ("execd", or "execd-<instance>").
    static std::unique_ptr<CgroupManager> detect(const std::string& parent);

    // The cgroup(s) of the box running as uid `box_id` ("box-<id>"),
    // created if missing. Throws SystemFailure.
    virtual std::unique_ptr<BoxCgroup> make_box(int box_id) = 0;

    // Ids of the box cgroups that exist now ("box-<id>"), whoever made them.
    virtual std::vector<int> existing_boxes() const = 0;

    // Kills whatever is left in box `box_id`'s cgroups and removes them: for
    // boxes a crashed execd process left behind.
    virtual void remove_box(int box_id) = 0;

    // "cgroup v1 (/sys/fs/cgroup/memory/execd, …)" for logs.
    virtual std::string describe() const = 0;

    virtual int version() const = 0;
};

// Implementations, chosen by detect().
std::unique_ptr<CgroupManager> make_cgroup_v1_manager(const std::string& mount_root, const std::string& parent);
std::unique_ptr<CgroupManager> make_cgroup_v2_manager(const std::string& mount_root, const std::string& parent);

// Parses "key value" lines (memory.events, pids.events, cpu.stat, oom_control)
// and returns the value of `key`, or 0 when the key is absent.
int64_t read_keyed_value(const std::string& text, const std::string& key) noexcept;

// The same, or -1 when the key is absent.
int64_t read_keyed_value_or_absent(const std::string& text, const std::string& key) noexcept;

// The ids of the "box-<id>" directories below `parent`.
std::vector<int> list_box_dirs(const std::string& parent);

// Reads a small knob through a kept fd with pread (no path walk). -1 on error.
int64_t pread_int(int fd) noexcept;
std::string pread_text(int fd);

}  // namespace execd
