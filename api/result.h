// The result document of a job, both ways: what GET /v1/jobs/{id} answers for
// a finished job (and `exec run --json`), and that document read back into a
// JobResult, so a client prints a server's result exactly as a local one.
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <string>

#include "api/codec.h"
#include "core/job.h"
#include "core/registry.h"

namespace execd::api {

// The body of GET /v1/jobs/{id} for a finished job. Output that is not valid
// UTF-8 has each bad byte replaced by U+FFFD in Utf8 mode; Base64 mode carries
// the bytes exactly (and says "encoding": "base64").
Poco::JSON::Object::Ptr completed_job_json(const JobResult& result, Encoding encoding);

// The document of a job that waited in the queue longer than `queue_ttl_s`
// and was never run: {"status": "cancelled", "reason": "expired", "message"}.
// Clients that know only "completed" and "cancelled" still see a final state.
std::string expired_job_json(int64_t queue_ttl_s);

// A finished job's document (completed_job_json's shape, either encoding)
// back into a result. A cancelled job's ({"status": "cancelled"}, expired or
// not) is a result with `cancelled` set and its message, if any. Throws
// std::runtime_error naming what is missing or malformed.
JobResult job_result_from_json(const Poco::JSON::Object& job);

// One language as GET /v1/languages and `exec languages --json` show it:
// id, name, aliases, extensions, variantOf (a variant's base), version ("" when
// unknown or not installed), compiled, usable, the Debian packages that
// provide it, and the limits a job gets unless it asks for others (limits;
// compileLimits for a compiled one).
Poco::JSON::Object::Ptr language_json(const Language& lang, const std::string& version);

}  // namespace execd::api
