-- pop: takes the next queued job and a lease on it for a worker (queued ->
-- running): the lowest score in `queue`; ids whose job is no longer queued
-- are dropped and the next one taken.
--
-- KEYS[1]  queue        ids waiting, scored priority * 10^12 + seq
-- KEYS[2]  queued_at    ids in state queued
-- KEYS[3]  running      ids holding a lease, scored by its deadline
-- KEYS[4]  no-such-key  never exists (writes_even_when_full)
-- ARGV[1]  lease        ms the lease lasts
-- ARGV[2]  worker       who takes the job
-- ARGV[3]  job prefix   the prefix of the job hashes, e.g. 'execd:job:'
-- Reply:   {id, request, attempt, waited, request_id}, or nil when `queue`
--          is empty: attempt counts from 1, waited is the ms since the job
--          was submitted, request_id the submitting HTTP request's ('' for
--          none)
--
-- Undeclared keys: the job hash `<job prefix><id>` of each id this script
-- takes from `queue`. Which id that is is known only once ZPOPMIN has run,
-- inside the script: a worker that read the head first and passed its key
-- would race every other worker for the same id and could skip a job of a
-- better priority submitted in between. So this script, like the others,
-- runs on one Redis server, not on a Redis Cluster.
local k = {queue = KEYS[1], queued_at = KEYS[2], running = KEYS[3], no_such_key = KEYS[4]}
local lease, worker, job_prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3]
writes_even_when_full(k.no_such_key)
while true do
  local r = redis.call('ZPOPMIN', k.queue)
  if #r == 0 then return false end
  local id = r[1]
  local jk = job_prefix .. id
  if redis.call('HGET', jk, 'status') == 'queued' then
    local now = now_ms()
    redis.call('ZREM', k.queued_at, id)
    redis.call('ZADD', k.running, now + lease, id)
    local attempts = redis.call('HINCRBY', jk, 'attempts', 1)
    redis.call('HSET', jk, 'status', 'running', 'worker', worker, 'started_ms', now)
    redis.call('HDEL', jk, 'progress')
    local request, created, request_id = unpack(redis.call('HMGET', jk, 'request', 'created_ms', 'request_id'))
    return {id, request, attempts, now - (tonumber(created) or now), request_id or ''}
  end
end
