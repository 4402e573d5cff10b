// The one schema of a job request, both ways: a POST /v1/jobs body parsed and
// checked into a JobRequest (the daemon; a batch passes each element), and a
// JobRequest written as that body (what `exec` sends a server, and, in
// base64, the queue's record of a job: api/stored_request.h).
#pragma once

#include <Poco/JSON/Object.h>

#include <string>

#include "api/codec.h"
#include "api/maxima.h"
#include "core/job.h"
#include "core/registry.h"

namespace execd::api {

inline constexpr int kDefaultPriority = 10;

// A validated POST /v1/jobs body.
struct Submission {
    JobRequest request;                  // code/stdin/files as bytes (already decoded)
    int priority = kDefaultPriority;     // lower runs first
    Encoding encoding = Encoding::Utf8;  // of the body's byte strings, and of the result
    // The client's `metadata` object exactly as sent (attach_metadata);
    // stored with the job and returned by every GET of it. Empty when none.
    std::string metadata_json;
};

// The most bytes of `metadata`, as sent.
inline constexpr size_t kMaxMetadataBytes = 16384;

// Checks one POST /v1/jobs body, already parsed, against the registry and
// the operator's maxima. Integers must be JSON integers (3000.0 is refused).
// Throws ApiError (400 invalid_field) naming the field and the reason.
Submission parse_submission(const Poco::JSON::Object& body, const Registry& registry, const Maxima& maxima);

// Sets sub.metadata_json to the `metadata` member of `object_text` (the JSON
// text `sub` was parsed from) byte for byte, as the client wrote it.
// Throws ApiError (400 invalid_field, "metadata") when it is larger than
// kMaxMetadataBytes or not valid UTF-8.
void attach_metadata(Submission& sub, std::string_view object_text);

// POST /v1/jobs: the body parsed (parse_json_body), required to be an object,
// then parse_submission and attach_metadata. Throws ApiError (400
// invalid_json or invalid_field).
Submission parse_submission_body(const std::string& body, const Registry& registry, const Maxima& maxima);

// `request` as a POST /v1/jobs body: every field parse_submission reads,
// defaults left out, byte strings in `encoding` (names and args are always
// plain). parse_submission of it gives the request back, but for
// max_output_bytes, which the maxima set.
Poco::JSON::Object::Ptr submission_json(const JobRequest& request, Encoding encoding, int priority = kDefaultPriority);

// stringify(submission_json(request, encoding)).
std::string submission_body(const JobRequest& request, Encoding encoding);

}  // namespace execd::api
