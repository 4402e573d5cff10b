// UTF-8 decoding for the places that must emit valid text (JSON, XML,
// terminals) from program output, which may be any bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace execd {

// The length (1 to 4) of the valid UTF-8 sequence starting at s[i], with its
// code point in `cp`; 0 when the bytes there are not valid UTF-8 (a stray
// continuation byte, a truncated sequence, an overlong form, a surrogate, a
// value past U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) noexcept;

// Appends `cp` (at most U+10FFFF) encoded as UTF-8.
void append_utf8(std::string& out, uint32_t cp);

// Whether `text` is valid UTF-8 (any code points).
bool is_valid_utf8(std::string_view text) noexcept;

// Whether `text` is valid UTF-8 holding no C0 control character (U+0000 to
// U+001F, tab and newline included) and no DEL.
bool is_printable_utf8(std::string_view text) noexcept;

}  // namespace execd
