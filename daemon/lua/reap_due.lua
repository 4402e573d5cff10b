-- reap_due: read-only; what the reaper may have to move on, by Redis's
-- clock: the first half of a reap. The ids it names go to reap.lua with
-- their keys, and reap.lua checks each again, so anything that changes in
-- between (a renewed lease, a finished job, another node's reap) is left as
-- it is.
--
-- KEYS[1]  running    ids holding a lease, scored by its deadline
-- KEYS[2]  delayed    ids waiting out a retry backoff, scored by when they may run
-- KEYS[3]  queued_at  ids in state queued, scored by created_ms
-- ARGV[1]  queue_ttl  seconds a job may stay queued
-- Reply:   {lapsed, due, old}: up to 100 ids each of `running` past their
--          lease, of `delayed` past their backoff, and of `queued_at`
--          submitted more than queue_ttl ago
local now = now_ms()
local queue_ttl_ms = tonumber(ARGV[1]) * 1000
return {redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100),
        redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100),
        redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - queue_ttl_ms, 'LIMIT', 0, 100)}
