// The built-in output checkers (exact, lines, tokens, float). The program
// checker runs in a box and lives in the runner; these are pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/job.h"

namespace execd {

struct CheckResult {
    bool accepted = false;
    std::string message;  // for a rejection: where and how they differ, with short excerpts
};

// Compares `actual` with `expected` by `spec.kind` (not Program). Linear in
// the sizes; fine for outputs of tens of megabytes.
CheckResult compare_output(const CheckerSpec& spec, std::string_view expected, std::string_view actual);

// "exact", "lines", "tokens", "float", "program".
std::string_view checker_kind_name(CheckerKind kind) noexcept;
std::optional<CheckerKind> checker_kind_from_name(std::string_view name) noexcept;

}  // namespace execd
