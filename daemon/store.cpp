#include "store.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "codec.h"

namespace execd::daemon {
namespace {

// Shared by the scripts: the server's clock in ms, how a job ends (once: a
// second finish for the same job is a no-op), and writing when Redis is full.
//
// Redis at its maxmemory (noeviction) refuses a script's first write when
// that command may grow memory (INCR, HSET, ZADD, RPUSH, ...) and lets every
// later write through, so that a script never stops half-way. Every script
// that moves a job on starts with a write that cannot grow memory
// (writes_even_when_full): a full Redis must still let workers take, renew
// and finish jobs and clients cancel them, since a job's end is what frees
// its request. Only submit is left to be refused (-OOM, nothing written).
const std::string kPrelude = R"LUA(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function writes_even_when_full(prefix)
  redis.call('DEL', prefix .. 'no-such-key')
end
local function finish(prefix, id, final, result, ttl, verdict, stat)
  local jk = prefix .. 'job:' .. id
  local st, bytes = unpack(redis.call('HMGET', jk, 'status', 'bytes'))
  if not st or st == 'completed' or st == 'cancelled' then return 0 end
  writes_even_when_full(prefix)
  redis.call('HDEL', jk, 'cancel', 'request', 'progress', 'bytes')
  if bytes then
    if redis.call('DECRBY', prefix .. 'queued_bytes', bytes) < 0 then redis.call('SET', prefix .. 'queued_bytes', 0) end
  end
  redis.call('HSET', jk, 'status', final, 'result', result, 'finished_ms', now_ms())
  redis.call('ZREM', prefix .. 'running', id)
  redis.call('ZREM', prefix .. 'queue', id)
  redis.call('ZREM', prefix .. 'delayed', id)
  redis.call('ZREM', prefix .. 'queued_at', id)
  redis.call('EXPIRE', jk, ttl)
  local dk = prefix .. 'done:' .. id
  redis.call('RPUSH', dk, '1')
  redis.call('EXPIRE', dk, ttl)
  redis.call('HINCRBY', prefix .. 'stats', 'status:' .. (stat or final), 1)
  if verdict ~= '' then redis.call('HINCRBY', prefix .. 'stats', 'verdict:' .. verdict, 1) end
  return 1
end
)LUA";

// Takes (id, request, priority) triples after the prefix, the two maxima
// and the owner. The room checks cover the whole batch, so a batch is queued
// entirely or not at all; a single submission is a batch of one. -1: too
// many jobs queued; -2: too many bytes held. Its first write (INCR) is the
// one a Redis at maxmemory refuses, before anything is written.
const Script kSubmit(kPrelude + R"LUA(
local prefix, queue_max, max_bytes, owner = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local n = (#ARGV - 4) / 3
if redis.call('ZCARD', prefix .. 'queue') + n > queue_max then return -1 end
local bytes = 0
for i = 0, n - 1 do bytes = bytes + #ARGV[6 + 3 * i] end
if (tonumber(redis.call('GET', prefix .. 'queued_bytes')) or 0) + bytes > max_bytes then return -2 end
local now = now_ms()
for i = 0, n - 1 do
  local id, request, priority = ARGV[5 + 3 * i], ARGV[6 + 3 * i], tonumber(ARGV[7 + 3 * i])
  local seq = redis.call('INCR', prefix .. 'seq')
  local score = string.format('%.0f', priority * 1e12 + seq)
  local jk = prefix .. 'job:' .. id
  redis.call('HSET', jk, 'request', request, 'status', 'queued', 'priority', priority, 'score', score,
             'attempts', 0, 'created_ms', now, 'bytes', #request, 'owner', owner)
  redis.call('ZADD', prefix .. 'queue', score, id)
  redis.call('ZADD', prefix .. 'queued_at', now, id)
  redis.call('RPUSH', prefix .. 'wake', '1')
end
redis.call('INCRBY', prefix .. 'queued_bytes', bytes)
redis.call('LTRIM', prefix .. 'wake', -64, -1)
return 1
)LUA");

// Read-only: each job's fields, as HMGET gives them, in the order asked.
const Script kGetAll(R"LUA(
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('HMGET', prefix .. 'job:' .. ARGV[i], 'status', 'result', 'attempts', 'progress', 'owner')
end
return out
)LUA");

const Script kPop(kPrelude + R"LUA(
local prefix, lease, worker = ARGV[1], tonumber(ARGV[2]), ARGV[3]
writes_even_when_full(prefix)
while true do
  local r = redis.call('ZPOPMIN', prefix .. 'queue')
  if #r == 0 then return false end
  local id = r[1]
  local jk = prefix .. 'job:' .. id
  if redis.call('HGET', jk, 'status') == 'queued' then
    local now = now_ms()
    redis.call('ZREM', prefix .. 'queued_at', id)
    redis.call('ZADD', prefix .. 'running', now + lease, id)
    local attempts = redis.call('HINCRBY', jk, 'attempts', 1)
    redis.call('HSET', jk, 'status', 'running', 'worker', worker, 'started_ms', now)
    redis.call('HDEL', jk, 'progress')
    return {id, redis.call('HGET', jk, 'request'), attempts}
  end
end
)LUA");

const Script kRenew(kPrelude + R"LUA(
local prefix, id, worker, lease = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local jk = prefix .. 'job:' .. id
local st, owner, cancel = unpack(redis.call('HMGET', jk, 'status', 'worker', 'cancel'))
if st ~= 'running' or owner ~= worker then return -1 end
writes_even_when_full(prefix)
redis.call('ZADD', prefix .. 'running', 'XX', now_ms() + lease, id)
if cancel then return 1 end
return 0
)LUA");

// Only the lease holder of a running job may say how far it got.
const Script kProgress(R"LUA(
local prefix, id, worker, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jk = prefix .. 'job:' .. id
local st, owner = unpack(redis.call('HMGET', jk, 'status', 'worker'))
if st ~= 'running' or owner ~= worker then return 0 end
redis.call('HSET', jk, 'progress', text)
return 1
)LUA");

const Script kComplete(kPrelude + R"LUA(
return finish(ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6])
)LUA");

const Script kRetry(kPrelude + R"LUA(
local prefix, id, max_attempts, backoff, exhausted, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local jk = prefix .. 'job:' .. id
local st, attempts, created = unpack(redis.call('HMGET', jk, 'status', 'attempts', 'created_ms'))
if st ~= 'running' then return 0 end
attempts = tonumber(attempts) or 0
if attempts >= max_attempts then return finish(prefix, id, 'completed', exhausted, ttl, 'InternalError') end
writes_even_when_full(prefix)
redis.call('ZREM', prefix .. 'running', id)
redis.call('HSET', jk, 'status', 'queued')
redis.call('ZADD', prefix .. 'delayed', now_ms() + backoff * 2 ^ (attempts - 1), id)
if created then redis.call('ZADD', prefix .. 'queued_at', created, id) end
return 1
)LUA");

// Returns {requeued, {expired ids}}. A job's age counts from its submission,
// and only a job in state queued (waiting in `queue` or `delayed`) expires:
// never one that is running.
const Script kReap(kPrelude + R"LUA(
local prefix, max_attempts, lost, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local queue_ttl_ms, expired = tonumber(ARGV[5]) * 1000, ARGV[6]
writes_even_when_full(prefix)
local now = now_ms()
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', prefix .. 'running', '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', prefix .. 'running', id)
  local jk = prefix .. 'job:' .. id
  local st, attempts, score, created = unpack(redis.call('HMGET', jk, 'status', 'attempts', 'score', 'created_ms'))
  if st == 'running' then
    if (tonumber(attempts) or 0) >= max_attempts then
      finish(prefix, id, 'completed', lost, ttl, 'InternalError')
    else
      redis.call('HSET', jk, 'status', 'queued')
      redis.call('HDEL', jk, 'worker')
      redis.call('ZADD', prefix .. 'queue', score, id)
      if created then redis.call('ZADD', prefix .. 'queued_at', created, id) end
      redis.call('RPUSH', prefix .. 'wake', '1')
    end
    n = n + 1
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', prefix .. 'delayed', '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', prefix .. 'delayed', id)
  local jk = prefix .. 'job:' .. id
  if redis.call('HGET', jk, 'status') == 'queued' then
    redis.call('ZADD', prefix .. 'queue', redis.call('HGET', jk, 'score'), id)
    redis.call('RPUSH', prefix .. 'wake', '1')
    n = n + 1
  end
end
local gone = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', prefix .. 'queued_at', '-inf', now - queue_ttl_ms, 'LIMIT', 0, 100)) do
  if redis.call('HGET', prefix .. 'job:' .. id, 'status') == 'queued' then
    finish(prefix, id, 'cancelled', expired, ttl, '', 'expired')
    gone[#gone + 1] = id
  else
    redis.call('ZREM', prefix .. 'queued_at', id)
  end
end
redis.call('LTRIM', prefix .. 'wake', -64, -1)
return {n, gone}
)LUA");

// ARGV[5] '1' limits the cancel to jobs whose owner is ARGV[6]; another's
// job is -1, as if it did not exist.
const Script kCancel(kPrelude + R"LUA(
local prefix, id, cancelled, ttl, check, owner = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local jk = prefix .. 'job:' .. id
local st, job_owner = unpack(redis.call('HMGET', jk, 'status', 'owner'))
if not st then return -1 end
if check == '1' and (job_owner or '') ~= owner then return -1 end
if st == 'queued' then return finish(prefix, id, 'cancelled', cancelled, ttl, '') end
if st == 'running' then
  writes_even_when_full(prefix)
  redis.call('HSET', jk, 'cancel', '1')
  return 2
end
return 0
)LUA");

Reply checked(Reply r, const char* what) {
    if (r.kind == Reply::Kind::Error) throw RedisUnavailable(std::string(what) + ": " + r.string);
    return r;
}

JobState parse_state(const std::string& s) {
    if (s == "running") return JobState::Running;
    if (s == "completed") return JobState::Completed;
    if (s == "cancelled") return JobState::Cancelled;
    return JobState::Queued;
}

// An HMGET of status, result, attempts, progress, owner; nullopt when the job hash is gone.
std::optional<StoredJob> stored_job(const Reply& r) {
    if (r.elements.size() != 5 || r.elements[0].nil()) return std::nullopt;
    StoredJob j;
    j.state = parse_state(r.elements[0].string);
    j.result_json = r.elements[1].string;
    j.attempts = r.elements[2].nil() ? 0 : std::atoi(r.elements[2].string.c_str());
    if (!r.elements[3].nil()) j.progress = r.elements[3].string;
    if (!r.elements[4].nil()) j.owner = r.elements[4].string;
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

JobStore::JobStore(RedisPool& pool, StoreSettings settings) : pool_(pool), settings_(std::move(settings)) {}

JobStore::SubmitOutcome JobStore::submit(const std::string& id, const std::string& request_json, int priority,
                                         const std::string& owner) {
    return submit_all({NewJob{id, request_json, priority}}, owner);
}

JobStore::SubmitOutcome JobStore::submit_all(const std::vector<NewJob>& jobs, const std::string& owner) {
    if (jobs.empty()) return SubmitOutcome::Queued;
    std::vector<std::string> args{settings_.prefix, std::to_string(settings_.queue_max),
                                  std::to_string(settings_.queue_max_bytes), owner};
    args.reserve(4 + 3 * jobs.size());
    for (const auto& j : jobs) {
        args.push_back(j.id);
        args.push_back(j.request_json);
        args.push_back(std::to_string(j.priority));
    }
    auto c = pool_.take();
    Reply r = c->eval(kSubmit, {}, args);
    // A Redis at maxmemory refuses the script's first write with
    // "OOM command not allowed when used memory > 'maxmemory'".
    if (r.kind == Reply::Kind::Error && r.string.find("OOM command not allowed") != std::string::npos)
        return SubmitOutcome::OutOfMemory;
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
    return stored_job(
        checked(c->command({"HMGET", key("job:" + id), "status", "result", "attempts", "progress", "owner"}), "get"));
}

void JobStore::progress(const std::string& id, const std::string& worker, const std::string& text) noexcept {
    try {
        auto c = pool_.take();
        c->eval(kProgress, {}, {settings_.prefix, id, worker, text});
    } catch (const std::exception&) {
        // Progress is advisory: a missed update shows an older count.
    }
}

std::vector<std::optional<StoredJob>> JobStore::get_all(const std::vector<std::string>& ids) {
    std::vector<std::optional<StoredJob>> out;
    if (ids.empty()) return out;
    std::vector<std::string> args{settings_.prefix};
    args.insert(args.end(), ids.begin(), ids.end());
    auto c = pool_.take();
    Reply r = checked(c->eval(kGetAll, {}, args), "get");
    if (r.elements.size() != ids.size()) throw RedisUnavailable("get: expected " + std::to_string(ids.size()) +
                                                                " replies, got " + std::to_string(r.elements.size()));
    out.reserve(ids.size());
    for (const auto& e : r.elements) out.push_back(stored_job(e));
    return out;
}

std::optional<StoredJob> JobStore::wait(const std::string& id, int64_t wait_ms) {
    auto job = get(id);
    if (!job || wait_ms <= 0 || job->state == JobState::Completed || job->state == JobState::Cancelled) return job;
    {
        auto c = pool_.take();
        char timeout[32];
        std::snprintf(timeout, sizeof timeout, "%.3f", static_cast<double>(wait_ms) / 1000.0);
        Reply r = c->blocking({"BLPOP", key("done:" + id), timeout}, wait_ms);
        // Put the signal back for any other waiter on the same job.
        if (r.kind == Reply::Kind::Array) {
            c->command({"RPUSH", key("done:" + id), "1"});
            c->command({"EXPIRE", key("done:" + id), std::to_string(settings_.result_ttl_s)});
        }
    }
    return get(id);
}

JobStore::CancelOutcome JobStore::cancel(const std::string& id, const std::string& cancelled_json,
                                         const OwnerCheck& who) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kCancel, {},
                              {settings_.prefix, id, cancelled_json, std::to_string(settings_.result_ttl_s),
                               who.any ? "0" : "1", who.owner}),
                      "cancel");
    switch (r.integer) {
        case -1: return CancelOutcome::Unknown;
        case 1: return CancelOutcome::Cancelled;
        case 2: return CancelOutcome::Requested;
        default: return CancelOutcome::AlreadyFinished;
    }
}

std::optional<PoppedJob> JobStore::pop(const std::string& worker) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kPop, {}, {settings_.prefix, std::to_string(settings_.lease_ms), worker}), "pop");
    if (r.kind != Reply::Kind::Array || r.elements.size() != 3) return std::nullopt;
    return PoppedJob{r.elements[0].string, r.elements[1].string, static_cast<int>(r.elements[2].integer)};
}

void JobStore::wait_for_work(int64_t timeout_ms) {
    auto c = pool_.take();
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%.3f", static_cast<double>(timeout_ms) / 1000.0);
    c->blocking({"BLPOP", key("wake"), timeout}, timeout_ms);
}

bool JobStore::renew(const std::string& id, const std::string& worker, bool& cancel_requested) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kRenew, {}, {settings_.prefix, id, worker, std::to_string(settings_.lease_ms)}), "renew");
    cancel_requested = r.integer == 1;
    return r.integer >= 0;
}

bool JobStore::complete(const std::string& id, const std::string& result_json, JobState final_state,
                        const std::string& verdict) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kComplete, {},
                              {settings_.prefix, id, job_state_name(final_state), result_json,
                               std::to_string(settings_.result_ttl_s), verdict}),
                      "complete");
    return r.integer == 1;
}

void JobStore::retry(const std::string& id, const std::string& exhausted_json) {
    auto c = pool_.take();
    checked(c->eval(kRetry, {},
                    {settings_.prefix, id, std::to_string(settings_.attempts), std::to_string(settings_.backoff_ms),
                     exhausted_json, std::to_string(settings_.result_ttl_s)}),
            "retry");
}

int JobStore::reap(const std::string& lost_json) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kReap, {},
                              {settings_.prefix, std::to_string(settings_.attempts), lost_json,
                               std::to_string(settings_.result_ttl_s), std::to_string(settings_.queue_ttl_s),
                               api::expired_job_json(settings_.queue_ttl_s)}),
                      "reap");
    if (r.kind != Reply::Kind::Array || r.elements.size() != 2) throw RedisUnavailable("reap: unexpected reply");
    for (const auto& id : r.elements[1].elements)
        spdlog::warn("job {} expired: still queued {} s after it was submitted (queue_ttl_s); it was not run", id.string,
                     settings_.queue_ttl_s);
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
