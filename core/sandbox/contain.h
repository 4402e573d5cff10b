// The spawner and the box init (plan.h), over decoded messages. Freestanding:
// part of the box init binary (core/sandbox/init/), not of execd_core.
#pragma once

#include <linux/filter.h>

#include "core/sandbox/plan.h"

namespace execd::init {

// The spawner's plan, checked, with its descriptor.
struct SpawnerConfig {
    const SpawnerPlan* plan;
    const sock_filter* seccomp;
    int mntns_fd;  // the box root's mount namespace
};

// One box init's inputs: the spawner's config and one SpawnRequest's
// descriptors, valid in the box init.
struct Standby {
    const SpawnerConfig* config;
    uint32_t uid, gid;
    int ctl_fd;         // control socket: RunPlan in, ChildReports out
    int netns_fd;       // the slot's empty network namespace
    int clone_into_fd;  // v2: the box cgroup's directory; else -1
    int task_fds[3];    // v1: `tasks` files
    int n_task_fds;
};

// Runs as PID 1 of a new PID namespace, forked by the spawner: prepares the
// box and the program's process, reports Ready, then runs one RunPlan (or
// exits when the control socket closes first). Never returns.
[[noreturn]] void run_box_init(const Standby& standby);

// Receives one message and up to `max_fds` descriptors (made close-on-exec)
// with one recvmsg. Returns the byte count or -errno; *n_fds is how many
// descriptors came (extra ones are closed).
long receive(int sock, void* buf, unsigned long cap, int* fds, int max_fds, int* n_fds);

// Sends `len` bytes and `n_fds` descriptors with one sendmsg. Returns the
// byte count or -errno.
long send_with_fds(int sock, const void* buf, unsigned long len, const int* fds, int n_fds);

}  // namespace execd::init
