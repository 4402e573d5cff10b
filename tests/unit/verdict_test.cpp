#include "core/verdict.h"

#include <catch2/catch.hpp>
#include <csignal>

#include "core/runner.h"

using namespace execd;

TEST_CASE("verdict names round-trip", "[unit]") {
    for (Verdict v : {Verdict::OK, Verdict::CompileError, Verdict::RuntimeError, Verdict::TimeLimitExceeded,
                      Verdict::MemoryLimitExceeded, Verdict::OutputLimitExceeded, Verdict::ProcessLimitExceeded,
                      Verdict::WrongAnswer, Verdict::InternalError}) {
        auto back = verdict_from_name(verdict_name(v));
        REQUIRE(back.has_value());
        CHECK(*back == v);
    }
    CHECK_FALSE(verdict_from_name("Accepted").has_value());
    CHECK(verdict_description(Verdict::TimeLimitExceeded) == "Time Limit Exceeded (program ran too long)");
}

TEST_CASE("judge derives the verdict from the cause, not the symptom", "[unit]") {
    Limits limits;
    RunOutcome o;
    o.exited = true;

    SECTION("clean exit is OK") {
        auto r = judge(o, limits);
        CHECK(r.verdict == Verdict::OK);
        CHECK(r.exit_code == 0);
    }
    SECTION("non-zero exit is a runtime error with the program's code") {
        o.exit_code = 3;
        auto r = judge(o, limits);
        CHECK(r.verdict == Verdict::RuntimeError);
        CHECK(r.exit_code == 3);
    }
    SECTION("a signal is 128 + signal") {
        o.term_signal = SIGSEGV;
        auto r = judge(o, limits);
        CHECK(r.verdict == Verdict::RuntimeError);
        CHECK(r.exit_code == 128 + SIGSEGV);
    }
    SECTION("an OOM kill is MLE even though it looks like SIGKILL") {
        o.term_signal = SIGKILL;
        o.oom_killed = true;
        CHECK(judge(o, limits).verdict == Verdict::MemoryLimitExceeded);
        CHECK(judge(o, limits).exit_code == kExitMemoryLimit);
    }
    SECTION("SIGKILL without an OOM kill is a runtime error, not MLE") {
        o.term_signal = SIGKILL;
        CHECK(judge(o, limits).verdict == Verdict::RuntimeError);
        CHECK(judge(o, limits).exit_code == 137);
    }
    SECTION("pids limit wins over the timeout it caused") {
        o.pids_limit_hit = true;
        o.wall_timeout = true;
        CHECK(judge(o, limits).verdict == Verdict::ProcessLimitExceeded);
    }
    SECTION("timeouts are 124") {
        o.cpu_timeout = true;
        CHECK(judge(o, limits).verdict == Verdict::TimeLimitExceeded);
        CHECK(judge(o, limits).exit_code == 124);
    }
    SECTION("output limit") {
        o.output_exceeded = true;
        CHECK(judge(o, limits).verdict == Verdict::OutputLimitExceeded);
        CHECK(judge(o, limits).exit_code == kExitOutputLimit);
    }
    SECTION("an internal error is never a verdict on the program") {
        o.internal_error = true;
        o.internal_message = "mount: EPERM";
        o.exit_code = 1;
        auto r = judge(o, limits);
        CHECK(r.verdict == Verdict::InternalError);
        CHECK_FALSE(r.exit_code.has_value());
        CHECK(r.message == "mount: EPERM");
    }
}
