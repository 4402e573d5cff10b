// Standard base64 (RFC 4648 §4, with padding): the API carries program bytes
// that are not text this way, and the job store keeps request bodies so.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace execd {

// `bytes` in standard base64, padded with '='.
std::string base64_encode(std::string_view bytes);

// Strict standard base64: the length a multiple of 4, padding only at the
// end, no whitespace or other characters, and the bits padding leaves unused
// zero, so every byte string has one spelling. nullopt if `text` is not that.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace execd
