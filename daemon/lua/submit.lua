-- submit: queues n jobs, all or none (a single submission is a batch of one).
-- The room checks cover the whole batch. Its first write (INCR seq) is the
-- one a Redis at maxmemory refuses, before anything is written.
--
-- KEYS[1]      queue          ids waiting, scored priority * 10^12 + seq
-- KEYS[2]      queued_at      ids in state queued, scored by created_ms
-- KEYS[3]      queued_bytes   bytes of the requests (and metadata) of unfinished jobs
-- KEYS[4]      seq            the submission counter
-- KEYS[5]      wake           one entry per submission, for idle workers
-- KEYS[5 + i]  job:<id i>     for i = 1 .. n, the ids of ARGV in order
-- ARGV[1]      queue_max      most jobs in `queue`
-- ARGV[2]      max_bytes      most bytes in `queued_bytes`
-- ARGV[3]      owner          token_owner of the submitter ('' without tokens)
-- ARGV[5i - 1] .. ARGV[5i + 3]
--              id, request, priority, metadata ('' for none) and the id of
--              the HTTP request that submitted it ('' for none) of job i,
--              for i = 1 .. n
-- Reply:  1 all queued; -1 `queue` lacks room for n more (nothing written);
--        -2 the requests would pass max_bytes (nothing written);
--        an -OOM error from a Redis at maxmemory (nothing written).
--        Sent again (the ids are new for each submission, so they are its
--        token), 1: the first job exists already, so the batch was queued.
local k = {queue = KEYS[1], queued_at = KEYS[2], queued_bytes = KEYS[3], seq = KEYS[4], wake = KEYS[5]}
local queue_max, max_bytes, owner = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local n = (#ARGV - 3) / 5
if n > 0 and redis.call('EXISTS', KEYS[6]) == 1 then return 1 end
if redis.call('ZCARD', k.queue) + n > queue_max then return -1 end
local bytes = 0
for i = 1, n do bytes = bytes + #ARGV[5 * i] + #ARGV[5 * i + 2] end
if (tonumber(redis.call('GET', k.queued_bytes)) or 0) + bytes > max_bytes then return -2 end
local now = now_ms()
for i = 1, n do
  local f = 5 * i - 1
  local id, request, priority, metadata, request_id = ARGV[f], ARGV[f + 1], tonumber(ARGV[f + 2]), ARGV[f + 3], ARGV[f + 4]
  local seq = redis.call('INCR', k.seq)
  local score = string.format('%.0f', priority * 1e12 + seq)
  redis.call('HSET', KEYS[5 + i], 'request', request, 'status', 'queued', 'priority', priority, 'score', score,
             'attempts', 0, 'created_ms', now, 'bytes', #request + #metadata, 'owner', owner)
  if metadata ~= '' then redis.call('HSET', KEYS[5 + i], 'metadata', metadata) end
  if request_id ~= '' then redis.call('HSET', KEYS[5 + i], 'request_id', request_id) end
  redis.call('ZADD', k.queue, score, id)
  redis.call('ZADD', k.queued_at, now, id)
  redis.call('RPUSH', k.wake, '1')
end
redis.call('INCRBY', k.queued_bytes, bytes)
redis.call('LTRIM', k.wake, -64, -1)
return 1
