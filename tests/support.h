// Shared by the test files: the repository's registry, one Sandbox for the
// whole test process, a helper to run a snippet, and a subprocess runner.
#pragma once

#include <string>
#include <vector>

#include "core/registry.h"
#include "core/runner.h"
#include "core/sandbox/sandbox.h"

namespace execd::test {

// The repository's languages.toml.
const Registry& repo_registry();

// How many times slower than the host the machine under test is taken to
// be: EXECD_TEST_TIME_SCALE, a whole number from 1 (unset) to 20.
// tests/run-all.sh sets it for the cgroup v2 run, whose QEMU guest emulates
// its CPU in software. Throws std::invalid_argument on anything else.
int test_time_scale();

// repo_registry() with every compile step's time limit multiplied by
// test_time_scale(): how fast a compiler is on a slow machine is not what a
// test of limits is about.
const Registry& scaled_registry();

// The path of a language's sample `kind` ("hello", "echo", ...):
// tests/langs/<id>/<kind>.<one of its extensions>, or for a variant that has
// none of its own, its base's; "" when there is none.
std::string language_sample(const Language& lang, const std::string& kind);

// One native sandbox for the test process (created on first use).
Sandbox& shared_sandbox();

// Runs `code` as language `lang` with optional limit overrides and stdin.
JobResult run_code(const std::string& lang, const std::string& code, const std::string& stdin_data = {},
                   LimitOverrides limits = {});

struct Process {
    int exit_code = -1;
    std::string out, err;
};

// Runs argv with `stdin_data` on its stdin and collects everything. The
// child dies with the test process (PR_SET_PDEATHSIG) if that is killed.
Process run_process(const std::vector<std::string>& argv, const std::string& stdin_data = {});

// The engine instance of this test process (tests/main.cpp sets
// EXECD_INSTANCE to "test-<pid>" unless it is set): the shared Sandbox, every
// `exec` and every execd a test starts run as it, so another engine on the
// host (a daemon, a second test run) shares no box cgroup or uid range.
const std::string& test_instance();

// Its boxes run as uids from here (instance_uid_base()).
int test_uid_base();

// Its box cgroups' parent in a v1 hierarchy: /sys/fs/cgroup/<controller>/<this>.
std::string test_cgroup_parent();

// Pids of live processes whose real uid is in [uid_base, uid_base + 256):
// what a job left running. A box prepared for its next run holds one such
// process (the program's, armed, still running the box init binary); it is
// counted only with `prepared_too`.
std::vector<int> box_uid_processes(int uid_base = test_uid_base(), bool prepared_too = false);

// box_uid_processes() once it is empty, or what is left after `ms`: a box
// kept for more runs (an execd worker's) lets its killed init finish exiting
// after the result is out.
std::vector<int> box_uid_processes_after(int uid_base, int ms = 2000);

// Lines of host mountinfo (PID 1's view) that mention execd's state dir.
std::vector<std::string> host_mounts_mentioning(const std::string& needle);

std::string read_text(const std::string& path);

// The arguments of a roff request line (what follows ".TH ", ".BI ", …):
// words, or "double quoted" strings.
std::vector<std::string> roff_arguments(const std::string& line);

// The test process's temporary root, $TMPDIR/execd-tests-<pid>-XXXXXX (else
// /tmp), made on first use and removed when the process exits, a failed
// test's too: what the tests mounted below it is detached first, and the
// removal never crosses into another filesystem. The cgroup v2 guest runs
// with TMPDIR set, since its /tmp may be the host's, read-only.
const std::string& temp_root();

// Removes the roots of test processes that were killed (SIGKILL, a ctest
// timeout) and so could not remove their own: execd-tests-<pid>-* whose pid
// is gone. tests/main.cpp calls it first.
void remove_roots_of_dead_runs();

// A new private directory below temp_root().
std::string make_temp_dir(const std::string& prefix);

}  // namespace execd::test
