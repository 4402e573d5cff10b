-- progress: notes how far a running graded job got; only the attempt
-- holding its lease may. Safe to repeat as it is.
--
-- KEYS[1]  job:<id>
-- ARGV[1]  token   the lease token of the attempt that asks
-- ARGV[2]  text    e.g. '3/5'
-- Reply:   1 noted; 0 the job is not running or that attempt does not hold it
local jk = KEYS[1]
local token, text = ARGV[1], ARGV[2]
local st, holder = unpack(redis.call('HMGET', jk, 'status', 'lease'))
if st ~= 'running' or holder ~= token then return 0 end
redis.call('HSET', jk, 'progress', text)
return 1
