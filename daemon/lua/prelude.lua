-- prelude: the functions the job scripts share. It is not run on its own:
-- store.cpp puts it in front of every script that takes `now_ms`,
-- `writes_even_when_full` or `finish`, so those scripts are one source each.
--
-- KEYS, ARGV: none of its own; each function takes the keys it touches.
--
-- Writing when Redis is full: a Redis at its maxmemory (noeviction) refuses
-- a script's first write when that command may grow memory (INCR, HSET,
-- ZADD, RPUSH, ...) and lets every later write through, so that a script
-- never stops half-way. Every script that moves a job on starts with a write
-- that cannot grow memory (writes_even_when_full): a full Redis must still
-- let workers take, renew and finish jobs and clients cancel them, since a
-- job's end is what frees its request. Only submit is left to be refused
-- (-OOM, nothing written).

-- The server's clock in ms, so the nodes' clocks never matter.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- DEL of a key that never exists: a write that cannot grow memory.
-- no_such_key: the `no-such-key` key.
local function writes_even_when_full(no_such_key)
  redis.call('DEL', no_such_key)
end

-- The end of a job, once: a second finish for the same job does nothing.
--   k:       the shared keys, {queue, running, delayed, queued_at,
--            queued_bytes, stats, no_such_key}
--   jk, dk:  the job's `job:<id>` and `done:<id>`
--   final:   'completed' or 'cancelled'; result: the result document
--   ttl:     seconds the job's hash and `done:<id>` are kept
--   verdict: counted as stats `verdict:<verdict>` unless ''
--   stat:    counted as stats `status:<stat>` (default: final)
--   token:   the token of the call that ends it, kept as `ended_by` ('' for
--            a call that need not know: the reaper's)
-- Returns 1 when this call ended the job (or, sent again with the same
-- token, had ended it), 0 when it was already over or gone.
local function finish(k, jk, dk, id, final, result, ttl, verdict, stat, token)
  local st, bytes, ended_by = unpack(redis.call('HMGET', jk, 'status', 'bytes', 'ended_by'))
  if not st then return 0 end
  if st == 'completed' or st == 'cancelled' then
    if token and token ~= '' and ended_by == token then return 1 end
    return 0
  end
  writes_even_when_full(k.no_such_key)
  redis.call('HDEL', jk, 'cancel', 'request', 'progress', 'bytes')
  if bytes then
    if redis.call('DECRBY', k.queued_bytes, bytes) < 0 then redis.call('SET', k.queued_bytes, 0) end
  end
  redis.call('HSET', jk, 'status', final, 'result', result, 'finished_ms', now_ms(), 'ended_by', token or '')
  redis.call('ZREM', k.running, id)
  redis.call('ZREM', k.queue, id)
  redis.call('ZREM', k.delayed, id)
  redis.call('ZREM', k.queued_at, id)
  redis.call('EXPIRE', jk, ttl)
  redis.call('RPUSH', dk, '1')
  redis.call('EXPIRE', dk, ttl)
  redis.call('HINCRBY', k.stats, 'status:' .. (stat or final), 1)
  if verdict ~= '' then redis.call('HINCRBY', k.stats, 'verdict:' .. verdict, 1) end
  return 1
end

-- The shared keys of the scripts that may finish a job, which they declare
-- as KEYS[first] .. KEYS[first + 6] in this order.
local function shared_keys(first)
  return {queue = KEYS[first], running = KEYS[first + 1], delayed = KEYS[first + 2],
          queued_at = KEYS[first + 3], queued_bytes = KEYS[first + 4], stats = KEYS[first + 5],
          no_such_key = KEYS[first + 6]}
end

-- Takes the next queued job and a lease on it for a worker (queued ->
-- running): the lowest score in `queue`; ids whose job is no longer queued
-- are dropped and the next one taken.
--   queue, queued_at, running: those keys
--   lease: ms the lease lasts; worker: who takes it
--   job_prefix: the prefix of the job hashes, e.g. 'execd:job:'
--   token: the new lease's token, made for this call
--   took: the worker's `took:<worker>` key, which notes the last token it
--         took a job with, and that job
-- Returns {id, request, attempt, waited, request_id, more}, or false when
-- `queue` is empty: attempt counts from 1, waited is the ms since the job
-- was submitted, request_id the submitting HTTP request's ('' for none),
-- more 1 when other jobs still wait, else 0.
--
-- The same call sent again (same token) takes nothing more: it answers with
-- the job the first sending took, while that job still runs under this
-- token, and false once it has moved on (its lease lapsed meanwhile).
--
-- Undeclared keys: the job hash `<job prefix><id>` of each id it takes from
-- `queue`. Which id that is is known only once ZPOPMIN has run, inside the
-- script: a worker that read the head first and passed its key would race
-- every other worker for the same id and could skip a job of a better
-- priority submitted in between. So the scripts that take jobs, like the
-- others, run on one Redis server, not on a Redis Cluster.
local function take_next(queue, queued_at, running, lease, worker, job_prefix, token, took)
  local function taken(id, jk)
    local request, created, started, request_id, attempts =
      unpack(redis.call('HMGET', jk, 'request', 'created_ms', 'started_ms', 'request_id', 'attempts'))
    local more = redis.call('ZCARD', queue) > 0 and 1 or 0
    return {id, request, tonumber(attempts), tonumber(started) - (tonumber(created) or tonumber(started)),
            request_id or '', more}
  end
  local last_token, last_id = unpack(redis.call('HMGET', took, 'token', 'id'))
  if last_token == token then
    local jk = job_prefix .. last_id
    local st, holder = unpack(redis.call('HMGET', jk, 'status', 'lease'))
    if st == 'running' and holder == token then return taken(last_id, jk) end
    return false
  end
  while true do
    local r = redis.call('ZPOPMIN', queue)
    if #r == 0 then return false end
    local id = r[1]
    local jk = job_prefix .. id
    if redis.call('HGET', jk, 'status') == 'queued' then
      local now = now_ms()
      redis.call('ZREM', queued_at, id)
      redis.call('ZADD', running, now + lease, id)
      redis.call('HINCRBY', jk, 'attempts', 1)
      redis.call('HSET', jk, 'status', 'running', 'worker', worker, 'lease', token, 'started_ms', now)
      redis.call('HDEL', jk, 'progress')
      redis.call('HSET', took, 'token', token, 'id', id)
      redis.call('PEXPIRE', took, math.max(lease, 60000))
      return taken(id, jk)
    end
  end
end
