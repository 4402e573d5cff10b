// What the supervisor hands the box init, and what the box init reports back.
//
// The box init is a small static program of its own (core/sandbox/init/),
// executed fresh for every run, so that nothing of the supervisor — its
// memory, its argv, its environment — is ever inside a box. The plan crosses
// execve on a pipe, so it holds no pointers: a fixed header, then strings and
// arrays addressed by their offset from the start of the plan. Plain data
// only: this header is compiled both into execd_core and into the
// freestanding init, which has no C++ library.
#pragma once

#include <stdint.h>

namespace execd {

// The steps, in order. The supervisor names the failing one in its error.
enum class ChildStage : int32_t {
    ExecInit = 1, ReadPlan, NetNamespace, Hostname, Mounts, Signals, CloseFds, Fork, CgroupJoin,
    CgroupNamespace, Rlimits, Capabilities, Groups, Gid, Uid, NoNewPrivs, Seccomp, Stdio, Exec,
};

// Within ChildStage::Mounts, the mount that failed (ChildReport::detail).
enum class MountStage : int32_t { OpenWork, WorkFlags, EnterRoot, NewNamespace, AttachWork, Proc, Tmp, ChdirBox };

// One record on the status pipe. Kind Failure: a setup step failed, `stage`
// and `err` say which and why. Kind Exit: the program's main process ended
// with wait status `detail`. 16 bytes, so one pipe write is atomic.
struct ChildReport {
    enum Kind : int32_t { Failure = 1, Exit = 2 };
    int32_t kind;
    int32_t stage;
    int32_t err;
    int32_t detail;   // MountStage on mount failures, the rlimit on Rlimits, the wait status on Exit
};

struct PlanRlimit {
    int32_t resource;
    int32_t unused;
    uint64_t value;   // soft and hard; ~0 is RLIM_INFINITY
};

inline constexpr uint32_t kPlanMagic = 0x31647865;      // "exd1"
inline constexpr uint32_t kPlanMaxBytes = 1u << 20;     // argv + env + filter; the init's buffer
inline constexpr int kPlanMaxStrings = 4096;            // argv and envp entries, each
inline constexpr int kPlanRlimits = 16;                 // every resource Linux has (RLIM_NLIMITS)

struct PlanHeader {
    uint32_t magic;
    uint32_t size;              // of the whole plan, header included

    // Descriptors, valid in the init (the supervisor clears their CLOEXEC).
    int32_t status_fd;          // write end of the status pipe
    int32_t stdin_fd, stdout_fd, stderr_fd;   // the box's ends of the three pipes
    int32_t netns_fd;           // the slot's empty network namespace
    int32_t mntns_fd;           // the box root's mount namespace (the Sandbox's), copied per run
    int32_t clone_into_fd;      // v2: the box cgroup's directory, for CLONE_INTO_CGROUP; else -1
    int32_t task_fds[4];        // v1: `tasks` files the program writes "0" to
    int32_t n_task_fds;

    uint32_t uid, gid;          // the box's credentials
    int32_t cap_last_cap;       // /proc/sys/kernel/cap_last_cap
    int32_t n_rlimits;
    PlanRlimit rlimits[kPlanRlimits];
    uint32_t work_writable;     // 1: /box is writable (a compile step)

    // Offsets of NUL-terminated strings; 0 means absent.
    uint32_t work_src;          // the job's work dir (a path in the supervisor's mount namespace)
    uint32_t tmp_options;       // "size=16m,…", or 0 for no /tmp

    // Offsets of arrays of string offsets (uint32_t each). argv[0] is what
    // execve runs.
    uint32_t argc, argv;
    uint32_t envc, envp;

    // Offset of the seccomp program (struct sock_filter[seccomp_len]), 8-aligned.
    uint32_t seccomp_len, seccomp;
};

}  // namespace execd
