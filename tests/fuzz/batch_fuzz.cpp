// POST /v1/jobs/batch bodies: accepted whole, or refused with an ApiError
// that names the element at fault; never half of a batch.
#include <string>

#include "api/api_error.h"
#include "api/batch.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    constexpr int64_t kMaxJobs = 8;
    try {
        const auto subs = api::parse_batch_body(body, fuzz::registry(), fuzz::maxima(), kMaxJobs);
        FUZZ_REQUIRE(!subs.empty() && static_cast<int64_t>(subs.size()) <= kMaxJobs);
    } catch (const api::ApiError& e) {
        FUZZ_REQUIRE(e.status() == 400);
        FUZZ_REQUIRE(*e.what() != '\0');
    }
    return 0;
}
