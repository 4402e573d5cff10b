// UTF-8 (core/util/utf8.h, api's sanitize_utf8) against a reference written
// from RFC 3629's table of well-formed sequences: the same verdict on every
// input; sanitize_utf8 always gives valid UTF-8 and leaves valid text as it
// was; decoding each sequence and encoding it again gives the input back.
#include <string>

#include "api/codec.h"
#include "core/util/utf8.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;

namespace {

// RFC 3629 §4: the byte ranges of each well-formed sequence.
bool reference_valid(std::string_view s) {
    size_t i = 0;
    auto in = [&](size_t k, unsigned lo, unsigned hi) {
        return i + k < s.size() && static_cast<unsigned char>(s[i + k]) >= lo &&
               static_cast<unsigned char>(s[i + k]) <= hi;
    };
    while (i < s.size()) {
        const unsigned b = static_cast<unsigned char>(s[i]);
        size_t n = 0;
        if (b <= 0x7F)
            n = 1;
        else if (b >= 0xC2 && b <= 0xDF && in(1, 0x80, 0xBF))
            n = 2;
        else if (b == 0xE0 && in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF))
            n = 3;
        else if (((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) && in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF))
            n = 3;
        else if (b == 0xED && in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF))
            n = 3;
        else if (b == 0xF0 && in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF))
            n = 4;
        else if (b >= 0xF1 && b <= 0xF3 && in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF))
            n = 4;
        else if (b == 0xF4 && in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF))
            n = 4;
        if (n == 0) return false;
        i += n;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const bool valid = is_valid_utf8(text);
    FUZZ_REQUIRE(valid == reference_valid(text));
    if (is_printable_utf8(text)) FUZZ_REQUIRE(valid);

    const std::string clean = api::sanitize_utf8(text);
    FUZZ_REQUIRE(is_valid_utf8(clean));
    if (valid) FUZZ_REQUIRE(clean == text);

    std::string again;
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_sequence(text, i, cp);
        if (n == 0) {
            again.push_back(text[i++]);
            continue;
        }
        FUZZ_REQUIRE(n <= 4 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF));
        append_utf8(again, cp);
        i += n;
    }
    FUZZ_REQUIRE(again == text);
    return 0;
}
