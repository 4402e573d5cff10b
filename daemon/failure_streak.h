// A failure that a loop meets again every few hundred milliseconds while
// something it needs is away (Redis down, loading, or refusing writes): the
// log gets its first occurrence, then one line a minute with a count, then
// one line when it ends, instead of a line a try from every worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace execd::daemon {

class FailureStreak {
public:
    using Clock = std::chrono::steady_clock;

    // `every`: how often a streak that goes on is logged again.
    explicit FailureStreak(Clock::duration every = std::chrono::seconds(60)) : every_(every) {}

    // What the caller should log of a failure.
    enum class Say { Nothing, First, Again };
    struct Failure {
        Say say = Say::Nothing;
        int64_t tries = 0;     // failures in the streak, this one counted
        double seconds = 0.0;  // since the streak's first failure
    };

    // Counts a failure at `now`: First for a streak's first, Again once each
    // `every` after the last one logged, Nothing otherwise.
    Failure failed(Clock::time_point now = Clock::now()) {
        Failure f;
        if (tries_ == 0) {
            first_ = logged_ = now;
            f.say = Say::First;
        } else if (now - logged_ >= every_) {
            logged_ = now;
            f.say = Say::Again;
        }
        f.tries = ++tries_;
        f.seconds = std::chrono::duration<double>(now - first_).count();
        return f;
    }

    // Ends a streak at `now`: what it was (its failures and seconds), or
    // nothing if none was running.
    std::optional<Failure> succeeded(Clock::time_point now = Clock::now()) {
        if (tries_ == 0) return std::nullopt;
        Failure f{Say::Nothing, tries_, std::chrono::duration<double>(now - first_).count()};
        tries_ = 0;
        return f;
    }

private:
    Clock::duration every_;
    Clock::time_point first_{}, logged_{};
    int64_t tries_ = 0;
};

}  // namespace execd::daemon
