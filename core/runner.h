// A job: write the sources, compile in a box (if the language compiles), run
// in a fresh box of the same slot (new namespaces, new mounts, the work dir
// now read-only), and turn what the sandbox measured into a verdict.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/compile_cache.h"
#include "core/job.h"
#include "core/registry.h"
#include "core/sandbox/sandbox.h"
#include "core/verdict.h"

namespace execd {

// A request the runner refuses before any box runs (unknown language, bad
// file name). `field` names the request field at fault.
class BadRequest : public std::invalid_argument {
public:
    BadRequest(std::string field, const std::string& message)
        : std::invalid_argument(message), field_(std::move(field)) {}
    const std::string& field() const noexcept { return field_; }

private:
    std::string field_;
};

// The identity of the binaries a language runs (its version command's, its
// compiler's and its runner's, each as path, device, inode, size and
// mtime): a package upgrade changes it.
std::string toolchain_identity(const Language& lang);

// lang.probe_version(), remembered in `cache` (when not null) per
// toolchain_identity(), so it is probed again only after an upgrade.
std::string cached_version(const Language& lang, CompileCache* cache);

// Each usable language's version in registry order ("" for one that is not
// usable): cached_version, the ones not remembered probed a few at a time.
std::vector<std::string> language_versions(const Registry& registry, CompileCache* cache);

// The environment every box gets before the language adds its own.
std::map<std::string, std::string> base_environment();

// The verdict and exit code the API reports for one sandboxed run.
StepResult judge(const RunOutcome& outcome, const Limits& limits);

class Runner {
public:
    // `cache` (optional) keeps compiled artifacts across jobs.
    Runner(Sandbox& sandbox, const Registry& registry, CompileCache* cache = nullptr)
        : sandbox_(sandbox), registry_(registry), cache_(cache) {}

    // Runs a whole job. Throws BadRequest for a request it cannot run; every
    // other failure is an InternalError result, never an exception. With
    // `box`, the job runs in that box (a worker keeps one for its lifetime,
    // so its cgroups are made once); without, a box is taken for the job.
    JobResult run(const JobRequest& request, Box* box = nullptr);

    // The limits the run step will get for this request (after validation).
    Limits run_limits(const Language& language, const JobRequest& request) const;

    // What a compiled program may keep, in bytes of data (holes are free):
    // the cache's max_entry_bytes, or its default without a cache. A larger
    // compile output is a CompileError whether it would be cached or copied.
    int64_t artifact_budget() const noexcept;

    // Whether a failed compile step failed for want of room in the
    // sandbox's work area, shared by every running job: then the job is an
    // InternalError, not a CompileError (its code was never judged).
    bool compiler_found_no_room(const StepResult& step, const Limits& limits) const;

    // With `defer`, a job's last run in a box it was given leaves the box
    // without its next init (RunPolicy::prepare_next), so the caller can
    // hand the result on first and then call Box::prepare_next().
    void defer_standby(bool defer) noexcept { defer_standby_ = defer; }

    // Compile steps this runner has run (cache hits do not count).
    uint64_t compile_steps() const noexcept { return compile_steps_; }

private:
    struct Prepared;
    // Writes `files`, then compiles them (or takes the artifact from the
    // cache): the directory the program's runs mount at /box.
    Prepared prepare(const Language& language, const std::vector<SourceFile>& files, Box& box,
                     const std::atomic<bool>* cancel, const std::string& field);
    // A graded job's steps (runner.cpp).
    struct Checker;
    void run_tests(const Language& language, const JobRequest& request, const std::string& dir, Box& box,
                   JobResult& result);
    bool prepare_checker(const JobRequest& request, Box& box, Checker& checker, JobResult& result);
    // Runs the checker program on one test's output and sets `step`'s
    // verdict from it; false if the job was cancelled meanwhile.
    bool check_with_program(Checker& checker, const JobRequest& request, const TestCase& t, Box& box, StepResult& step);
    static Limits test_limits(const JobRequest& request, const Limits& base, const TestCase& t);
    static void stop_cancelled(JobResult& result);
    static void sum_up(JobResult& result, std::optional<size_t> failed);
    bool defer_standby_ = false;
    Sandbox& sandbox_;
    const Registry& registry_;
    CompileCache* cache_;
    uint64_t compile_steps_ = 0;
};

}  // namespace execd
