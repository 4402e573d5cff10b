// FailureStreak: what a loop that fails every few hundred milliseconds logs.
#include "daemon/failure_streak.h"

#include <catch2/catch.hpp>

using execd::daemon::FailureStreak;
using namespace std::chrono;

TEST_CASE("a failure streak is logged when it starts, once a minute, and when it ends", "[unit]") {
    FailureStreak streak(seconds(60));
    const auto t0 = FailureStreak::Clock::time_point{} + hours(1);
    CHECK_FALSE(streak.succeeded(t0).has_value());  // nothing to end

    auto first = streak.failed(t0);
    CHECK(first.say == FailureStreak::Say::First);
    CHECK(first.tries == 1);
    CHECK(first.seconds == 0.0);
    // Every half second for a minute: nothing more to say.
    for (int i = 1; i < 120; ++i) CHECK(streak.failed(t0 + milliseconds(500 * i)).say == FailureStreak::Say::Nothing);
    auto again = streak.failed(t0 + seconds(60));
    CHECK(again.say == FailureStreak::Say::Again);
    CHECK(again.tries == 121);
    CHECK(again.seconds == 60.0);
    // The next minute counts from the line logged, not from the first failure.
    CHECK(streak.failed(t0 + seconds(119)).say == FailureStreak::Say::Nothing);
    CHECK(streak.failed(t0 + seconds(120)).say == FailureStreak::Say::Again);

    auto ended = streak.succeeded(t0 + milliseconds(125500));
    REQUIRE(ended.has_value());
    CHECK(ended->tries == 123);
    CHECK(ended->seconds == 125.5);
    CHECK_FALSE(streak.succeeded(t0 + seconds(126)).has_value());  // said once

    // A new streak starts over.
    auto next = streak.failed(t0 + seconds(200));
    CHECK(next.say == FailureStreak::Say::First);
    CHECK(next.tries == 1);
}
