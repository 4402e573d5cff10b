-- renew: extends a running job's lease, only for the worker holding it.
--
-- KEYS[1]  job:<id>
-- KEYS[2]  running      ids holding a lease, scored by its deadline
-- KEYS[3]  no-such-key  never exists (writes_even_when_full)
-- ARGV[1]  id
-- ARGV[2]  worker       who asks
-- ARGV[3]  lease        ms from now the lease lasts
-- Reply:   0 renewed; 1 renewed, and a cancel was asked for;
--         -1 not renewed: the job is not running or `worker` no longer holds it
local jk, running, no_such_key = KEYS[1], KEYS[2], KEYS[3]
local id, worker, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local st, owner, cancel = unpack(redis.call('HMGET', jk, 'status', 'worker', 'cancel'))
if st ~= 'running' or owner ~= worker then return -1 end
writes_even_when_full(no_such_key)
redis.call('ZADD', running, 'XX', now_ms() + lease, id)
if cancel then return 1 end
return 0
