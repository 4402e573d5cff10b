// The warm sandbox. Everything a job on this host needs before its first
// run — the box root in a private mount namespace, a slot's network
// namespace and cgroups, the spawner, a box init prepared ahead — costs
// exec several milliseconds to build and to take down, more than a small
// program takes to run. So exec keeps it: the first `exec run` or `exec
// test` on the host starts a process of its own (`exec warm --serve`, root,
// in a session of its own) that holds a Sandbox and its boxes, and every
// later one hands its job to it over a unix socket in the root-only slot
// lock directory, gets the result back and prints it as before. It ends
// after --warm seconds without a job (300 by default; 0 keeps none).
//
// Containment is the same as in-process: the jobs run through the same
// Runner, Sandbox and boxes; a box dies with the process that supervises it
// (the keeper, through the spawner's parent-death signal), and a job whose
// exec goes away (Ctrl-C, kill -9) is cancelled at once, its box emptied.
// Only root may connect (the directory is root's, mode 0700, and the
// keeper checks each peer's uid), and exec uses a keeper only when the
// listener is root. A keeper serves one configuration — exec's build, the
// registry's text, the state directory, the instance, --no-cache — named by
// a hash in its socket's name and checked again on every job; a change
// starts another, and the old one ends when idle.
#pragma once

#include <optional>
#include <string>

#include "cmd/common.h"

namespace execd::cli {

// --warm, else $EXEC_WARM, else 300: how long a warm sandbox waits idle. 0: none.
int warm_seconds(const GlobalOptions& options);

// Runs `request` in this configuration's warm sandbox, starting one when
// none runs; its on_test is called as tests finish. nullopt when no warm
// sandbox can be used, so the caller runs the job itself: `why` says why
// (it would not start, it refused the job, it ended during it), or is ""
// when there is nothing to warn of (turned off, not root). Throws
// BadRequest as Runner::run does.
std::optional<JobResult> run_warm(const GlobalOptions& options, const JobRequest& request, std::string* why);

}  // namespace execd::cli
