// The HTTP API's wire format: what its parts share. The format lives in api/,
// one schema of a request both ways (api/submission.h), the queue's record of
// one (api/stored_request.h), the result document both ways (api/result.h);
// handlers and CLI commands never build JSON by hand. The module knows
// core's job types and a plain api::Maxima, never the daemon or the runner
// (go-judge's cmd/go-judge/model, which its worker never sees).
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <optional>
#include <string>
#include <string_view>

namespace execd::api {

// How byte strings (code, stdin, outputs) travel: as JSON text, or base64.
enum class Encoding { Utf8, Base64 };

// `bytes` as a JSON string in `encoding`: base64, or the bytes with every
// sequence that is not valid UTF-8 replaced by U+FFFD.
std::string encode_bytes(std::string_view bytes, Encoding encoding);

// The inverse for a string read from JSON: the text itself, or the bytes its
// strict base64 stands for; nullopt if it is not valid base64.
std::optional<std::string> decode_bytes(const std::string& text, Encoding encoding);

// Serialises compactly (no whitespace).
std::string stringify(const Poco::JSON::Object::Ptr& object);

// `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

// A request body parsed as JSON (any value; the caller checks its shape).
// Throws ApiError (400 invalid_json) when it is not JSON.
Poco::Dynamic::Var parse_json_body(const std::string& body);

// {"error": {"code", "message", "field"?}}
std::string error_json(const std::string& code, const std::string& message, const std::string& field);

}  // namespace execd::api
