#include "core/verdict.h"

#include <array>
#include <utility>

namespace execd {
namespace {

struct Row {
    Verdict verdict;
    std::string_view name;
    std::string_view description;
};

constexpr std::array kTable{
    Row{Verdict::OK, "OK", "OK"},
    Row{Verdict::CompileError, "CompileError", "Compilation Error"},
    Row{Verdict::RuntimeError, "RuntimeError", "Runtime Error (non-zero exit or killed by a signal)"},
    Row{Verdict::TimeLimitExceeded, "TimeLimitExceeded", "Time Limit Exceeded (program ran too long)"},
    Row{Verdict::MemoryLimitExceeded, "MemoryLimitExceeded", "Memory Limit Exceeded (program used too much memory)"},
    Row{Verdict::OutputLimitExceeded, "OutputLimitExceeded", "Output Limit Exceeded (program printed too much)"},
    Row{Verdict::ProcessLimitExceeded, "ProcessLimitExceeded",
        "Process Limit Exceeded (too many processes or threads)"},
    Row{Verdict::WrongAnswer, "WrongAnswer", "Wrong Answer"},
    Row{Verdict::CheckerError, "CheckerError", "Checker Error (the checker program failed, not the program)"},
    Row{Verdict::Skipped, "Skipped", "Skipped (an earlier test failed)"},
    Row{Verdict::InternalError, "InternalError", "Internal Error (the sandbox failed, not the program)"},
};

}  // namespace

std::string_view verdict_name(Verdict v) noexcept {
    for (const auto& r : kTable)
        if (r.verdict == v) return r.name;
    return "InternalError";
}

std::optional<Verdict> verdict_from_name(std::string_view name) noexcept {
    for (const auto& r : kTable)
        if (r.name == name) return r.verdict;
    return std::nullopt;
}

std::string_view verdict_description(Verdict v) noexcept {
    for (const auto& r : kTable)
        if (r.verdict == v) return r.description;
    return "Internal Error";
}

}  // namespace execd
