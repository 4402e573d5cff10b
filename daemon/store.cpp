#include "daemon/store.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "api/result.h"
#include "core/util/files.h"
#include "daemon/logging.h"
#include "daemon/lua_scripts.h"

namespace execd::daemon {
namespace {

// One script per state change, each a file of daemon/lua/ whose header names
// its KEYS, ARGV and reply. Those that take the prelude's functions have it
// in front. Every key a script touches travels in KEYS, but for pop's job
// hash (see pop.lua).
Script with_prelude(const char* script) { return Script(std::string(lua::kPrelude) + script); }

const Script kSubmit = with_prelude(lua::kSubmit);
const Script kGetAll(lua::kGetAll);
const Script kPop = with_prelude(lua::kPop);
const Script kRenew = with_prelude(lua::kRenew);
const Script kProgress(lua::kProgress);
const Script kComplete = with_prelude(lua::kComplete);
const Script kRetry = with_prelude(lua::kRetry);
const Script kReapDue = with_prelude(lua::kReapDue);
const Script kReap = with_prelude(lua::kReap);
const Script kCancel = with_prelude(lua::kCancel);
const Script kRewake(lua::kRewake);

// The write that cannot grow memory (the prelude's writes_even_when_full).
constexpr const char* kNoSuchKey = "no-such-key";

// The prelude's shared_keys, in its order.
void append_shared_keys(std::vector<std::string>& keys, const std::string& prefix) {
    for (const char* name : {"queue", "running", "delayed", "queued_at", "queued_bytes", "stats", kNoSuchKey})
        keys.push_back(prefix + name);
}

// KEYS of the scripts that may finish one job: job:<id>, done:<id>, then
// the shared keys.
std::vector<std::string> finish_keys(const std::string& prefix, const std::string& id) {
    std::vector<std::string> keys{prefix + "job:" + id, prefix + "done:" + id};
    append_shared_keys(keys, prefix);
    return keys;
}

Reply checked(Reply r, const char* what) {
    if (r.kind == Reply::Kind::Error) {
        if (is_cannot_persist(r.string)) throw RedisCannotPersist(std::string(what) + ": " + r.string);
        throw RedisUnavailable(std::string(what) + ": " + r.string);
    }
    return r;
}

JobState parse_state(const std::string& s) {
    if (s == "running") return JobState::Running;
    if (s == "completed") return JobState::Completed;
    if (s == "cancelled") return JobState::Cancelled;
    return JobState::Queued;
}

// An HMGET of status, result, attempts, progress, owner, metadata,
// request_id; nullopt when the job hash is gone.
std::optional<StoredJob> stored_job(const Reply& r) {
    if (r.elements.size() != 7 || r.elements[0].nil()) return std::nullopt;
    StoredJob j;
    j.state = parse_state(r.elements[0].string);
    j.result_json = r.elements[1].string;
    j.attempts = r.elements[2].nil() ? 0 : std::atoi(r.elements[2].string.c_str());
    if (!r.elements[3].nil()) j.progress = r.elements[3].string;
    if (!r.elements[4].nil()) j.owner = r.elements[4].string;
    if (!r.elements[5].nil()) j.metadata_json = r.elements[5].string;
    if (!r.elements[6].nil()) j.request_id = r.elements[6].string;
    return j;
}

}  // namespace

const char* job_state_name(JobState s) noexcept {
    switch (s) {
        case JobState::Queued: return "queued";
        case JobState::Running: return "running";
        case JobState::Completed: return "completed";
        case JobState::Cancelled: return "cancelled";
    }
    return "queued";
}

JobStore::JobStore(RedisPool& pool, StoreSettings settings)
    : pool_(pool), prefix_(settings.prefix), settings_(std::move(settings)) {}

StoreSettings JobStore::settings() const {
    std::lock_guard lock(settings_mutex_);
    return settings_;
}

void JobStore::update(const StoreSettings& fresh) {
    std::lock_guard lock(settings_mutex_);
    settings_ = fresh;
    settings_.prefix = prefix_;
}

JobStore::SubmitOutcome JobStore::submit(const std::string& id, const std::string& request_json, int priority,
                                         const std::string& owner, const std::string& metadata_json,
                                         const std::string& request_id) {
    return submit_all({NewJob{id, request_json, priority, metadata_json, request_id}}, owner);
}

JobStore::SubmitOutcome JobStore::submit_all(const std::vector<NewJob>& jobs, const std::string& owner) {
    if (jobs.empty()) return SubmitOutcome::Queued;
    std::vector<std::string> keys{key("queue"), key("queued_at"), key("queued_bytes"), key("seq"), key("wake")};
    const StoreSettings now = settings();  // one copy: SIGHUP may replace them meanwhile
    std::vector<std::string> args{std::to_string(now.queue_max), std::to_string(now.queue_max_bytes), owner};
    keys.reserve(5 + jobs.size());
    args.reserve(3 + 5 * jobs.size());
    for (const auto& j : jobs) {
        keys.push_back(key("job:" + j.id));
        args.push_back(j.id);
        args.push_back(j.request_json);
        args.push_back(std::to_string(j.priority));
        args.push_back(j.metadata_json);
        args.push_back(j.request_id);
    }
    auto c = pool_.take();
    Reply r = c->eval(kSubmit, keys, args);
    // A Redis at maxmemory refuses the script's first write with
    // "OOM command not allowed when used memory > 'maxmemory'".
    if (r.kind == Reply::Kind::Error && r.string.find("OOM command not allowed") != std::string::npos)
        return SubmitOutcome::OutOfMemory;
    if (r.kind == Reply::Kind::Error && is_cannot_persist(r.string)) return SubmitOutcome::DiskFull;
    checked(r, "submit");
    switch (r.integer) {
        case 1: return SubmitOutcome::Queued;
        case -1: return SubmitOutcome::QueueFull;
        case -2: return SubmitOutcome::BytesFull;
        default: throw RedisUnavailable("submit: unexpected reply " + std::to_string(r.integer));
    }
}

std::optional<StoredJob> JobStore::get(const std::string& id) {
    auto c = pool_.take();
    return stored_job(checked(c->command({"HMGET", key("job:" + id), "status", "result", "attempts", "progress",
                                          "owner", "metadata", "request_id"}),
                              "get"));
}

void JobStore::progress(const std::string& id, const std::string& lease, const std::string& text) noexcept {
    try {
        auto c = pool_.take();
        c->eval(kProgress, {key("job:" + id)}, {lease, text});
    } catch (const std::exception&) {
        // Progress is advisory: a missed update shows an older count.
    }
}

std::vector<std::optional<StoredJob>> JobStore::get_all(const std::vector<std::string>& ids) {
    std::vector<std::optional<StoredJob>> out;
    if (ids.empty()) return out;
    std::vector<std::string> keys;
    keys.reserve(ids.size());
    for (const auto& id : ids) keys.push_back(key("job:" + id));
    auto c = pool_.take();
    Reply r = checked(c->eval(kGetAll, keys, {}), "get");
    if (r.elements.size() != ids.size())
        throw RedisUnavailable("get: expected " + std::to_string(ids.size()) + " replies, got " +
                               std::to_string(r.elements.size()));
    out.reserve(ids.size());
    for (const auto& e : r.elements) out.push_back(stored_job(e));
    return out;
}

std::optional<StoredJob> JobStore::wait(const std::string& id, int64_t wait_ms, std::optional<StoredJob> known) {
    auto job = known ? std::move(known) : get(id);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    // A wait that breaks off (its signal may have gone with the lost reply)
    // reads the job on a new connection and, while it runs on, waits once
    // more for the time left.
    for (int waits = 0; waits < 2; ++waits) {
        if (!job || job->state == JobState::Completed || job->state == JobState::Cancelled) return job;
        const int64_t left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
        if (left <= 0) return job;
        try {
            auto c = pool_.take();
            char timeout[32];
            std::snprintf(timeout, sizeof timeout, "%.3f", static_cast<double>(left) / 1000.0);
            Reply r = c->blocking({"BLPOP", key("done:" + id), timeout}, left);
            // Put the signal back for any other waiter on the same job, and
            // read the job, in one round trip. (A Redis at maxmemory may
            // refuse the RPUSH: then the job is read alone.)
            if (r.kind == Reply::Kind::Array) {
                Reply j =
                    c->eval(kRewake, {key("job:" + id), key("done:" + id)}, {std::to_string(settings().result_ttl_s)});
                if (j.kind != Reply::Kind::Error) return stored_job(checked(j, "get"));
            }
            return get(id);
        } catch (const RedisUnavailable&) {
            job = get(id);
        }
    }
    return job;
}

JobStore::CancelOutcome JobStore::cancel(const std::string& id, const std::string& cancelled_json,
                                         const OwnerCheck& who) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kCancel, finish_keys(prefix_, id),
                              {id, cancelled_json, std::to_string(settings().result_ttl_s), who.any ? "0" : "1",
                               who.owner, new_lease()}),
                      "cancel");
    switch (r.integer) {
        case -1: return CancelOutcome::Unknown;
        case 1: return CancelOutcome::Cancelled;
        case 2: return CancelOutcome::Requested;
        default: return CancelOutcome::AlreadyFinished;
    }
}

namespace {

// A job take_next (prelude.lua) took under `lease`: its six fields from
// `first` on.
PoppedJob popped_job(const std::vector<Reply>& e, size_t first, const std::string& lease) {
    if (e.size() != first + 6) throw RedisUnavailable("pop: unexpected reply");
    return PoppedJob{e[first].string,
                     e[first + 1].string,
                     static_cast<int>(e[first + 2].integer),
                     e[first + 3].integer,
                     e[first + 4].string,
                     e[first + 5].integer == 1,
                     lease};
}

}  // namespace

std::string JobStore::new_lease() { return random_hex(8); }

std::optional<PoppedJob> JobStore::pop(const std::string& worker, const std::string& lease) {
    auto c = pool_.take();
    Reply r =
        checked(c->eval(kPop, {key("queue"), key("queued_at"), key("running"), key(kNoSuchKey), key("took:" + worker)},
                        {std::to_string(settings().lease_ms), worker, key("job:"), lease}),
                "pop");
    if (r.kind != Reply::Kind::Array) return std::nullopt;
    return popped_job(r.elements, 0, lease);
}

void JobStore::wait_for_work(int64_t timeout_ms) {
    auto c = pool_.take();
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%.3f", static_cast<double>(timeout_ms) / 1000.0);
    c->blocking({"BLPOP", key("wake"), timeout}, timeout_ms);
}

bool JobStore::renew(const std::string& id, const std::string& lease, bool& cancel_requested) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kRenew, {key("job:" + id), key("running"), key(kNoSuchKey)},
                              {id, lease, std::to_string(settings().lease_ms)}),
                      "renew");
    cancel_requested = r.integer == 1;
    return r.integer >= 0;
}

bool JobStore::complete(const std::string& id, const std::string& lease, const std::string& result_json,
                        JobState final_state, const std::string& verdict, const std::string& next_for,
                        std::optional<PoppedJob>* next, const std::string& next_lease_given) {
    const std::string next_lease = !next ? std::string() : next_lease_given.empty() ? new_lease() : next_lease_given;
    std::vector<std::string> keys = finish_keys(prefix_, id);
    std::vector<std::string> args{id, job_state_name(final_state), result_json, std::to_string(settings().result_ttl_s),
                                  verdict};
    if (next) {
        next->reset();
        keys.push_back(key("took:" + next_for));
        args.insert(args.end(), {next_for, std::to_string(settings().lease_ms), key("job:"), lease, next_lease});
    } else {
        args.insert(args.end(), {"", "", "", lease});
    }
    auto c = pool_.take();
    Reply r = checked(c->eval(kComplete, keys, args), "complete");
    if (r.kind != Reply::Kind::Array || r.elements.empty()) throw RedisUnavailable("complete: unexpected reply");
    if (next && r.elements.size() > 1) *next = popped_job(r.elements, 1, next_lease);
    return r.elements[0].integer == 1;
}

bool JobStore::retry(const std::string& id, const std::string& lease, const std::string& exhausted_json) {
    const StoreSettings now = settings();
    auto c = pool_.take();
    Reply r = checked(c->eval(kRetry, finish_keys(prefix_, id),
                              {id, std::to_string(now.attempts), std::to_string(now.backoff_ms), exhausted_json,
                               std::to_string(now.result_ttl_s), lease}),
                      "retry");
    return r.integer == 2;
}

int JobStore::reap(const std::string& lost_json) {
    const StoreSettings now = settings();
    auto c = pool_.take();
    // Two scripts, so that the second can declare the keys of the jobs the
    // first found; the second checks each job again (reap.lua).
    Reply due = checked(
        c->eval(kReapDue, {key("running"), key("delayed"), key("queued_at")}, {std::to_string(now.queue_ttl_s)}),
        "reap");
    if (due.kind != Reply::Kind::Array || due.elements.size() != 3) throw RedisUnavailable("reap: unexpected reply");
    const auto& lapsed = due.elements[0].elements;
    const auto& delayed = due.elements[1].elements;
    const auto& old = due.elements[2].elements;
    if (lapsed.empty() && delayed.empty() && old.empty()) return 0;

    std::vector<std::string> keys;
    append_shared_keys(keys, prefix_);
    keys.push_back(key("wake"));
    std::vector<std::string> args{std::to_string(now.attempts),           lost_json,
                                  std::to_string(now.result_ttl_s),       std::to_string(now.queue_ttl_s),
                                  api::expired_job_json(now.queue_ttl_s), std::to_string(lapsed.size()),
                                  std::to_string(delayed.size()),         std::to_string(old.size())};
    for (const auto* ids : {&lapsed, &delayed, &old}) {
        for (const auto& id : *ids) {
            keys.push_back(key("job:" + id.string));
            keys.push_back(key("done:" + id.string));
            args.push_back(id.string);
        }
    }
    Reply r = checked(c->eval(kReap, keys, args), "reap");
    if (r.kind != Reply::Kind::Array || r.elements.size() != 2) throw RedisUnavailable("reap: unexpected reply");
    for (const auto& id : r.elements[1].elements) {
        LogScope scope("", id.string);
        spdlog::warn("job {} expired: still queued {} s after it was submitted (queue_ttl_s); it was not run",
                     id.string, now.queue_ttl_s);
    }
    return static_cast<int>(r.elements[0].integer);
}

std::string JobStore::eviction_policy() {
    auto c = pool_.take();
    Reply r = c->command({"CONFIG", "GET", "maxmemory-policy"});
    if (r.kind != Reply::Kind::Array || r.elements.size() != 2) return {};
    return r.elements[1].string;
}

int64_t JobStore::queue_depth() {
    auto c = pool_.take();
    return checked(c->command({"ZCARD", key("queue")}), "queue depth").integer;
}

int64_t JobStore::running_count() {
    auto c = pool_.take();
    return checked(c->command({"ZCARD", key("running")}), "running count").integer;
}

std::vector<std::pair<std::string, int64_t>> JobStore::counters() {
    auto c = pool_.take();
    Reply r = checked(c->command({"HGETALL", key("stats")}), "stats");
    std::vector<std::pair<std::string, int64_t>> out;
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
        out.emplace_back(r.elements[i].string, std::atoll(r.elements[i + 1].string.c_str()));
    return out;
}

}  // namespace execd::daemon
