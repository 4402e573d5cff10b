-- retry: after an infrastructure failure, a running job waits out a backoff
-- in `delayed` (running -> queued) or, with its attempts used up, is
-- completed with the exhausted result as an InternalError.
--
-- KEYS[1]       job:<id>
-- KEYS[2]       done:<id>     pushed once the job has ended
-- KEYS[3 .. 9]  queue, running, delayed, queued_at, queued_bytes, stats,
--               no-such-key   (the prelude's shared_keys)
-- ARGV[1]  id
-- ARGV[2]  max_attempts
-- ARGV[3]  backoff    ms; attempt a waits backoff * 2^(a - 1)
-- ARGV[4]  exhausted  the result when no attempt is left
-- ARGV[5]  ttl        seconds the finished job is kept
-- ARGV[6]  token      the lease token of the attempt that failed
-- Reply:   1 delayed; 2 completed as exhausted; 0 the job was not running
--          under that attempt. Sent again, the same reply: a job delayed by
--          this attempt is queued and still holds its token (a pop replaces
--          it, a reap removes it); one it ended holds it as `ended_by`.
local k = shared_keys(3)
local jk, dk = KEYS[1], KEYS[2]
local id, max_attempts, backoff = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local exhausted, ttl, token = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local st, attempts, created, holder, ended_by =
  unpack(redis.call('HMGET', jk, 'status', 'attempts', 'created_ms', 'lease', 'ended_by'))
if st == 'queued' and holder == token then return 1 end
if st ~= 'running' then return ended_by == token and 2 or 0 end
if holder ~= token then return 0 end
attempts = tonumber(attempts) or 0
if attempts >= max_attempts then
  return 2 * finish(k, jk, dk, id, 'completed', exhausted, ttl, 'InternalError', nil, token)
end
writes_even_when_full(k.no_such_key)
redis.call('ZREM', k.running, id)
redis.call('HSET', jk, 'status', 'queued')
redis.call('ZADD', k.delayed, now_ms() + backoff * 2 ^ (attempts - 1), id)
if created then redis.call('ZADD', k.queued_at, created, id) end
return 1
