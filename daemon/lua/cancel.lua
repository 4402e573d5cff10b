-- cancel: a queued job is finished as cancelled at once; a running one gets
-- the cancel flag, which its worker sees on its next renew. A job of another
-- owner, when the caller is not an admin, is answered like a missing one.
--
-- KEYS[1]       job:<id>
-- KEYS[2]       done:<id>     pushed once the job has ended
-- KEYS[3 .. 9]  queue, running, delayed, queued_at, queued_bytes, stats,
--               no-such-key   (the prelude's shared_keys)
-- ARGV[1]  id
-- ARGV[2]  cancelled  the result of a job cancelled while queued
-- ARGV[3]  ttl        seconds the finished job is kept
-- ARGV[4]  check      '1': only a job whose owner is ARGV[5]; '0': any job
-- ARGV[5]  owner
-- ARGV[6]  token      new for this cancel
-- Reply:   1 cancelled; 2 asked to stop (running); 0 already finished;
--         -1 unknown (missing, or another owner's). Sent again, the same
--         reply: the token is kept as `ended_by` by a job it cancelled, as
--         `cancel_asked` by one it asked to stop.
local k = shared_keys(3)
local jk, dk = KEYS[1], KEYS[2]
local id, cancelled, ttl, check, owner, token = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local st, job_owner, asked = unpack(redis.call('HMGET', jk, 'status', 'owner', 'cancel_asked'))
if not st then return -1 end
if check == '1' and (job_owner or '') ~= owner then return -1 end
if st == 'queued' then return finish(k, jk, dk, id, 'cancelled', cancelled, ttl, '', nil, token) end
if st == 'running' then
  writes_even_when_full(k.no_such_key)
  redis.call('HSET', jk, 'cancel', '1', 'cancel_asked', token)
  return 2
end
if asked == token then return 2 end
-- Over already: 1 if this token was what cancelled it (finish checks), else 0.
return finish(k, jk, dk, id, 'cancelled', cancelled, ttl, '', nil, token)
