// The queue's record of a job (the `request` field of Redis's job:<id>): the
// POST /v1/jobs body of the request in base64 (submission_json), so the
// queue holds the wire form and nothing else, plus the two things decided
// when it was accepted that the body does not say:
//
//   {"body": {<POST /v1/jobs body, "encoding": "base64">},
//    "resultEncoding": "utf8" | "base64",   the encoding the client asked for
//    "maxOutputBytes": N}                   the operator's output maximum then
#pragma once

#include <string>

#include "api/submission.h"
#include "core/registry.h"

namespace execd::api {

// The record of an accepted submission.
std::string stored_request_json(const Submission& submission);

// A record back into the submission it was made from. The body goes through
// parse_submission again, without maxima (they were checked when it was
// accepted), so the worker reads exactly what the API accepted. Throws
// ApiError when the request no longer passes against `registry` (its
// language was removed since it was queued), std::runtime_error when the
// record is corrupt.
Submission parse_stored_request(const std::string& json, const Registry& registry);

}  // namespace execd::api
