// Workers: each thread takes a job from the store, runs it in the engine and
// records the result. A keeper thread renews the leases of running jobs and
// passes cancel requests on; a reaper returns other nodes' expired leases.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/compile_cache.h"
#include "core/registry.h"
#include "core/sandbox/sandbox.h"
#include "daemon/metrics.h"
#include "daemon/store.h"

namespace execd::daemon {

class WorkerPool {
public:
    // `registry` is read at the start of each job, so a reload applies to the next one.
    // `cache` (may be null) keeps compiled artifacts across jobs.
    WorkerPool(JobStore& store, Sandbox& sandbox, CompileCache* cache,
               std::function<std::shared_ptr<const Registry>()> registry, Metrics& metrics, std::string node_name,
               int workers);
    ~WorkerPool();

    void start();

    // Stops taking jobs and waits up to `timeout_ms` for running ones to
    // finish. Jobs still running then are abandoned: their leases expire and
    // another node runs them. Returns the number abandoned.
    int drain(int64_t timeout_ms);

    int busy() const noexcept { return busy_.load(); }
    int size() const noexcept { return static_cast<int>(threads_.size()); }

private:
    void work(int index);
    void keep_leases();
    struct Active;
    // A job this worker holds the lease of, counted among the running ones.
    struct Taken {
        PoppedJob job;
        std::shared_ptr<Active> active;
    };
    Taken admit(PoppedJob job);
    // Runs a job and records its result; returns the worker's next job when
    // the same round trip took one (only while not stopping).
    // `pending_lease`: the token of a take not yet answered (see work()),
    // used and cleared by the take that goes with the result, or made for it
    // and left for the next take when the result cannot be recorded.
    std::optional<Taken> process(const Taken& taken, const std::string& worker, Box* box, std::string& pending_lease);

    JobStore& store_;
    Sandbox& sandbox_;
    CompileCache* cache_;
    std::function<std::shared_ptr<const Registry>()> registry_;
    Metrics& metrics_;
    std::string node_;
    int count_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> busy_{0};
    std::vector<std::thread> threads_;
    std::thread keeper_;

    struct Active {
        std::string lease;       // the attempt's lease token (PoppedJob::lease)
        std::string request_id;  // for the lease keeper's log lines
        std::atomic<bool> cancel{false};
        std::atomic<bool> abandoned{false};  // stopped by drain: the lease lapses, another node re-runs it
        std::atomic<bool> ending{false};     // its result is being recorded: a lease that ends is no news
    };
    std::mutex mutex_;
    std::condition_variable idle_;
    std::map<std::string, std::shared_ptr<Active>> active_;
};

}  // namespace execd::daemon
