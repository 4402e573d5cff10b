// Prometheus metrics of this node, plus the cluster-wide counters kept in Redis.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace execd::daemon {

class Histogram {
public:
    static constexpr std::array<double, 12> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    void observe(double seconds);
    // Appends the Prometheus text lines for metric `name`.
    void render(const std::string& name, const std::string& labels, std::string& out) const;

private:
    mutable std::mutex mutex_;
    std::array<uint64_t, kBounds.size()> buckets_{};
    uint64_t count_ = 0;
    double sum_ = 0;
};

struct Metrics {
    std::atomic<uint64_t> http_requests{0};
    std::atomic<uint64_t> submitted{0};
    std::atomic<uint64_t> rejected{0};
    std::atomic<uint64_t> compile_steps{0};       // compiler runs (a job with a checker program may have two)
    std::atomic<uint64_t> compile_cache_hits{0};  // jobs whose program came from the compile cache
    std::atomic<uint64_t> tests_run{0};           // test cases finished (Skipped ones included)
    Histogram run_seconds;                        // time in the sandbox, per job run on this node
};

}  // namespace execd::daemon
