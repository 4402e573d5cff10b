#include "daemon/metrics.h"

#include <cstdio>

namespace execd::daemon {

void Histogram::observe(double seconds) {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < kBounds.size(); ++i)
        if (seconds <= kBounds[i]) ++buckets_[i];
    ++count_;
    sum_ += seconds;
}

void Histogram::render(const std::string& name, const std::string& labels, std::string& out) const {
    std::lock_guard lock(mutex_);
    char line[256];
    const std::string sep = labels.empty() ? "" : labels + ",";
    for (size_t i = 0; i < kBounds.size(); ++i) {
        std::snprintf(line, sizeof line, "%s_bucket{%sle=\"%g\"} %llu\n", name.c_str(), sep.c_str(), kBounds[i],
                      static_cast<unsigned long long>(buckets_[i]));
        out += line;
    }
    std::snprintf(line, sizeof line, "%s_bucket{%sle=\"+Inf\"} %llu\n%s_sum%s %g\n%s_count%s %llu\n", name.c_str(),
                  sep.c_str(), static_cast<unsigned long long>(count_), name.c_str(),
                  labels.empty() ? "" : ("{" + labels + "}").c_str(), sum_, name.c_str(),
                  labels.empty() ? "" : ("{" + labels + "}").c_str(), static_cast<unsigned long long>(count_));
    out += line;
}

}  // namespace execd::daemon
