// A job: write the sources, compile in a box (if the language compiles), run
// in a fresh box of the same slot (new namespaces, new mounts, the work dir
// now read-only), and turn what the sandbox measured into a verdict.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "registry.h"
#include "sandbox/sandbox.h"
#include "verdict.h"

namespace execd {

struct SourceFile {
    std::string name;
    std::string content;
};

struct JobRequest {
    std::string language;               // id or alias
    std::string code;                   // written to the language's source file...
    std::vector<SourceFile> files;      // ...or these (the entry point is the source file)
    std::string stdin_data;
    std::vector<std::string> args;      // appended to the run argv
    LimitOverrides limits;              // the request's own limits over the language's
    const std::atomic<bool>* cancel = nullptr;  // stops the job when it turns true
};

struct StepResult {
    Verdict verdict = Verdict::InternalError;
    std::optional<int> exit_code;       // none for InternalError
    std::string stdout_data, stderr_data;
    int64_t time_ms = 0, cpu_ms = 0, memory_kb = 0;
    std::string message;                // why, for anything but OK
};

struct JobResult {
    std::string language;               // resolved id
    StepResult run;                     // the verdict of the job (CompileError lives here too)
    std::optional<StepResult> compile;  // present for compiled languages
    bool cancelled = false;             // stopped through JobRequest::cancel; no verdict applies
};

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

// Default limits of a compile step; the registry's compile_limits override them.
Limits default_compile_limits();

// The environment every box gets before the language adds its own.
std::map<std::string, std::string> base_environment();

// The verdict and exit code the API reports for one sandboxed run.
StepResult judge(const RunOutcome& outcome, const Limits& limits);

class Runner {
public:
    Runner(Sandbox& sandbox, const Registry& registry) : sandbox_(sandbox), registry_(registry) {}

    // Runs a whole job. Throws BadRequest for a request it cannot run; every
    // other failure is an InternalError result, never an exception. With
    // `box`, the job runs in that box (a worker keeps one for its lifetime,
    // so its cgroups are made once); without, a box is taken for the job.
    JobResult run(const JobRequest& request, Box* box = nullptr);

    // The limits the run step will get for this request (after validation).
    Limits run_limits(const Language& language, const JobRequest& request) const;

private:
    Sandbox& sandbox_;
    const Registry& registry_;
};

}  // namespace execd
