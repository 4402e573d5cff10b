// The one JSON codec: core types to the API's JSON and back. Handlers and CLI
// commands never build JSON by hand.
#pragma once

#include <Poco/JSON/Object.h>

#include <optional>
#include <string>
#include <string_view>

#include "config.h"
#include "registry.h"
#include "runner.h"

namespace execd::api {

enum class Encoding { Utf8, Base64 };

// A validated POST /v1/jobs body.
struct Submission {
    JobRequest request;            // code/stdin/files as bytes (already decoded)
    int priority = 10;             // lower runs first
    Encoding encoding = Encoding::Utf8;
    std::string metadata_json;     // the client's metadata object (validated, not stored)
};

// Parses and validates a POST /v1/jobs body against the registry and the
// operator's maxima. Throws ApiError (400) naming the field and the reason.
Submission parse_submission(const std::string& body, const Registry& registry, const daemon::Maxima& maxima);

// The request as stored in the queue (binary-safe) and back. The inverse
// throws std::runtime_error on a corrupt record.
std::string request_to_json(const Submission& s);
Submission request_from_json(const std::string& json);

// The body of GET /v1/jobs/{id} for a finished job (also `exec run --json`).
// Output that is not valid UTF-8 has each bad byte replaced by U+FFFD in
// Utf8 mode; Base64 mode carries the bytes exactly.
Poco::JSON::Object::Ptr completed_job_json(const JobResult& result, Encoding encoding);

// The POST /v1/jobs body for a request (what `exec` sends a server): every
// field parse_submission reads, in `encoding`.
std::string submission_body(const JobRequest& request, Encoding encoding);

// A finished job's document (completed_job_json's shape, either encoding)
// back into a result, so a client renders a server's result exactly as a
// local one. Throws std::runtime_error naming what is missing.
JobResult job_result_from_json(const Poco::JSON::Object& job);

// Serialises compactly (no whitespace).
std::string stringify(const Poco::JSON::Object::Ptr& object);

// `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);

// Strict standard base64 (padding required, whitespace refused); nullopt if invalid.
std::optional<std::string> base64_decode(std::string_view text);

// {"error": {"code", "message", "field"?}}
std::string error_json(const std::string& code, const std::string& message, const std::string& field);

// The document of a job that waited in the queue longer than `queue_ttl_s`
// and was never run: {"status": "cancelled", "reason": "expired", "message"}.
// Clients that know only "completed" and "cancelled" still see a final state.
std::string expired_job_json(int64_t queue_ttl_s);

}  // namespace execd::api
