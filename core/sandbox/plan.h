// What the supervisor hands the box's helper processes, and what they report.
//
// Three programs of one small static binary (core/sandbox/init/), none of
// which shares memory with the supervisor or holds anything of its argv or
// environment:
//
//   the spawner  one per Sandbox, executed once from a sealed memfd. It keeps
//                its privileges and does one thing: on a SpawnRequest it
//                forks a box init into new PID, IPC and UTS namespaces.
//   a box init   PID 1 of one run's box, made ahead of the run (a "standby"):
//                it joins the slot's network namespace, enters a fresh copy of
//                the box root's mount namespace, mounts /proc and starts the
//                program's process, which joins the box's cgroup and drops
//                every privilege and loads the filter, then waits. When the
//                RunPlan arrives it mounts /box and /tmp and lets the program
//                execute, reaps, reports the exit status and exits.
//   the program  PID 2, started by the box init (contain.cpp).
//
// So the per-run path holds only what depends on the run; namespaces, the
// privilege drop and the filter are prepared while the previous run's result
// is handled. Messages hold no pointers: a fixed header, then strings and
// arrays addressed by their offset from the start of the message. Plain data
// only: this header is compiled both into execd_core and into the
// freestanding init, which has no C++ library.
#pragma once

#include <stdint.h>

namespace execd {

// The steps, in order. The supervisor names the failing one in its error.
// clang-format off
enum class ChildStage : int32_t {
    ExecInit = 1, ReadPlan, NetNamespace, Hostname, Mounts, Signals, CloseFds, Fork, CgroupJoin,
    CgroupNamespace, Rlimits, Capabilities, Groups, Gid, Uid, NoNewPrivs, Seccomp, Stdio, Exec, Spawn,
};
// clang-format on

// Within ChildStage::Mounts, the mount that failed (ChildReport::detail).
enum class MountStage : int32_t { EnterRoot, NewNamespace, AttachWork, Proc, Tmp, ChdirBox };

// One record from a box init on its control socket. Ready: the box is
// prepared and the program's process waits for its plan; the record carries
// a pidfd of the init (SCM_RIGHTS). Failure: a step failed, `stage` and `err`
// say which and why. Exit: the program's main process ended with wait status
// `detail`, its peak resident set (wait4's ru_maxrss, what /usr/bin/time
// reports) in `max_rss_kb`. 24 bytes, written with one call each.
struct ChildReport {
    enum Kind : int32_t { Failure = 1, Exit = 2, Ready = 3 };
    int32_t kind;
    int32_t stage;
    int32_t err;
    int32_t detail;  // MountStage on mount failures, the rlimit on Rlimits, the wait status on Exit
    int32_t max_rss_kb = 0;
    int32_t unused = 0;
};

struct PlanRlimit {
    int32_t resource;
    int32_t unused;
    uint64_t value;  // soft and hard; ~0 is RLIM_INFINITY
};

inline constexpr uint32_t kSpawnerMagic = 0x32647865;    // "exd2"
inline constexpr uint32_t kRequestMagic = 0x33647865;    // "exd3"
inline constexpr uint32_t kRunMagic = 0x34647865;        // "exd4"
inline constexpr uint32_t kSpawnerMaxBytes = 64 * 1024;  // the spawner's plan: the filter is most of it
inline constexpr uint32_t kPlanMaxBytes = 1u << 20;      // a RunPlan: argv + env; the init's buffer
inline constexpr int kPlanMaxStrings = 4096;             // argv and envp entries, each
inline constexpr int kPlanRlimits = 16;                  // every resource Linux has (RLIM_NLIMITS)
inline constexpr int kRunRlimits = 4;                    // the ones a RunPlan may lower

// The spawner's plan, the first message on its socket, with one descriptor
// (SCM_RIGHTS): the mount namespace of the box root, which every box init
// copies. What every box of the Sandbox shares.
struct SpawnerPlan {
    uint32_t magic;
    uint32_t size;         // of the whole message, header included
    int32_t cap_last_cap;  // /proc/sys/kernel/cap_last_cap
    int32_t n_rlimits;
    // Every resource, set in the program's process while it is prepared.
    // The ones a run chooses (CPU, file size, open files) are set here at
    // their highest and lowered by the RunPlan, which needs no privilege.
    PlanRlimit rlimits[kPlanRlimits];
    uint32_t seccomp_len, seccomp;  // struct sock_filter[seccomp_len] at offset `seccomp`, 8-aligned
};

// One box init to prepare; a message on the spawner's socket. Descriptors
// (SCM_RIGHTS), in order: the box's control socket, the slot's empty network
// namespace, then either the box cgroup's directory (v2, clone_into = 1:
// CLONE_INTO_CGROUP) or n_task_fds `tasks` files the program writes "0" to
// (v1).
struct SpawnRequest {
    uint32_t magic;
    uint32_t uid, gid;  // the box's credentials
    int32_t clone_into;
    int32_t n_task_fds;  // 0..3
};

// One run, on the box's control socket once the init is Ready. Descriptors
// (SCM_RIGHTS with the first bytes), in order: the work dir (a detached mount
// from open_tree, its flags already set), the box's ends of stdin, stdout and
// stderr.
struct RunPlan {
    uint32_t magic;
    uint32_t size;  // of the whole plan, header included
    int32_t n_rlimits;
    PlanRlimit rlimits[kRunRlimits];  // lowered in the program's process; never raised
    uint32_t tmp_options;             // offset of "size=16m,…", or 0 for no /tmp
    // Offsets of arrays of string offsets (uint32_t each). argv[0] is what
    // execve runs.
    uint32_t argc, argv;
    uint32_t envc, envp;
};

}  // namespace execd
