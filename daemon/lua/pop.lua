-- pop: takes the next queued job and a lease on it for a worker, through
-- the prelude's take_next (which says which keys it touches undeclared).
--
-- KEYS[1]  queue        ids waiting, scored priority * 10^12 + seq
-- KEYS[2]  queued_at    ids in state queued
-- KEYS[3]  running      ids holding a lease, scored by its deadline
-- KEYS[4]  no-such-key  never exists (writes_even_when_full)
-- KEYS[5]  took:<worker>  the worker's last token and the job it took
-- ARGV[1]  lease        ms the lease lasts
-- ARGV[2]  worker       who takes the job
-- ARGV[3]  job prefix   the prefix of the job hashes, e.g. 'execd:job:'
-- ARGV[4]  token        the lease's token, new for this call
-- Reply:   take_next's {id, request, attempt, waited, request_id, more}, or
--          nil when `queue` is empty. Sent again with the same token, the
--          same job (take_next).
writes_even_when_full(KEYS[4])
return take_next(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], KEYS[5])
