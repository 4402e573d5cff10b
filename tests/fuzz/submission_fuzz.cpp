// POST /v1/jobs bodies. Whatever the bytes, the parser accepts or throws
// ApiError; what it accepts survives the trips a job makes: into the queue's
// record and back (the worker's view), and out as a body `exec` would send
// and back.
#include <string>

#include "api/api_error.h"
#include "api/stored_request.h"
#include "api/submission.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    api::Submission sub;
    try {
        sub = api::parse_submission_body(body, fuzz::registry(), fuzz::maxima());
    } catch (const api::ApiError& e) {
        FUZZ_REQUIRE(e.status() == 400);
        FUZZ_REQUIRE(*e.what() != '\0');
        return 0;
    }
    const std::string record = api::stored_request_json(sub);
    api::Submission queued = api::parse_stored_request(record, fuzz::registry());
    queued.metadata_json = sub.metadata_json;  // kept beside the record, not in it
    FUZZ_REQUIRE(api::stored_request_json(queued) == record);

    api::Submission resent =
        api::parse_submission_body(api::submission_body(sub.request, sub.encoding), fuzz::registry(), fuzz::maxima());
    resent.priority = sub.priority;  // submission_body leaves the default out
    resent.metadata_json = sub.metadata_json;
    FUZZ_REQUIRE(api::stored_request_json(resent) == record);
    return 0;
}
