// The built-in checkers (core/checker.h). The first byte picks the float
// checker's tolerances; the rest is expected output, a NUL, then the actual
// output, which every checker compares. Properties: no crash; a rejection
// says why; exact, lines and tokens accept an output identical to the
// expected one (float is left out: a "nan" token is a difference); exact
// accepts nothing else; a checker that accepts is no stricter than a looser
// one (exact ⊂ lines ⊂ tokens).
#include <string>
#include <string_view>

#include "core/checker.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;

namespace {

CheckResult check(CheckerKind kind, std::string_view expected, std::string_view actual, double abs = 0,
                  double rel = 0) {
    CheckerSpec spec;
    spec.kind = kind;
    spec.abs_tolerance = abs;
    spec.rel_tolerance = rel;
    CheckResult r = compare_output(spec, expected, actual);
    FUZZ_REQUIRE(r.accepted || !r.message.empty());
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t pick = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const size_t nul = rest.find('\0');
    const std::string_view expected = rest.substr(0, nul);
    const std::string_view actual = nul == std::string_view::npos ? rest : rest.substr(nul + 1);

    const bool exact = check(CheckerKind::Exact, expected, actual).accepted;
    const bool lines = check(CheckerKind::Lines, expected, actual).accepted;
    const bool tokens = check(CheckerKind::Tokens, expected, actual).accepted;
    const double tolerances[] = {0, 1e-9, 1e-6, 1e-3, 1, 1e300};
    check(CheckerKind::Float, expected, actual, tolerances[pick % 6], tolerances[(pick / 6) % 6]);

    FUZZ_REQUIRE(exact == (expected == actual));
    if (exact) FUZZ_REQUIRE(lines);
    if (lines) FUZZ_REQUIRE(tokens);
    for (CheckerKind kind : {CheckerKind::Exact, CheckerKind::Lines, CheckerKind::Tokens})
        FUZZ_REQUIRE(check(kind, expected, expected).accepted);
    return 0;
}
