#include "runner.h"

#include <csignal>
#include <cstring>

#include "util/files.h"

namespace execd {

Limits default_compile_limits() {
    Limits l;
    l.time_ms = 15000;
    l.cpu_ms = 15000;
    l.memory_mb = 512;
    l.pids = 64;
    l.output_bytes = 64 * 1024;
    l.file_size_mb = 256;
    l.open_files = 1024;
    return l;
}

std::map<std::string, std::string> base_environment() {
    return {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", "/tmp"}, {"LANG", "C.UTF-8"}, {"TMPDIR", "/tmp"}};
}

StepResult judge(const RunOutcome& o, const Limits& limits) {
    StepResult r;
    r.stdout_data = o.stdout_data;
    r.stderr_data = o.stderr_data;
    r.time_ms = o.wall_ms;
    r.cpu_ms = o.cpu_ms;
    r.memory_kb = o.memory_kb;
    if (o.internal_error) {
        r.verdict = Verdict::InternalError;
        r.message = o.internal_message;
        return r;
    }
    // Order matters: the cause, not the symptom. An OOM kill shows up as
    // SIGKILL, a pids-limit hit often as a crash or a timeout.
    if (o.oom_killed) {
        r.verdict = Verdict::MemoryLimitExceeded;
        r.exit_code = kExitMemoryLimit;
        r.message = "memory limit of " + std::to_string(limits.memory_mb) + " MB exceeded";
    } else if (o.pids_limit_hit) {
        r.verdict = Verdict::ProcessLimitExceeded;
        r.exit_code = kExitProcessLimit;
        r.message = "process/thread limit of " + std::to_string(limits.pids) + " reached";
    } else if (o.output_exceeded) {
        r.verdict = Verdict::OutputLimitExceeded;
        r.exit_code = kExitOutputLimit;
        r.message = "output limit of " + std::to_string(limits.output_bytes) + " bytes exceeded";
    } else if (o.wall_timeout || o.cpu_timeout) {
        r.verdict = Verdict::TimeLimitExceeded;
        r.exit_code = kExitTimeLimit;
        r.message = o.wall_timeout ? "wall time limit of " + std::to_string(limits.time_ms) + " ms exceeded"
                                   : "CPU time limit of " + std::to_string(limits.cpu_ms) + " ms exceeded";
    } else if (o.term_signal != 0) {
        r.verdict = Verdict::RuntimeError;
        r.exit_code = 128 + o.term_signal;
        const char* name = sigabbrev_np(o.term_signal);  // NULL for real-time signals
        r.message = "killed by signal " + (name ? std::string("SIG") + name : std::to_string(o.term_signal));
    } else if (o.exit_code != 0) {
        r.verdict = Verdict::RuntimeError;
        r.exit_code = o.exit_code;
        r.message = "exited with status " + std::to_string(o.exit_code);
    } else {
        r.verdict = Verdict::OK;
        r.exit_code = 0;
    }
    return r;
}

Limits Runner::run_limits(const Language& language, const JobRequest& request) const {
    Limits l = language.limits.apply(Limits{});
    // A language that raises the wall time raises the CPU time with it unless it says otherwise.
    if (language.limits.time_ms && !language.limits.cpu_ms) l.cpu_ms = l.time_ms;
    l = request.limits.apply(l);
    if (request.limits.time_ms && !request.limits.cpu_ms) l.cpu_ms = l.time_ms;
    return l;
}

JobResult Runner::run(const JobRequest& request, Box* given_box) {
    const Language* lang = registry_.find(request.language);
    if (!lang) throw BadRequest("language", "unknown language '" + request.language + "'");
    if (!lang->usable())
        throw BadRequest("language", "language '" + lang->id + "' is not installed on this host");
    for (const auto& f : request.files) {
        const auto slash = f.name.find('/');
        bool ok = slash == std::string::npos
                      ? is_safe_file_name(f.name)
                      : is_safe_file_name(f.name.substr(0, slash)) && is_safe_file_name(f.name.substr(slash + 1));
        if (!ok) throw BadRequest("files", "file name '" + f.name + "' is not allowed (no '/', '..' or NUL)");
    }

    JobResult result;
    result.language = lang->id;
    std::unique_ptr<Box> owned_box;
    Box* box = given_box;
    std::optional<WorkDir> work;
    try {
        if (!box) {
            owned_box = sandbox_.acquire_box();
            box = owned_box.get();
        }
        work.emplace(sandbox_.make_work_dir(box->uid()));
        if (request.files.empty()) {
            work->add_file(lang->source, request.code);
        } else {
            for (const auto& f : request.files) work->add_file(f.name, f.content);
        }
    } catch (const std::invalid_argument& e) {
        throw BadRequest("files", e.what());
    } catch (const std::exception& e) {
        result.run.verdict = Verdict::InternalError;
        result.run.message = e.what();
        return result;
    }

    std::map<std::string, std::string> env = base_environment();
    for (const auto& [k, v] : lang->env) env[k] = v;

    if (lang->compiled()) {
        RunPolicy compile;
        compile.argv = lang->compile;
        compile.env = env;
        compile.work_dir = work->path();
        compile.work_access = WorkDirAccess::Writable;
        compile.tmpfs_mb = 256;
        compile.cancel = request.cancel;
        compile.limits = lang->compile_limits.apply(default_compile_limits());
        if (lang->compile_limits.time_ms && !lang->compile_limits.cpu_ms) compile.limits.cpu_ms = compile.limits.time_ms;
        RunOutcome compiled = box->run(compile);
        if (compiled.cancelled) {
            result.cancelled = true;
            result.run.message = "cancelled";
            return result;
        }
        StepResult step = judge(compiled, compile.limits);
        result.compile = step;
        if (step.verdict == Verdict::InternalError) {
            result.run = step;
            return result;
        }
        if (step.verdict != Verdict::OK) {
            result.run.verdict = Verdict::CompileError;
            result.run.exit_code = step.exit_code;
            result.run.time_ms = step.time_ms;
            result.run.cpu_ms = step.cpu_ms;
            result.run.memory_kb = step.memory_kb;
            std::string out = step.stdout_data + step.stderr_data;
            result.run.message = step.verdict == Verdict::RuntimeError ? out : step.message + "\n" + out;
            return result;
        }
    }

    RunPolicy run;
    run.argv = lang->run;
    run.argv.insert(run.argv.end(), request.args.begin(), request.args.end());
    run.env = env;
    run.work_dir = work->path();
    run.work_access = WorkDirAccess::ReadOnly;
    run.tmpfs_mb = lang->run_tmpfs_mb;
    run.limits = run_limits(*lang, request);
    run.stdin_data = request.stdin_data;
    run.cancel = request.cancel;
    RunOutcome outcome = box->run(run);
    result.cancelled = outcome.cancelled;
    result.run = judge(outcome, run.limits);
    if (result.cancelled) result.run.message = "cancelled";
    return result;
}

}  // namespace execd
