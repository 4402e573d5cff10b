-- progress: notes how far a running graded job got; only the worker holding
-- its lease may.
--
-- KEYS[1]  job:<id>
-- ARGV[1]  worker  who asks
-- ARGV[2]  text    e.g. '3/5'
-- Reply:   1 noted; 0 the job is not running or `worker` does not hold it
local jk = KEYS[1]
local worker, text = ARGV[1], ARGV[2]
local st, owner = unpack(redis.call('HMGET', jk, 'status', 'worker'))
if st ~= 'running' or owner ~= worker then return 0 end
redis.call('HSET', jk, 'progress', text)
return 1
