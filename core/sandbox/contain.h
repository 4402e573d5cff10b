// The child's side of a run, in one place so the order can be reviewed:
// everything between clone and execve. Nothing here allocates, logs or
// throws; a failure is a fixed-size ChildReport on the status pipe.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>

#include "sandbox/cgroup.h"
#include "sandbox/mounts.h"

namespace execd {

// The steps, in order. The parent names the failing one in its error.
enum class ChildStage : int32_t {
    CgroupJoin = 1, CgroupNamespace, NetNamespace, Hostname, Mounts, Signals, CloseFds, Rlimits,
    Capabilities, Groups, Gid, Uid, NoNewPrivs, Seccomp, Fork, Stdio, Exec,
};

const char* child_stage_name(ChildStage s) noexcept;

// One record on the status pipe. Kind Failure: a setup step failed, `stage`
// and `err` say which and why. Kind Exit: the program's main process ended
// with wait status `status`.
struct ChildReport {
    enum Kind : int32_t { Failure = 1, Exit = 2 };
    int32_t kind;
    int32_t stage;
    int32_t err;
    int32_t detail;   // MountStage on mount failures; the wait status on Exit
};

struct ChildRlimit {
    int resource;
    rlim_t value;
};

// Everything the child reads, prepared by the parent before clone.
struct ChildPlan {
    JoinPlan cgroup;
    int netns_fd;
    ChildMounts mounts;
    int stdin_fd, stdout_fd, stderr_fd;  // the box's ends of the three pipes
    int status_fd;                       // write end of the status pipe
    ChildRlimit rlimits[8];
    int n_rlimits;
    uid_t uid;
    gid_t gid;
    int cap_last_cap;                    // /proc/sys/kernel/cap_last_cap
    const sock_fprog* seccomp;
    const char* path;                    // argv[0]
    char* const* argv;
    char* const* envp;
};

// Runs in the freshly cloned child (PID 1 of a new PID namespace): joins the
// cgroup and network namespace, mounts the root, forks the program as PID 2
// and stays as the namespace's init, reaping until the program ends, then
// reports its status and exits. Never returns.
[[noreturn]] void run_box_init(const ChildPlan& plan) noexcept;

}  // namespace execd
