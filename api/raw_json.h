// Spans of JSON text as it was sent: a member's value or an array's
// elements, byte for byte, for the fields the API hands back exactly as the
// client wrote them (a job's `metadata`). The text must already have been
// parsed as JSON (parse_json_body); these only find where things are.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execd::api {

// The value of member `key` of the object `object` (leading whitespace
// allowed), as written; when the key is repeated, the last one, which is
// the one the parser keeps. nullopt when absent or `object` is no object.
// Keys written with escapes ("meta\u0064ata") are compared decoded, and, as
// the parser reads them, up to a first NUL ("metadata\u0000x" is "metadata").
std::optional<std::string_view> raw_member(std::string_view object, std::string_view key);

// The elements of the array `array`, as written; empty when it is no array.
std::vector<std::string_view> raw_elements(std::string_view array);

// `object` (compact JSON object text, '}' last) with "key": raw_value added
// as its last member, the value's bytes untouched. `object` unchanged when
// it does not end in '}'.
std::string with_raw_member(std::string object, std::string_view key, std::string_view raw_value);

}  // namespace execd::api
