#include "daemon/worker.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "api/api_error.h"
#include "api/result.h"
#include "api/stored_request.h"
#include "core/runner.h"
#include "daemon/failure_streak.h"
#include "daemon/logging.h"

namespace execd::daemon {

using namespace std::chrono;

namespace {

// The result document of a job that ended in an InternalError before it ran.
std::string internal_error_json(const std::string& message) {
    JobResult r;
    r.run.verdict = Verdict::InternalError;
    r.run.message = message;
    return api::stringify(api::completed_job_json(r, api::Encoding::Utf8));
}

}  // namespace

WorkerPool::WorkerPool(JobStore& store, Sandbox& sandbox, CompileCache* cache,
                       std::function<std::shared_ptr<const Registry>()> registry, Metrics& metrics,
                       std::string node_name, int workers)
    : store_(store),
      sandbox_(sandbox),
      cache_(cache),
      registry_(std::move(registry)),
      metrics_(metrics),
      node_(std::move(node_name)),
      count_(workers) {}

WorkerPool::~WorkerPool() { drain(0); }

void WorkerPool::start() {
    for (int i = 0; i < count_; ++i) threads_.emplace_back([this, i] { work(i); });
    keeper_ = std::thread([this] { keep_leases(); });
}

int WorkerPool::drain(int64_t timeout_ms) {
    stopping_ = true;
    int abandoned = 0;
    {
        std::unique_lock lock(mutex_);
        idle_.wait_for(lock, milliseconds(timeout_ms), [this] { return active_.empty(); });
        abandoned = static_cast<int>(active_.size());
        // Past the drain timeout: stop the boxes; the jobs' leases lapse and
        // another node (or this one, restarted) runs them again.
        for (auto& [id, a] : active_) {
            a->abandoned = true;
            a->cancel = true;
        }
    }
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
    if (keeper_.joinable()) keeper_.join();
    return abandoned;
}

void WorkerPool::work(int index) {
    const std::string worker = node_ + "/" + std::to_string(index);
    // One box for this worker's lifetime: its uid and cgroups are made once.
    std::unique_ptr<Box> box;
    // A job taken with the last one's result: it is counted as running
    // already, so it is run even if a drain began meanwhile.
    std::optional<Taken> next;
    // The lease token of a take whose reply has not come back (Redis went
    // away meanwhile): the next try sends it again, so that it gets the job
    // the lost reply held, if any, rather than a second one.
    std::string pending_lease;
    // Redis away: the first failed take is logged, then one a minute, then
    // the recovery.
    FailureStreak take_failures;
    while (!stopping_ || next) {
        if (!box) {
            try {
                box = sandbox_.acquire_box();
            } catch (const std::exception& e) {
                spdlog::error("worker {}: no box: {}", worker, e.what());
                std::this_thread::sleep_for(milliseconds(1000));
                continue;
            }
        }
        std::optional<Taken> taken = std::move(next);
        next.reset();
        if (!taken) {
            try {
                if (pending_lease.empty()) pending_lease = JobStore::new_lease();
                std::optional<PoppedJob> job = store_.pop(worker, pending_lease);
                pending_lease.clear();
                if (auto streak = take_failures.succeeded())
                    spdlog::info("worker {}: takes jobs again, after {:.1f} s and {} failed tries", worker,
                                 streak->seconds, streak->tries);
                if (!job) {
                    store_.wait_for_work(500);
                    continue;
                }
                taken = admit(std::move(*job));
            } catch (const std::exception& e) {
                const auto failure = take_failures.failed();
                if (failure.say == FailureStreak::Say::First)
                    spdlog::warn("worker {}: cannot take a job: {}", worker, e.what());
                else if (failure.say == FailureStreak::Say::Again)
                    spdlog::warn("worker {}: still cannot take a job, {} tries in {:.0f} s: {}", worker, failure.tries,
                                 failure.seconds, e.what());
                std::this_thread::sleep_for(milliseconds(500));
                continue;
            }
        }
        next = process(*taken, worker, box.get(), pending_lease);
        if (box->broken()) {
            spdlog::error("worker {}: box slot {} is broken; taking a new one", worker, box->slot());
            box.reset();
        }
    }
}

WorkerPool::Taken WorkerPool::admit(PoppedJob job) {
    auto active = std::make_shared<Active>();
    active->lease = job.lease;
    active->request_id = job.request_id;
    {
        std::lock_guard lock(mutex_);
        active_[job.id] = active;
    }
    ++busy_;
    return Taken{std::move(job), std::move(active)};
}

std::optional<WorkerPool::Taken> WorkerPool::process(const Taken& taken, const std::string& worker, Box* box,
                                                     std::string& pending_lease) {
    const PoppedJob& job = taken.job;
    const std::shared_ptr<Active>& active = taken.active;
    LogScope scope(job.request_id, job.id);
    if (job.attempt == 1) metrics_.queue_wait_seconds.observe(static_cast<double>(job.waited_ms) / 1000.0);
    spdlog::info("job {} started on {} (attempt {})", job.id, worker, job.attempt);
    const auto started = steady_clock::now();

    std::string result_json;
    JobState final_state = JobState::Completed;
    std::string verdict;
    bool infrastructure_failure = false;
    try {
        auto registry = registry_();
        api::Submission sub = api::parse_stored_request(job.request_json, *registry);
        sub.request.cancel = &active->cancel;
        // How far a graded job got, for GET /v1/jobs/{id} while it runs; at
        // most a few writes a second however short the tests are.
        auto last_progress = steady_clock::now() - seconds(1);
        sub.request.on_test = [&](const TestResult&, size_t index, size_t total) {
            const auto now = steady_clock::now();
            if (index + 1 < total && now - last_progress < milliseconds(250)) return;
            last_progress = now;
            store_.progress(job.id, job.lease, std::to_string(index + 1) + "/" + std::to_string(total));
        };
        Runner runner(sandbox_, *registry, cache_);
        // The box's next init is asked for once the result is stored, so
        // that its making does not delay the result; but first when other
        // jobs wait, so that it is ready by the time the next one is taken.
        runner.defer_standby(!job.more);
        JobResult result = runner.run(sub.request, box);
        metrics_.compile_steps += runner.compile_steps();
        if (result.cached) ++metrics_.compile_cache_hits;
        metrics_.tests_run += result.tests.size();
        if (result.cancelled) {
            final_state = JobState::Cancelled;
            result_json = R"({"status":"cancelled"})";
        } else {
            verdict = std::string(verdict_name(result.run.verdict));
            result_json = api::stringify(api::completed_job_json(result, sub.encoding));
            infrastructure_failure = result.run.verdict == Verdict::InternalError;
            if (infrastructure_failure)
                spdlog::error("job {}: internal error on {}: {}", job.id, worker, result.run.message);
        }
    } catch (const BadRequest& e) {
        // The registry changed under a queued job (language removed): a
        // verdict on the request, not an engine failure; no retry. The
        // stored request is checked against the registry as it is read
        // (ApiError), and again by the runner (BadRequest).
        result_json = internal_error_json(e.what());
        verdict = "InternalError";
    } catch (const api::ApiError& e) {
        result_json = internal_error_json(e.what());
        verdict = "InternalError";
    } catch (const std::exception& e) {
        result_json = internal_error_json(e.what());
        verdict = "InternalError";
        infrastructure_failure = true;
        spdlog::error("job {}: internal error on {}: {}", job.id, worker, e.what());
    }
    metrics_.run_seconds.observe(duration<double>(steady_clock::now() - started).count());

    if (active->abandoned) {
        spdlog::warn("job {} abandoned by the drain timeout; its lease will lapse and it will run again", job.id);
        --busy_;
        std::lock_guard lock(mutex_);
        active_.erase(job.id);
        idle_.notify_all();
        return std::nullopt;
    }
    // Record it, and take the next job in the same round trip unless
    // stopping; if Redis is away, keep trying while our lease could still
    // be valid. Past that the job is re-run elsewhere (at least once).
    // Every try asks for the next job under the same token; if none gets
    // through, the worker's next take sends it again (pending_lease).
    std::optional<PoppedJob> next;
    active->ending = true;
    if (!stopping_ && pending_lease.empty()) pending_lease = JobStore::new_lease();
    const auto lease = milliseconds(store_.settings().lease_ms);
    auto give_up = steady_clock::now() + lease;
    bool said_full = false;
    for (;;) {
        try {
            if (infrastructure_failure) {
                if (store_.retry(job.id, job.lease, result_json)) {
                    metrics_.jobs.add(label("status", "completed"));
                    metrics_.verdicts.add(label("verdict", "InternalError"));
                }
            } else {
                const bool take_next = !stopping_;
                const bool recorded = store_.complete(job.id, job.lease, result_json, final_state, verdict, worker,
                                                      take_next ? &next : nullptr, pending_lease);
                if (take_next) pending_lease.clear();  // its reply came back
                if (recorded) {
                    spdlog::info("job {} {} {} in {} ms", job.id, job_state_name(final_state), verdict,
                                 duration_cast<milliseconds>(steady_clock::now() - started).count());
                    metrics_.jobs.add(label("status", job_state_name(final_state)));
                    if (!verdict.empty()) metrics_.verdicts.add(label("verdict", verdict));
                }
            }
            if (said_full) spdlog::info("job {}: Redis can persist again; the result is recorded", job.id);
            break;
        } catch (const RedisCannotPersist& e) {
            // Redis refuses every write until its disk has room: nobody can
            // requeue this job meanwhile, so the result is kept until it
            // can be recorded (a drain still gives up after a lease).
            if (!said_full) {
                spdlog::error("job {}: Redis cannot persist ({}); the result is kept until it can", job.id, e.what());
                said_full = true;
            }
            if (!stopping_) give_up = steady_clock::now() + lease;
            if (steady_clock::now() > give_up) {
                spdlog::error("job {}: result not recorded, Redis cannot persist: {}", job.id, e.what());
                break;
            }
            std::this_thread::sleep_for(milliseconds(200));
        } catch (const std::exception& e) {
            if (steady_clock::now() > give_up) {
                spdlog::error("job {}: result not recorded, Redis unavailable: {}", job.id, e.what());
                break;
            }
            std::this_thread::sleep_for(milliseconds(200));
        }
    }
    box->prepare_next();
    // The next job counts as running before this one stops counting, so a
    // drain never sees the worker idle in between.
    std::optional<Taken> taken_next;
    if (next) taken_next = admit(std::move(*next));
    --busy_;
    std::lock_guard lock(mutex_);
    active_.erase(job.id);
    idle_.notify_all();
    return taken_next;
}

void WorkerPool::keep_leases() {
    const auto period = milliseconds(std::max<int64_t>(200, store_.settings().lease_ms / 4));
    auto next = steady_clock::now();
    // Redis away: one line when renewals start failing (naming a job), one a
    // minute, one when they work again; not one per job and period.
    FailureStreak renew_failures;
    while (!(stopping_ && busy_ == 0)) {
        std::this_thread::sleep_for(milliseconds(50));
        if (steady_clock::now() < next) continue;
        next = steady_clock::now() + period;
        std::vector<std::pair<std::string, std::shared_ptr<Active>>> jobs;
        {
            std::lock_guard lock(mutex_);
            jobs.assign(active_.begin(), active_.end());
        }
        for (auto& [id, a] : jobs) {
            LogScope scope(a->request_id, id);
            try {
                bool cancel = false;
                bool ours = store_.renew(id, a->lease, cancel);
                if (auto streak = renew_failures.succeeded())
                    spdlog::info("leases renewed again, after {:.1f} s and {} failed renewals", streak->seconds,
                                 streak->tries);
                if (cancel) a->cancel = true;
                // Unless its result has just been recorded meanwhile.
                if (!ours && !a->ending) spdlog::warn("job {}: lease lost (another node may run it)", id);
            } catch (const std::exception& e) {
                const auto failure = renew_failures.failed();
                if (failure.say == FailureStreak::Say::First)
                    spdlog::warn("job {}: cannot renew lease: {}", id, e.what());
                else if (failure.say == FailureStreak::Say::Again)
                    spdlog::warn("still cannot renew leases, {} failed renewals in {:.0f} s: {}", failure.tries,
                                 failure.seconds, e.what());
            }
        }
    }
}

}  // namespace execd::daemon
