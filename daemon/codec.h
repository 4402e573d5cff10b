// The one JSON codec: core types to the API's JSON and back. Handlers and CLI
// commands never build JSON by hand.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <string_view>

#include "runner.h"

namespace execd::api {

enum class Encoding { Utf8, Base64 };

// The body of GET /v1/jobs/{id} for a finished job (also `exec run --json`).
// Output that is not valid UTF-8 has each bad byte replaced by U+FFFD in
// Utf8 mode; Base64 mode carries the bytes exactly.
Poco::JSON::Object::Ptr completed_job_json(const JobResult& result, Encoding encoding);

// Serialises compactly (no whitespace).
std::string stringify(const Poco::JSON::Object::Ptr& object);

// `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);

}  // namespace execd::api
