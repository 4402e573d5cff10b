// The box init's steps (contain.cpp), over a decoded plan. Freestanding:
// part of the box init binary, not of execd_core.
#pragma once

#include <linux/filter.h>

#include "sandbox/plan.h"

namespace execd::init {

// A plan read from the supervisor, its offsets turned into pointers into the
// init's buffer. Every string is NUL-terminated inside the buffer.
struct BoxPlan {
    const PlanHeader* h;
    const char* work_src;
    const char* tmp_options;    // nullptr: no /tmp
    char* const* argv;          // at least argv[0], what execve runs
    char* const* envp;
    const sock_filter* seccomp;
};

// Runs as PID 1 of the box's new PID namespace: joins the slot's network
// namespace, mounts the root, starts the program as PID 2 inside the box's
// cgroup with its limits and credentials, drops its own privileges, reaps
// until the program ends, reports its status and exits. Never returns.
[[noreturn]] void run_box_init(const BoxPlan& plan);

}  // namespace execd::init
