#include "core/runner.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string_view>
#include <thread>
#include <utility>

#include "core/checker.h"
#include "core/util/files.h"
#include "core/util/sha256.h"
#include "core/util/sys_error.h"

namespace execd {

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
    if (o.oom_killed || o.memory_thrashing) {
        r.verdict = Verdict::MemoryLimitExceeded;
        r.exit_code = kExitMemoryLimit;
        r.message = "memory limit of " + std::to_string(limits.memory_mb) + " MB exceeded";
        if (!o.oom_killed) r.message += ": held at the limit, the program kept reading evicted pages back from disk";
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
    return request.limits.apply(language.limits.apply(Limits{}));
}

namespace {

// "{memory_mb}" and "{memory_kb}" in a language's argv and env values: the
// step's memory limit in MB or KB, so that a runtime that cannot see its
// cgroup (the JVM's heap, -Xmx{memory_mb}m; GNU Prolog's stacks,
// GLOBALSZ={memory_kb}) grows up to the limit and the limit, not a flag,
// stops it (MemoryLimitExceeded).
std::string with_limits(std::string text, const Limits& limits) {
    const std::pair<std::string_view, int64_t> placeholders[] = {{"{memory_mb}", limits.memory_mb},
                                                                 {"{memory_kb}", limits.memory_mb * 1024}};
    for (const auto& [name, value] : placeholders) {
        const std::string replacement = std::to_string(value);
        for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + replacement.size()))
            text.replace(at, name.size(), replacement);
    }
    return text;
}

std::map<std::string, std::string> with_limits(std::map<std::string, std::string> env, const Limits& limits) {
    for (auto& [name, value] : env) value = with_limits(std::move(value), limits);
    return env;
}

// The compile argv with "{sources}" replaced by every submitted file the
// language claims by extension (sorted, so the key and the build are stable),
// or by its source file when none is claimed.
std::vector<std::string> expand_compile_argv(const Language& lang, const std::vector<SourceFile>& files,
                                             const Limits& limits) {
    std::vector<std::string> sources;
    for (const auto& f : files) {
        const auto dot = f.name.rfind('.');
        if (dot == std::string::npos) continue;
        const std::string ext = f.name.substr(dot + 1);
        if (std::find(lang.extensions.begin(), lang.extensions.end(), ext) != lang.extensions.end())
            sources.push_back(f.name);
    }
    std::sort(sources.begin(), sources.end());
    if (sources.empty()) sources.push_back(lang.source);
    std::vector<std::string> argv;
    for (const auto& a : lang.compile) {
        if (a == "{sources}")
            argv.insert(argv.end(), sources.begin(), sources.end());
        else
            argv.push_back(with_limits(a, limits));
    }
    return argv;
}

// What identifies the compiler: its binaries (toolchain_identity) and the
// version it reports.
// lang's version, remembered in `cache` under `identity` (toolchain_identity).
// Every answer is remembered, an empty one too: a version command that
// fails is not run again on every job start until the toolchain changes.
std::string version_for(const Language& lang, CompileCache& cache, const std::string& identity) {
    Sha256 memo_key;
    memo_key.field("toolchain version");
    memo_key.field(lang.id);
    memo_key.field(identity);
    for (const auto& a : lang.version_cmd) memo_key.field(a);
    const std::string key = memo_key.hex();
    if (auto version = cache.recall(key)) return *version;
    std::string version = lang.probe_version();
    cache.remember(key, version);
    return version;
}

std::string compiler_identity(const Language& lang, CompileCache& cache) {
    const std::string identity = toolchain_identity(lang);
    return identity + "\n" + version_for(lang, cache, identity);
}

}  // namespace

std::string toolchain_identity(const Language& lang) {
    std::string id;
    for (const auto* argv : {&lang.version_cmd, &lang.compile, &lang.run}) {
        if (argv->empty() || argv->front().empty() || argv->front()[0] != '/') continue;
        const std::string& path = argv->front();
        struct stat st {};
        id += path;
        if (::stat(path.c_str(), &st) == 0)
            id += ":" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
                  ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
        id += "\n";
    }
    return id;
}

std::string cached_version(const Language& lang, CompileCache* cache) {
    return cache ? version_for(lang, *cache, toolchain_identity(lang)) : lang.probe_version();
}

std::vector<std::string> language_versions(const Registry& registry, CompileCache* cache) {
    const auto& langs = registry.languages();
    std::vector<std::string> out(langs.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i = next++; i < langs.size(); i = next++)
            if (langs[i].usable()) out[i] = cached_version(langs[i], cache);
    };
    const size_t n = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
    std::vector<std::thread> threads;
    for (size_t t = 1; t < n; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    return out;
}

namespace {

// The cache key of a compile: everything the compile step reads.
std::string compile_key(const Language& lang, const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& env, std::vector<SourceFile> files,
                        CompileCache& cache) {
    Sha256 h;
    h.field("execd compile v1");
    h.field(lang.id);
    h.field(compiler_identity(lang, cache));
    h.field("argv");
    for (const auto& a : argv) h.field(a);
    h.field("env");
    for (const auto& [k, v] : env) {
        h.field(k);
        h.field(v);
    }
    h.field("binds");
    for (const auto& b : lang.binds) h.field(b);
    h.field("files");
    std::sort(files.begin(), files.end(), [](const SourceFile& a, const SourceFile& b) { return a.name < b.name; });
    for (const auto& f : files) {
        h.field(f.name);
        h.field(f.content);
    }
    return h.hex();
}

std::map<std::string, std::string> environment_for(const Language& lang) {
    std::map<std::string, std::string> env = base_environment();
    for (const auto& [k, v] : lang.env) env[k] = v;
    return env;
}

// The start of an InternalError's message when the work area has no room.
std::string work_area_full(const Sandbox& sandbox) {
    return "the sandbox's work area is full (" + sandbox.work_area() +
           ": the files of every running job; its size is [sandbox] work_area_mb)";
}

// What failed, for an InternalError's message: `doing`, then the error. A
// work area with no room left (ENOSPC) says so first: not the program's
// doing, and it passes once running jobs end.
std::string internal_failure(const std::string& doing, const std::exception& e, const Sandbox& sandbox) {
    std::string text = doing.empty() ? std::string(e.what()) : doing + ": " + e.what();
    const auto* failure = dynamic_cast<const SystemFailure*>(&e);
    if (failure && (failure->error().err == ENOSPC || failure->error().err == EDQUOT))
        return work_area_full(sandbox) + ": " + text;
    return text;
}

// The job's verdict for a failed compile step.
StepResult compile_error(const StepResult& step) {
    StepResult r;
    r.verdict = Verdict::CompileError;
    r.exit_code = step.exit_code;
    r.time_ms = step.time_ms;
    r.cpu_ms = step.cpu_ms;
    r.memory_kb = step.memory_kb;
    std::string out = step.stdout_data + step.stderr_data;
    r.message = step.verdict == Verdict::RuntimeError ? out : step.message + "\n" + out;
    return r;
}

void validate_file_names(const std::vector<SourceFile>& files, const std::string& field) {
    for (const auto& f : files) {
        const bool ok = is_submitted_file_name(f.name);
        if (!ok)
            throw BadRequest(field, "file name '" + f.name +
                                        "' is not allowed (one directory level at most; no '..', empty parts, '\\', "
                                        "NUL, or a leading '-' or '@')");
    }
}

// Keeps the first `keep` bytes; says whether anything was cut.
bool truncate_to(std::string& s, size_t keep) {
    if (s.size() <= keep) return false;
    s.resize(keep);
    return true;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A run of `lang`'s program (its run command, then `args`) over `dir`,
// mounted read-only: the one way the runner's run steps are described.
RunPolicy run_policy(const Language& lang, const std::vector<std::string>& args, const std::string& dir,
                     const Limits& limits, std::string stdin_data, const std::atomic<bool>* cancel) {
    RunPolicy run;
    for (const auto& a : lang.run) run.argv.push_back(with_limits(a, limits));
    run.argv.insert(run.argv.end(), args.begin(), args.end());
    run.env = with_limits(environment_for(lang), limits);
    run.work_dir = dir;
    run.work_access = WorkDirAccess::ReadOnly;
    run.tmpfs_mb = lang.run_tmpfs_mb;
    run.limits = limits;
    run.stdin_data = std::move(stdin_data);
    run.cancel = cancel;
    return run;
}

}  // namespace

// A program ready to run: the directory its runs mount at /box.
struct Runner::Prepared {
    enum class State { Ready, CompileFailed, Failed, Cancelled };
    State state = State::Ready;
    std::optional<WorkDir> work;               // written (and compiled) here...
    std::optional<CompileCache::Lease> lease;  // ...or taken from the compile cache
    std::optional<StepResult> compile;
    StepResult failure;  // CompileFailed: the CompileError; Failed: the InternalError
    bool cached = false;

    const std::string& dir() const { return lease ? lease->path() : work->path(); }
};

Runner::Prepared Runner::prepare(const Language& lang, const std::vector<SourceFile>& files, Box& box,
                                 const std::atomic<bool>* cancel, const std::string& field) {
    Prepared p;
    const Limits compile_limits = lang.compile_limits.apply(default_compile_limits());
    const std::map<std::string, std::string> env = with_limits(environment_for(lang), compile_limits);
    std::vector<std::string> argv;
    std::string key;
    try {
        if (lang.compiled()) {
            argv = expand_compile_argv(lang, files, compile_limits);
            if (cache_) {
                key = compile_key(lang, argv, env, files, *cache_);
                if (auto lease = cache_->find(key)) {
                    p.lease = std::move(lease);
                    p.cached = true;
                    StepResult step;
                    step.verdict = Verdict::OK;
                    step.exit_code = 0;
                    p.compile = step;
                    return p;
                }
            }
        }
        p.work.emplace(sandbox_.make_work_dir(box.uid()));
        for (const auto& f : files) p.work->add_file(f.name, f.content);
    } catch (const std::invalid_argument& e) {
        throw BadRequest(field, e.what());
    } catch (const std::exception& e) {
        p.state = Prepared::State::Failed;
        p.failure.verdict = Verdict::InternalError;
        p.failure.message = internal_failure("", e, sandbox_);
        return p;
    }
    if (!lang.compiled()) return p;

    RunPolicy compile;
    compile.argv = argv;
    compile.env = env;
    compile.work_dir = p.work->path();
    compile.work_access = WorkDirAccess::Writable;
    compile.tmpfs_mb = 256;
    compile.cancel = cancel;
    compile.limits = compile_limits;
    RunOutcome compiled = box.run(compile);
    ++compile_steps_;
    if (compiled.cancelled) {
        p.state = Prepared::State::Cancelled;
        return p;
    }
    StepResult step = judge(compiled, compile.limits);
    p.compile = step;
    if (step.verdict == Verdict::InternalError) {
        p.state = Prepared::State::Failed;
        p.failure = step;
    } else if (step.verdict != Verdict::OK && compiler_found_no_room(step, compile.limits)) {
        p.state = Prepared::State::Failed;
        p.failure = step;
        p.failure.verdict = Verdict::InternalError;
        p.failure.message = work_area_full(sandbox_) + ", so the compiler could not write its output:\n" +
                            step.stdout_data + step.stderr_data;
    } else if (step.verdict != Verdict::OK) {
        p.state = Prepared::State::CompileFailed;
        p.failure = compile_error(step);
    } else {
        // The runs never use the directory the compiler wrote: on cgroup v1
        // its pages stay charged to the box (so the program's own binary
        // would count against its memory limit, and a first submission be
        // judged differently from a cached one), and it may hold what the
        // compile step left (fifos, links, odd modes). They use the stored
        // cache entry, or else a copy the supervisor makes.
        if (cache_ && cache_->store(key, p.work->fd())) {
            if (auto lease = cache_->find(key)) {
                p.lease = std::move(lease);
                p.work.reset();
                return p;
            }
        }
        // The copy lives in the sandbox's tmpfs, charged to the supervisor,
        // not to the box: it keeps holes and gets the budget a cache entry
        // gets, so what the cache refuses for its size the run never sees.
        const int64_t budget = artifact_budget();
        try {
            WorkDir copy = sandbox_.make_work_dir(box.uid());
            copy_tree_at(p.work->fd(), copy.fd(), budget);
            p.work.emplace(std::move(copy));
        } catch (const std::length_error& e) {
            StepResult kept = step;
            kept.verdict = Verdict::RuntimeError;
            kept.message = std::string("the compile step's output cannot be kept: ") + e.what() +
                           " (a compiled program may keep " + describe_bytes(budget) + ")";
            p.state = Prepared::State::CompileFailed;
            p.failure = compile_error(kept);
            p.failure.message = kept.message;
        } catch (const std::exception& e) {
            p.state = Prepared::State::Failed;
            p.failure.verdict = Verdict::InternalError;
            p.failure.message = internal_failure("copying the compiled program", e, sandbox_);
        }
    }
    return p;
}

bool Runner::compiler_found_no_room(const StepResult& step, const Limits& limits) const {
    // The compiler says so (strerror(ENOSPC); the box's locale is C.UTF-8),
    // and the shared work area, not the step's own /tmp, is nearly full: less
    // room than one file of the compile may take, and under an eighth of its
    // size. Not "full": the output that did not fit may be gone already (ld
    // removes a half-written one). A compile error that only says the words
    // keeps its CompileError while the area has room; while it is nearly
    // full, it is taken for the area's (an InternalError: the job's code is
    // judged again on a retry, never wrongly).
    constexpr std::string_view kNoRoom = "No space left on device";
    if (step.stderr_data.find(kNoRoom) == std::string::npos && step.stdout_data.find(kNoRoom) == std::string::npos)
        return false;
    const Sandbox::Space space = sandbox_.work_area_space();
    return space.free >= 0 && space.free < limits.file_size_mb * 1024 * 1024 && space.free < space.total / 8;
}

int64_t Runner::artifact_budget() const noexcept {
    return cache_ ? cache_->config().max_entry_bytes : CompileCacheConfig{}.max_entry_bytes;
}

JobResult Runner::run(const JobRequest& request, Box* given_box) {
    const Language* lang = registry_.find(request.language);
    if (!lang) throw BadRequest("language", "unknown language '" + request.language + "'");
    if (!lang->usable()) throw BadRequest("language", "language '" + lang->id + "' is not installed on this host");
    validate_file_names(request.files, "files");
    if (request.checker.kind == CheckerKind::Program) {
        const Language* checker = registry_.find(request.checker.language);
        if (!checker)
            throw BadRequest("checker.language", "unknown checker language '" + request.checker.language + "'");
        if (!checker->usable())
            throw BadRequest("checker.language", "language '" + checker->id + "' is not installed on this host");
        validate_file_names(request.checker.files, "checker.files");
        for (const auto& f : request.checker.files)
            if (is_checker_data_file(f.name))
                throw BadRequest("checker.files", "'" + f.name + "' is reserved for the data the checker is given");
    }

    JobResult result;
    result.language = lang->id;
    std::unique_ptr<Box> owned_box;
    Box* box = given_box;
    if (!box) {
        try {
            owned_box = sandbox_.acquire_box();
        } catch (const std::exception& e) {
            result.run.verdict = Verdict::InternalError;
            result.run.message = e.what();
            return result;
        }
        box = owned_box.get();
    }

    std::vector<SourceFile> files = request.files;
    if (files.empty()) files.push_back(SourceFile{lang->source, request.code});
    Prepared program = prepare(*lang, files, *box, request.cancel, "files");
    result.compile = program.compile;
    result.cached = program.cached;
    switch (program.state) {
        case Prepared::State::Cancelled:
            result.cancelled = true;
            result.run.message = "cancelled";
            return result;
        case Prepared::State::CompileFailed:
        case Prepared::State::Failed: result.run = program.failure; return result;
        case Prepared::State::Ready: break;
    }

    if (!request.tests.empty()) {
        run_tests(*lang, request, program.dir(), *box, result);
        return result;
    }

    RunPolicy run =
        run_policy(*lang, request.args, program.dir(), run_limits(*lang, request), request.stdin_data, request.cancel);
    run.prepare_next = !owned_box && !defer_standby_;  // a box of our own ends with this run
    RunOutcome outcome = box->run(run);
    result.cancelled = outcome.cancelled;
    result.run = judge(outcome, run.limits);
    if (result.cancelled) result.run.message = "cancelled";
    return result;
}

// A checker program, prepared once per job in its own directory: the
// program under test never sees the expected output, and the checker never
// sees the program's files.
struct Runner::Checker {
    const Language* lang = nullptr;
    std::optional<Prepared> program;
    std::optional<WorkDir> copy;  // a writable copy when the checker came from the cache
    WorkDir* dir = nullptr;
};

// The steps of a graded job, in order: the checker program (if any), then
// each test (run, then compare or check), then the job's verdict.
void Runner::run_tests(const Language& lang, const JobRequest& request, const std::string& dir, Box& box,
                       JobResult& result) {
    Checker checker;
    if (request.checker.kind == CheckerKind::Program && !prepare_checker(request, box, checker, result)) return;

    const Limits base = run_limits(lang, request);
    const size_t total = request.tests.size();
    std::optional<size_t> first_failure;
    for (size_t i = 0; i < total; ++i) {
        const TestCase& t = request.tests[i];
        TestResult tr;
        tr.name = t.name;
        if (first_failure && request.stop_on_failure) {
            tr.result.verdict = Verdict::Skipped;
            tr.result.message = "skipped: test '" + result.failed_test + "' failed";
            result.tests.push_back(std::move(tr));
            continue;
        }
        if (request.cancel && request.cancel->load()) return stop_cancelled(result);

        const Limits limits = test_limits(request, base, t);
        RunOutcome outcome =
            box.run(run_policy(lang, concat(request.args, t.args), dir, limits, t.stdin_data, request.cancel));
        if (outcome.cancelled) return stop_cancelled(result);
        StepResult step = judge(outcome, limits);
        if (step.verdict == Verdict::OK && t.expected_output) {
            if (request.checker.kind != CheckerKind::Program) {
                CheckResult c = compare_output(request.checker, *t.expected_output, step.stdout_data);
                if (!c.accepted) {
                    step.verdict = Verdict::WrongAnswer;
                    step.message = c.message;
                }
            } else if (!check_with_program(checker, request, t, box, step)) {
                return stop_cancelled(result);
            }
        }

        tr.output_truncated = truncate_to(step.stdout_data, kTestOutputKeepBytes);
        tr.output_truncated = truncate_to(step.stderr_data, kTestOutputKeepBytes) || tr.output_truncated;
        result.run.time_ms += step.time_ms;
        result.run.cpu_ms += step.cpu_ms;
        result.run.memory_kb = std::max(result.run.memory_kb, step.memory_kb);
        tr.result = std::move(step);
        result.tests.push_back(tr);
        if (request.on_test) request.on_test(result.tests.back(), i, total);

        if (tr.result.verdict == Verdict::InternalError) {
            // The engine failed: the whole job is retried, so stop here.
            result.failed_test = t.name;
            return sum_up(result, i);
        }
        if (tr.result.verdict != Verdict::OK && !first_failure) {
            first_failure = i;
            result.failed_test = t.name;
        }
    }
    sum_up(result, first_failure);
}

bool Runner::prepare_checker(const JobRequest& request, Box& box, Checker& checker, JobResult& result) {
    const CheckerSpec& spec = request.checker;
    checker.lang = registry_.find(spec.language);
    std::vector<SourceFile> files = spec.files;
    if (files.empty()) files.push_back(SourceFile{checker.lang->source, spec.code});
    checker.program.emplace(prepare(*checker.lang, files, box, request.cancel, "checker.files"));
    switch (checker.program->state) {
        case Prepared::State::Cancelled: stop_cancelled(result); return false;
        case Prepared::State::Failed: result.run = checker.program->failure; return false;
        case Prepared::State::CompileFailed:
            result.run.verdict = Verdict::CheckerError;
            result.run.message = "the checker did not compile:\n" + checker.program->failure.message;
            for (const auto& t : request.tests) {
                TestResult tr;
                tr.name = t.name;
                tr.result.verdict = Verdict::Skipped;
                tr.result.message = "the checker did not compile";
                result.tests.push_back(std::move(tr));
            }
            return false;
        case Prepared::State::Ready: break;
    }
    if (!checker.program->lease) {
        checker.dir = &*checker.program->work;
        return true;
    }
    // The cache's entry is read-only: the checker's data files go into a copy.
    try {
        checker.copy.emplace(sandbox_.make_work_dir(box.uid()));
        Fd from(::open(checker.program->lease->path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!from) throw_errno("open", checker.program->lease->path());
        copy_tree_at(from.get(), checker.copy->fd(), artifact_budget());
    } catch (const std::exception& e) {
        result.run.verdict = Verdict::InternalError;
        result.run.message = internal_failure("preparing the checker", e, sandbox_);
        return false;
    }
    checker.dir = &*checker.copy;
    return true;
}

bool Runner::check_with_program(Checker& checker, const JobRequest& request, const TestCase& t, Box& box,
                                StepResult& step) {
    try {
        checker.dir->replace_file(kCheckerInputFile, t.stdin_data);
        checker.dir->replace_file(kCheckerActualFile, step.stdout_data);
        checker.dir->replace_file(kCheckerExpectedFile, *t.expected_output);
    } catch (const std::exception& e) {
        step.verdict = Verdict::InternalError;
        step.message = internal_failure("writing the checker's files", e, sandbox_);
        return true;
    }
    const Limits limits = request.checker.limits.apply(run_limits(*checker.lang, JobRequest{}));
    const std::vector<std::string> data_files(kCheckerDataFiles.begin(), kCheckerDataFiles.end());
    RunOutcome checked =
        box.run(run_policy(*checker.lang, data_files, checker.dir->path(), limits, {}, request.cancel));
    if (checked.cancelled) return false;
    StepResult verdict = judge(checked, limits);
    std::string said = verdict.stdout_data + verdict.stderr_data;
    truncate_to(said, 1024);
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    if (verdict.verdict == Verdict::InternalError) {
        step.verdict = Verdict::InternalError;
        step.message = "running the checker: " + verdict.message;
    } else if (verdict.verdict == Verdict::OK) {
        step.message = said;  // a checker may comment on an accepted answer
    } else if (verdict.verdict == Verdict::RuntimeError && verdict.exit_code &&
               (*verdict.exit_code == 1 || *verdict.exit_code == 2)) {
        step.verdict = Verdict::WrongAnswer;
        step.message = said.empty() ? "the checker rejected the output" : said;
    } else {
        step.verdict = Verdict::CheckerError;
        step.message = "the checker failed (" + verdict.message + ")" + (said.empty() ? "" : ": " + said);
    }
    return true;
}

Limits Runner::test_limits(const JobRequest& request, const Limits& base, const TestCase& t) {
    // A test's own time and memory; a CPU limit the request set stays.
    LimitOverrides own;
    own.time_ms = t.time_ms;
    own.cpu_ms = request.limits.cpu_ms;
    own.memory_mb = t.memory_mb;
    Limits limits = own.apply(base);
    // A test's output must be compared whole: without an explicit limit it
    // may print up to twice its expected output.
    if (!request.limits.output_bytes && t.expected_output) {
        const int64_t wanted = 2 * static_cast<int64_t>(t.expected_output->size()) + 1024;
        limits.output_bytes = std::max(base.output_bytes, std::min(wanted, request.max_output_bytes));
    }
    return limits;
}

void Runner::stop_cancelled(JobResult& result) {
    result.cancelled = true;
    result.run.message = "cancelled";
}

void Runner::sum_up(JobResult& result, std::optional<size_t> failed) {
    // The job's verdict is its first failing test's (OK when none failed),
    // with the time and CPU of every test run and the largest memory peak.
    const StepResult totals = result.run;
    if (failed) {
        const TestResult& first = result.tests[*failed];
        result.run = first.result;
        result.run.message = "test '" + first.name + "': " + first.result.message;
    } else {
        result.run = StepResult{};
        result.run.verdict = Verdict::OK;
        result.run.exit_code = 0;
    }
    result.run.time_ms = totals.time_ms;
    result.run.cpu_ms = totals.cpu_ms;
    result.run.memory_kb = totals.memory_kb;
}

}  // namespace execd
