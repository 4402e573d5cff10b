#include "store.h"

#include <cmath>

namespace execd::daemon {
namespace {

// Shared by the scripts: the server's clock in ms, and how a job ends
// (once: a second finish for the same job is a no-op).
const std::string kPrelude = R"LUA(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function finish(prefix, id, final, result, ttl, verdict)
  local jk = prefix .. 'job:' .. id
  local st = redis.call('HGET', jk, 'status')
  if not st or st == 'completed' or st == 'cancelled' then return 0 end
  redis.call('HSET', jk, 'status', final, 'result', result, 'finished_ms', now_ms())
  redis.call('HDEL', jk, 'cancel', 'request', 'progress')
  redis.call('ZREM', prefix .. 'running', id)
  redis.call('ZREM', prefix .. 'queue', id)
  redis.call('ZREM', prefix .. 'delayed', id)
  redis.call('EXPIRE', jk, ttl)
  local dk = prefix .. 'done:' .. id
  redis.call('RPUSH', dk, '1')
  redis.call('EXPIRE', dk, ttl)
  redis.call('HINCRBY', prefix .. 'stats', 'status:' .. final, 1)
  if verdict ~= '' then redis.call('HINCRBY', prefix .. 'stats', 'verdict:' .. verdict, 1) end
  return 1
end
)LUA";

// Takes (id, request, priority) triples after the prefix and the maximum.
// The room check covers the whole batch, so a batch is queued entirely or
// not at all; a single submission is a batch of one.
const Script kSubmit(kPrelude + R"LUA(
local prefix, queue_max = ARGV[1], tonumber(ARGV[2])
local n = (#ARGV - 2) / 3
if redis.call('ZCARD', prefix .. 'queue') + n > queue_max then return -1 end
local now = now_ms()
for i = 0, n - 1 do
  local id, request, priority = ARGV[3 + 3 * i], ARGV[4 + 3 * i], tonumber(ARGV[5 + 3 * i])
  local seq = redis.call('INCR', prefix .. 'seq')
  local score = string.format('%.0f', priority * 1e12 + seq)
  local jk = prefix .. 'job:' .. id
  redis.call('HSET', jk, 'request', request, 'status', 'queued', 'priority', priority, 'score', score,
             'attempts', 0, 'created_ms', now)
  redis.call('ZADD', prefix .. 'queue', score, id)
  redis.call('RPUSH', prefix .. 'wake', '1')
end
redis.call('LTRIM', prefix .. 'wake', -64, -1)
return 1
)LUA");

// Read-only: each job's fields, as HMGET gives them, in the order asked.
const Script kGetAll(R"LUA(
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('HMGET', prefix .. 'job:' .. ARGV[i], 'status', 'result', 'attempts', 'progress')
end
return out
)LUA");

const Script kPop(kPrelude + R"LUA(
local prefix, lease, worker = ARGV[1], tonumber(ARGV[2]), ARGV[3]
while true do
  local r = redis.call('ZPOPMIN', prefix .. 'queue')
  if #r == 0 then return false end
  local id = r[1]
  local jk = prefix .. 'job:' .. id
  if redis.call('HGET', jk, 'status') == 'queued' then
    local now = now_ms()
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
local st, attempts = unpack(redis.call('HMGET', jk, 'status', 'attempts'))
if st ~= 'running' then return 0 end
attempts = tonumber(attempts) or 0
if attempts >= max_attempts then return finish(prefix, id, 'completed', exhausted, ttl, 'InternalError') end
redis.call('ZREM', prefix .. 'running', id)
redis.call('HSET', jk, 'status', 'queued')
redis.call('ZADD', prefix .. 'delayed', now_ms() + backoff * 2 ^ (attempts - 1), id)
return 1
)LUA");

const Script kReap(kPrelude + R"LUA(
local prefix, max_attempts, lost, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local now = now_ms()
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', prefix .. 'running', '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', prefix .. 'running', id)
  local jk = prefix .. 'job:' .. id
  local st, attempts, score = unpack(redis.call('HMGET', jk, 'status', 'attempts', 'score'))
  if st == 'running' then
    if (tonumber(attempts) or 0) >= max_attempts then
      finish(prefix, id, 'completed', lost, ttl, 'InternalError')
    else
      redis.call('HSET', jk, 'status', 'queued')
      redis.call('HDEL', jk, 'worker')
      redis.call('ZADD', prefix .. 'queue', score, id)
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
redis.call('LTRIM', prefix .. 'wake', -64, -1)
return n
)LUA");

const Script kCancel(kPrelude + R"LUA(
local prefix, id, cancelled, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local jk = prefix .. 'job:' .. id
local st = redis.call('HGET', jk, 'status')
if not st then return -1 end
if st == 'queued' then return finish(prefix, id, 'cancelled', cancelled, ttl, '') end
if st == 'running' then
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

// An HMGET of status, result, attempts, progress; nullopt when the job hash is gone.
std::optional<StoredJob> stored_job(const Reply& r) {
    if (r.elements.size() != 4 || r.elements[0].nil()) return std::nullopt;
    StoredJob j;
    j.state = parse_state(r.elements[0].string);
    j.result_json = r.elements[1].string;
    j.attempts = r.elements[2].nil() ? 0 : std::atoi(r.elements[2].string.c_str());
    if (!r.elements[3].nil()) j.progress = r.elements[3].string;
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

bool JobStore::submit(const std::string& id, const std::string& request_json, int priority) {
    return submit_all({NewJob{id, request_json, priority}});
}

bool JobStore::submit_all(const std::vector<NewJob>& jobs) {
    if (jobs.empty()) return true;
    std::vector<std::string> args{settings_.prefix, std::to_string(settings_.queue_max)};
    args.reserve(2 + 3 * jobs.size());
    for (const auto& j : jobs) {
        args.push_back(j.id);
        args.push_back(j.request_json);
        args.push_back(std::to_string(j.priority));
    }
    auto c = pool_.take();
    Reply r = checked(c->eval(kSubmit, {}, args), "submit");
    return r.integer == 1;
}

std::optional<StoredJob> JobStore::get(const std::string& id) {
    auto c = pool_.take();
    return stored_job(
        checked(c->command({"HMGET", key("job:" + id), "status", "result", "attempts", "progress"}), "get"));
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

JobStore::CancelOutcome JobStore::cancel(const std::string& id, const std::string& cancelled_json) {
    auto c = pool_.take();
    Reply r = checked(c->eval(kCancel, {}, {settings_.prefix, id, cancelled_json, std::to_string(settings_.result_ttl_s)}),
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
                               std::to_string(settings_.result_ttl_s)}),
                      "reap");
    return static_cast<int>(r.integer);
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
