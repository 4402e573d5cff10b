-- rewake: a waiter's BLPOP took the signal that job <id> ended; put it back
-- for any other waiter on the same job, and read the job, in one round trip
-- (the long-poll answers as soon as this returns).
--
-- KEYS[1]  job:<id>
-- KEYS[2]  done:<id>
-- ARGV[1]  seconds the signal lives (result_ttl_s)
-- Reply:   the job's fields as get_all gives each: status, result, attempts,
--          progress, owner, metadata, request_id
redis.call('RPUSH', KEYS[2], '1')
redis.call('EXPIRE', KEYS[2], ARGV[1])
return redis.call('HMGET', KEYS[1], 'status', 'result', 'attempts', 'progress', 'owner', 'metadata', 'request_id')
