// POST /v1/jobs/batch's body, {"jobs": [<POST /v1/jobs body>, ...]}: checked
// for shape and size, then each element with the parser POST /v1/jobs uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/maxima.h"
#include "api/submission.h"
#include "core/registry.h"

namespace execd::api {

// Every job of the batch, in order, each with its metadata as sent. Nothing
// is returned unless every element is valid. Throws ApiError (400
// invalid_json or invalid_field): for an element, its message starts with
// "jobs[I]: " and its field with "jobs[I]". More than `max_jobs` elements
// are refused before any is read.
std::vector<Submission> parse_batch_body(const std::string& body, const Registry& registry, const Maxima& maxima,
                                         int64_t max_jobs);

}  // namespace execd::api
