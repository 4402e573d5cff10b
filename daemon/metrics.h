// Prometheus metrics of this node. The cluster-wide figures (kept in Redis)
// are read at scrape time by the handler (handlers/metrics.cpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace execd::daemon {

class Histogram {
public:
    static constexpr std::array<double, 14> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                    1,     2.5,  5,     10,   30,  60,   300};
    void observe(double seconds);
    // Appends the Prometheus text lines for metric `name`.
    void render(const std::string& name, const std::string& labels, std::string& out) const;

private:
    mutable std::mutex mutex_;
    std::array<uint64_t, kBounds.size()> buckets_{};
    uint64_t count_ = 0;
    double sum_ = 0;
};

// A counter with labels: one value per label set, written as Prometheus
// writes labels (`status="completed"`). Callers pass values from small fixed
// sets (statuses, verdicts, methods, codes), so the series stay few.
class LabelledCounter {
public:
    void add(const std::string& labels, uint64_t n = 1);
    std::vector<std::pair<std::string, uint64_t>> values() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, uint64_t> values_;
};

// `name="value"`, the value escaped as the text format wants.
std::string label(const std::string& name, const std::string& value);

struct Metrics {
    LabelledCounter http_requests;                 // method, code: every response this node's API sent
    std::atomic<uint64_t> connections_refused{0};  // beyond max_connections, refused before a request was read
    std::atomic<uint64_t> submitted{0};
    std::atomic<uint64_t> rejected{0};
    LabelledCounter jobs;                         // status: jobs this node's workers finished, as they recorded them
    LabelledCounter verdicts;                     // verdict: the verdicts this node's workers recorded
    std::atomic<uint64_t> compile_steps{0};       // compiler runs (a job with a checker program may have two)
    std::atomic<uint64_t> compile_cache_hits{0};  // jobs whose program came from the compile cache
    std::atomic<uint64_t> tests_run{0};           // test cases finished (Skipped ones included)
    Histogram run_seconds;                        // time in the sandbox, per job run on this node
    Histogram queue_wait_seconds;                 // submission to first start, per job this node's workers took
};

}  // namespace execd::daemon
