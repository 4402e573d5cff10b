// Verdicts are data: one enum, one string table both ways.
#pragma once

#include <optional>
#include <string_view>

namespace execd {

enum class Verdict {
    OK,
    CompileError,
    RuntimeError,
    TimeLimitExceeded,
    MemoryLimitExceeded,
    OutputLimitExceeded,
    ProcessLimitExceeded,
    WrongAnswer,
    CheckerError,  // a test's checker program failed (crashed, timed out, bad status); not the program's fault
    Skipped,       // a test not run because an earlier one failed and the job stops at the first failure
    InternalError,
};

// "TimeLimitExceeded" etc., exactly as the API spells them.
std::string_view verdict_name(Verdict v) noexcept;

// The inverse of verdict_name; nullopt for an unknown name.
std::optional<Verdict> verdict_from_name(std::string_view name) noexcept;

// The seed's human text for a failed run ("Time Limit Exceeded (program ran too long)").
std::string_view verdict_description(Verdict v) noexcept;

// Exit codes reported for verdicts that replace the program's own status.
inline constexpr int kExitTimeLimit = 124;
inline constexpr int kExitMemoryLimit = 137;   // 128 + SIGKILL, what the OOM killer does
inline constexpr int kExitOutputLimit = 153;   // 128 + SIGXFSZ
inline constexpr int kExitProcessLimit = 154;  // documented in exec(1)
inline constexpr int kExitInternalError = 70;  // EX_SOFTWARE, only ever from the CLI

}  // namespace execd
