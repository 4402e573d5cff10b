-- complete: records a job's result once (queued or running -> completed or
-- cancelled), through the prelude's finish; and, when asked, takes the
-- worker's next job in the same round trip, through take_next (which says
-- which keys it touches undeclared).
--
-- KEYS[1]       job:<id>
-- KEYS[2]       done:<id>     pushed once the job has ended
-- KEYS[3 .. 9]  queue, running, delayed, queued_at, queued_bytes, stats,
--               no-such-key   (the prelude's shared_keys)
-- KEYS[10]      took:<worker> (with a worker: take_next's)
-- ARGV[1]  id
-- ARGV[2]  final    'completed' or 'cancelled'
-- ARGV[3]  result   the result document
-- ARGV[4]  ttl      seconds the finished job is kept
-- ARGV[5]  verdict  counted in stats unless ''
-- ARGV[6]  worker   who takes the next job; '' or absent: take none
-- ARGV[7]  lease    ms the next job's lease lasts (with a worker)
-- ARGV[8]  job prefix  the prefix of the job hashes (with a worker)
-- ARGV[9]  token    the lease token of the attempt whose result this is
-- ARGV[10] next token  the next job's lease token, new for this call (with a
--          worker)
-- Reply:   {recorded} or {recorded, id, request, attempt, waited, request_id,
--          more} (take_next's): recorded is 1 when this call recorded the
--          result, 0 when the job had already ended or does not exist. Sent
--          again, the same reply: the attempt's token says the result was
--          its own, and the next token which job it took.
local k = shared_keys(3)
local recorded = finish(k, KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], nil, ARGV[9])
local worker = ARGV[6] or ''
if worker == '' then return {recorded} end
writes_even_when_full(k.no_such_key)
local next_job = take_next(k.queue, k.queued_at, k.running, tonumber(ARGV[7]), worker, ARGV[8], ARGV[10], KEYS[10])
if not next_job then return {recorded} end
return {recorded, unpack(next_job)}
