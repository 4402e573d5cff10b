// Jobs in Redis: the queue (priorities, FIFO within one), leases for running
// jobs, retries with backoff, results recorded once, cancel and long-poll
// that work whichever node runs the job. Every state change is one Lua
// script (daemon/lua/, compiled in), so a node that dies at any instant
// leaves a consistent state; and each is safe to send twice (a reply lost
// with its connection is asked again): the calls on one attempt at a job
// carry its lease token, and a call that may end a job a token of its own.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/redis.h"

namespace execd::daemon {

enum class JobState { Queued, Running, Completed, Cancelled };

struct StoredJob {
    JobState state = JobState::Queued;
    std::string result_json;  // set when Completed / Cancelled
    int attempts = 0;
    std::string progress;       // while Running, a graded job's "done/total" tests
    std::string owner;          // token_owner of the token that submitted it; "" without tokens
    std::string metadata_json;  // the client's `metadata` exactly as sent; "" when none
    std::string request_id;     // X-Request-Id of the request that submitted it; "" when none
};

struct PoppedJob {
    std::string id;
    std::string request_json;
    int attempt = 0;
    int64_t waited_ms = 0;   // since its submission, by Redis's clock
    std::string request_id;  // "" when none
    bool more = false;       // other jobs were still queued when it was taken
    std::string lease;       // this attempt's lease token: renew, progress, complete and retry name it
};

struct NewJob {
    std::string id;
    std::string request_json;
    int priority = 10;
    std::string metadata_json;  // "" when none
    std::string request_id;     // "" when none
};

// Whose job it is, for cancel: one owner's jobs only, or any job (an admin).
struct OwnerCheck {
    bool any = true;
    std::string owner;
    static OwnerCheck anyone() { return {}; }
    static OwnerCheck only(std::string owner) { return {false, std::move(owner)}; }
};

// What the store needs of execd's settings. Made from a Config, so its
// values are the table's (settings.h) unless configured; tests change
// fields afterwards.
struct StoreSettings {
    explicit StoreSettings(const Config& config)
        : prefix(config.key_prefix),
          lease_ms(config.lease_ms),
          attempts(static_cast<int>(config.attempts)),
          backoff_ms(config.backoff_ms),
          result_ttl_s(config.result_ttl_s),
          queue_max(config.queue_max),
          queue_max_bytes(config.queue_max_bytes),
          queue_ttl_s(config.queue_ttl_s) {}

    std::string prefix;
    int64_t lease_ms;
    int attempts;
    int64_t backoff_ms;
    int64_t result_ttl_s;
    int64_t queue_max;
    int64_t queue_max_bytes;  // requests held for unfinished jobs, summed
    int64_t queue_ttl_s;      // a job still queued this long is cancelled, reason "expired"
};

class JobStore {
public:
    JobStore(RedisPool& pool, StoreSettings settings);

    enum class SubmitOutcome {
        Queued,
        QueueFull,    // queue_max jobs are waiting
        BytesFull,    // the requests held would pass queue_max_bytes
        OutOfMemory,  // Redis is at its maxmemory (it answered OOM; nothing was written)
        DiskFull,     // Redis cannot persist (it answered MISCONF: its disk is full or failing; nothing was written)
    };

    // Queues a job for `owner` (token_owner, or "" without tokens).
    // Throws RedisUnavailable.
    SubmitOutcome submit(const std::string& id, const std::string& request_json, int priority,
                         const std::string& owner = {}, const std::string& metadata_json = {},
                         const std::string& request_id = {});

    // Queues every job or none, in one script: anything but Queued means
    // nothing was queued. Sequence numbers follow the vector's order, so FIFO
    // within a priority keeps it. Throws RedisUnavailable.
    SubmitOutcome submit_all(const std::vector<NewJob>& jobs, const std::string& owner = {});

    // nullopt for an unknown (or expired) id. Throws RedisUnavailable.
    std::optional<StoredJob> get(const std::string& id);

    // get() for each id, in order, in one round trip and one consistent
    // snapshot. Throws RedisUnavailable.
    std::vector<std::optional<StoredJob>> get_all(const std::vector<std::string>& ids);

    // Waits up to `wait_ms` for the job to end, then returns its state.
    // `known`: the job as the caller just read it (one read fewer).
    std::optional<StoredJob> wait(const std::string& id, int64_t wait_ms, std::optional<StoredJob> known = {});

    enum class CancelOutcome { Unknown, Cancelled, Requested, AlreadyFinished };
    // A queued job is cancelled at once; a running one is asked to stop. A
    // job that `who` may not touch is Unknown, exactly like a missing one.
    CancelOutcome cancel(const std::string& id, const std::string& cancelled_json,
                         const OwnerCheck& who = OwnerCheck::anyone());

    // A new lease token (64 random bits as hex). Throws SystemFailure.
    static std::string new_lease();

    // Takes the next job and a lease on it for `worker` (one thread: it
    // takes one job at a time) under the token `lease`; nullopt when empty.
    // Sent again with the same token, it takes nothing more: it gives the
    // job that token took while that job is still held under it, else
    // nullopt. So a worker whose take broke off (RedisUnavailable) tries
    // again with the same token.
    std::optional<PoppedJob> pop(const std::string& worker, const std::string& lease);
    std::optional<PoppedJob> pop(const std::string& worker) { return pop(worker, new_lease()); }

    // Blocks up to `timeout_ms` for a submission signal (cheap wake-up).
    void wait_for_work(int64_t timeout_ms);

    // Extends the lease of the attempt `lease` (PoppedJob::lease). Returns
    // false when the job was cancelled or the lease is no longer that
    // attempt's.
    bool renew(const std::string& id, const std::string& lease, bool& cancel_requested);

    // Notes how far a running graded job got ("3/5"), if the attempt `lease`
    // holds it. Best effort: never throws.
    void progress(const std::string& id, const std::string& lease, const std::string& text) noexcept;

    // Records the final result of attempt `lease` once; later calls for the
    // same job do nothing. Returns whether this attempt recorded it (true
    // again when the same attempt sends it again). Any attempt's result
    // counts while the job has none, a lapsed one's too. With `next`, also
    // takes the next job for worker `next_for` in the same round trip, as
    // pop() would (and whether or not the result was recorded): *next is
    // it, or nullopt. `next_lease` is that take's token, as pop's (a new one
    // when empty).
    bool complete(const std::string& id, const std::string& lease, const std::string& result_json, JobState final_state,
                  const std::string& verdict, const std::string& next_for = {},
                  std::optional<PoppedJob>* next = nullptr, const std::string& next_lease = {});

    // An infrastructure failure on attempt `lease`: back to the queue after
    // backoff, or, when attempts are used up, completed with
    // `exhausted_json` (then it returns true). Nothing when that attempt no
    // longer holds the job.
    bool retry(const std::string& id, const std::string& lease, const std::string& exhausted_json);

    // Returns expired leases to the queue (or fails them when out of
    // attempts), releases delayed retries, and cancels (reason "expired")
    // jobs still queued queue_ttl_s after submission. Run by every node twice
    // a second. Returns how many jobs went back to the queue.
    int reap(const std::string& lost_json);

    // Redis's maxmemory-policy ("noeviction", "allkeys-lru", ...), or ""
    // when Redis will not say (CONFIG may be renamed or denied). Any policy
    // but noeviction can drop queued jobs. Throws RedisUnavailable.
    std::string eviction_policy();

    int64_t queue_depth();
    int64_t running_count();
    // "status:completed" / "verdict:OK" → count, over all nodes.
    std::vector<std::pair<std::string, int64_t>> counters();

    // A copy: SIGHUP may replace them (update) while others read.
    StoreSettings settings() const;
    // New settings (from a reloaded configuration); the key prefix stays.
    void update(const StoreSettings& fresh);

private:
    std::string key(const std::string& name) const { return prefix_ + name; }
    RedisPool& pool_;
    const std::string prefix_;
    mutable std::mutex settings_mutex_;
    StoreSettings settings_;
};

const char* job_state_name(JobState s) noexcept;

}  // namespace execd::daemon
