// A job in the host-local binary form (core/util/wire.h), for exec and the
// warm sandbox it keeps (cmd/warm.h): a request goes one way, per-test
// progress and the result come back. Not the API's wire format (api/, JSON):
// both ends are the same build, which the format's magic line checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/job.h"

namespace execd {

// Everything of a request but `cancel` and `on_test`, which are the
// receiving process's own.
std::string encode_request(const JobRequest& request);
std::optional<JobRequest> decode_request(std::string_view bytes);

std::string encode_result(const JobResult& result);
std::optional<JobResult> decode_result(std::string_view bytes);

// One finished test, with its place among the job's tests.
std::string encode_test_progress(const TestResult& test, size_t index, size_t total);
struct TestProgress {
    TestResult test;
    size_t index = 0, total = 0;
};
std::optional<TestProgress> decode_test_progress(std::string_view bytes);

}  // namespace execd
