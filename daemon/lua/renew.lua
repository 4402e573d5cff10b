-- renew: extends a running job's lease, only for the attempt holding it.
-- Safe to repeat as it is.
--
-- KEYS[1]  job:<id>
-- KEYS[2]  running      ids holding a lease, scored by its deadline
-- KEYS[3]  no-such-key  never exists (writes_even_when_full)
-- ARGV[1]  id
-- ARGV[2]  token        the lease token of the attempt that asks
-- ARGV[3]  lease        ms from now the lease lasts
-- Reply:   0 renewed; 1 renewed, and a cancel was asked for;
--         -1 not renewed: the job is not running or that attempt no longer
--         holds it
local jk, running, no_such_key = KEYS[1], KEYS[2], KEYS[3]
local id, token, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local st, holder, cancel = unpack(redis.call('HMGET', jk, 'status', 'lease', 'cancel'))
if st ~= 'running' or holder ~= token then return -1 end
writes_even_when_full(no_such_key)
redis.call('ZADD', running, 'XX', now_ms() + lease, id)
if cancel then return 1 end
return 0
