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
    std::snprintf(line, sizeof line, "%s_bucket{%sle=\"+Inf\"} %llu\n%s_sum%s %.17g\n%s_count%s %llu\n", name.c_str(),
                  sep.c_str(), static_cast<unsigned long long>(count_), name.c_str(),
                  labels.empty() ? "" : ("{" + labels + "}").c_str(), sum_, name.c_str(),
                  labels.empty() ? "" : ("{" + labels + "}").c_str(), static_cast<unsigned long long>(count_));
    out += line;
}

void LabelledCounter::add(const std::string& labels, uint64_t n) {
    std::lock_guard lock(mutex_);
    values_[labels] += n;
}

std::vector<std::pair<std::string, uint64_t>> LabelledCounter::values() const {
    std::lock_guard lock(mutex_);
    return {values_.begin(), values_.end()};
}

std::string label(const std::string& name, const std::string& value) {
    std::string out = name + "=\"";
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

}  // namespace execd::daemon
