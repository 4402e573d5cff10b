-- get_all: read-only; the fields of n jobs in one round trip and one
-- consistent snapshot.
--
-- KEYS[i]  job:<id i>, for i = 1 .. n
-- ARGV     none
-- Reply:   n arrays, in the order of KEYS, each as HMGET gives
--          status, result, attempts, progress, owner, metadata, request_id
--          (all nil for a job that does not exist)
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('HMGET', KEYS[i], 'status', 'result', 'attempts', 'progress', 'owner', 'metadata', 'request_id')
end
return out
