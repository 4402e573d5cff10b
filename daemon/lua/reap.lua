-- reap: the second half of a reap, for the ids reap_due.lua named. Each id is
-- checked again against its set and Redis's clock now, so an id that moved
-- on since (a renewed lease, a finished job, another node's reap) is left
-- as it is.
--   lapsed (running past its lease): out of `running`; back into `queue` at
--     its original score (and into `queued_at`), or, with its attempts used
--     up, finished as an InternalError with the lost result;
--   due (delayed past its backoff): out of `delayed`, into `queue` if still
--     queued;
--   old (queued_at older than queue_ttl), and every lapsed id this call
--     requeued: finished as cancelled with the expired result if still
--     queued, counted as status `expired`; else out of `queued_at`.
-- A job's age counts from its submission, and only a job in state queued
-- (waiting in `queue` or `delayed`) expires: never one that is running.
-- Safe to repeat as it is: sent again, every id has moved on and is left.
--
-- KEYS[1 .. 7]  queue, running, delayed, queued_at, queued_bytes, stats,
--               no-such-key   (the prelude's shared_keys)
-- KEYS[8]       wake          one entry per requeued job, for idle workers
-- KEYS[7 + 2j], KEYS[8 + 2j]
--               job:<id j>, done:<id j>, for the ids of ARGV in order
-- ARGV[1]  max_attempts
-- ARGV[2]  lost       the result of a job that lost its worker on every attempt
-- ARGV[3]  ttl        seconds a finished job is kept
-- ARGV[4]  queue_ttl  seconds a job may stay queued
-- ARGV[5]  expired    the result of a job that expired in the queue
-- ARGV[6], ARGV[7], ARGV[8]
--          how many ids are lapsed, due and old
-- ARGV[8 + j]  id j: the lapsed ids, then the due ones, then the old ones
-- Reply:   {requeued, {expired ids}}: how many jobs went back to the queue
--          or were finished as lost, and the ids that expired
local k = shared_keys(1)
local wake = KEYS[8]
local max_attempts, lost, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local queue_ttl_ms, expired = tonumber(ARGV[4]) * 1000, ARGV[5]
local n_lapsed, n_due, n_old = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local function id_of(j) return ARGV[8 + j] end
local function job_key(j) return KEYS[7 + 2 * j] end
local function done_key(j) return KEYS[8 + 2 * j] end
local function at_most(key, id, limit)
  local score = redis.call('ZSCORE', key, id)
  return score and tonumber(score) <= limit
end
writes_even_when_full(k.no_such_key)
local now = now_ms()
local n = 0
local maybe_old = {}
for j = 1, n_lapsed do
  local id, jk = id_of(j), job_key(j)
  if at_most(k.running, id, now) then
    redis.call('ZREM', k.running, id)
    local st, attempts, score, created = unpack(redis.call('HMGET', jk, 'status', 'attempts', 'score', 'created_ms'))
    if st == 'running' then
      if (tonumber(attempts) or 0) >= max_attempts then
        finish(k, jk, done_key(j), id, 'completed', lost, ttl, 'InternalError')
      else
        redis.call('HSET', jk, 'status', 'queued')
        redis.call('HDEL', jk, 'worker', 'lease')
        redis.call('ZADD', k.queue, score, id)
        if created then redis.call('ZADD', k.queued_at, created, id) end
        redis.call('RPUSH', wake, '1')
        maybe_old[#maybe_old + 1] = j
      end
      n = n + 1
    end
  end
end
for j = n_lapsed + 1, n_lapsed + n_due do
  local id, jk = id_of(j), job_key(j)
  if at_most(k.delayed, id, now) then
    redis.call('ZREM', k.delayed, id)
    if redis.call('HGET', jk, 'status') == 'queued' then
      redis.call('ZADD', k.queue, redis.call('HGET', jk, 'score'), id)
      redis.call('RPUSH', wake, '1')
      n = n + 1
    end
  end
end
for j = n_lapsed + n_due + 1, n_lapsed + n_due + n_old do maybe_old[#maybe_old + 1] = j end
local gone = {}
for _, j in ipairs(maybe_old) do
  local id, jk = id_of(j), job_key(j)
  if at_most(k.queued_at, id, now - queue_ttl_ms) then
    if redis.call('HGET', jk, 'status') == 'queued' then
      finish(k, jk, done_key(j), id, 'cancelled', expired, ttl, '', 'expired')
      gone[#gone + 1] = id
    else
      redis.call('ZREM', k.queued_at, id)
    end
  end
end
redis.call('LTRIM', wake, -64, -1)
return {n, gone}
