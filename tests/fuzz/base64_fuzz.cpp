// Strict base64 (core/util/base64.h): encoding then decoding gives the bytes
// back; what the decoder accepts is exactly the canonical encoding of what
// it returns (no second spelling of the same bytes gets through).
#include <string>

#include "core/util/base64.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::string encoded = base64_encode(bytes);
    FUZZ_REQUIRE(encoded.size() == (size + 2) / 3 * 4);
    const auto decoded = base64_decode(encoded);
    FUZZ_REQUIRE(decoded.has_value() && *decoded == bytes);

    if (const auto taken = base64_decode(bytes)) FUZZ_REQUIRE(base64_encode(*taken) == bytes);
    return 0;
}
