#include "core/checker.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

namespace execd {
namespace {

// Outputs can be tens of megabytes, so nothing here copies them: every
// checker walks string_views once, and text is copied only into the message
// of a rejection.

constexpr size_t kExcerptChars = 60;     // printable characters of one excerpt, about
constexpr size_t kExcerptLead = 20;      // bytes shown before the first difference
constexpr size_t kMaxNumberChars = 512;  // longer tokens are compared as strings only

// What isspace() accepts in the C locale: ' ', '\t', '\n', '\v', '\f', '\r'.
constexpr std::array<bool, 256> kSpace = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : {' ', '\t', '\n', '\v', '\f', '\r'}) t[c] = true;
    return t;
}();

bool is_space(char c) { return kSpace[static_cast<unsigned char>(c)]; }
bool is_line_space(char c) { return c != '\n' && is_space(c); }

std::string_view trim_end(std::string_view s, bool (*strip)(char)) {
    size_t n = s.size();
    while (n > 0 && strip(s[n - 1])) --n;
    return s.substr(0, n);
}

CheckResult accept() { return {true, {}}; }
CheckResult reject(std::string message) { return {false, std::move(message)}; }

// A quoted piece of `s` starting a little before byte `at`. Bytes outside
// printable ASCII (and the backslash) are escaped, so the message stays one
// readable line and valid UTF-8 even when the excerpt cuts a character.
std::string excerpt(std::string_view s, size_t at) {
    static constexpr char kHex[] = "0123456789abcdef";
    const size_t begin = std::min(s.size(), at > kExcerptLead ? at - kExcerptLead : 0);
    std::string out = "'";
    if (begin > 0) out += "...";
    const size_t start = out.size();
    size_t i = begin;
    for (; i < s.size() && out.size() - start < kExcerptChars; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
    if (i < s.size()) out += "...";
    out += "'";
    return out;
}

// 1-based line number of byte `at`.
size_t line_at(std::string_view s, size_t at) {
    return 1 + static_cast<size_t>(std::count(s.begin(), s.begin() + static_cast<ptrdiff_t>(at), '\n'));
}

// Index of the first byte where `a` and `b` differ, or the shorter size.
size_t first_difference(std::string_view a, std::string_view b) {
    const size_t n = std::min(a.size(), b.size());
    // memcmp finds the differing block fast; the byte loop only runs inside it.
    constexpr size_t kBlock = 4096;
    size_t i = 0;
    while (i + kBlock <= n && std::memcmp(a.data() + i, b.data() + i, kBlock) == 0) i += kBlock;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

std::string plural(size_t n, const char* noun) { return std::to_string(n) + " " + noun + (n == 1 ? "" : "s"); }

CheckResult compare_exact(std::string_view expected, std::string_view actual) {
    if (expected == actual) return accept();
    const size_t at = first_difference(expected, actual);
    const std::string where = "offset " + std::to_string(at) + " (line " + std::to_string(line_at(actual, at)) + ")";
    const std::string shown = "expected " + excerpt(expected, at) + ", got " + excerpt(actual, at);
    if (at == actual.size())
        return reject("actual output is shorter (" + plural(actual.size(), "byte") + ", expected " +
                      std::to_string(expected.size()) + "): it ends at " + where + "; " + shown);
    if (at == expected.size())
        return reject("actual output is longer (" + plural(actual.size(), "byte") + ", expected " +
                      std::to_string(expected.size()) + "): expected ends at " + where + "; " + shown);
    return reject("outputs differ at " + where + ": " + shown);
}

// The '\n'-separated lines of a text that has no trailing whitespace, so it
// has no trailing empty lines either; an empty text has no lines.
class LineCursor {
public:
    explicit LineCursor(std::string_view text) : text_(text), more_(!text.empty()) {}
    bool more() const { return more_; }
    // The next line without its trailing whitespace. Only when more().
    std::string_view next() {
        const size_t nl = text_.find('\n', pos_);
        std::string_view line;
        if (nl == std::string_view::npos) {
            line = text_.substr(pos_);
            more_ = false;
        } else {
            line = text_.substr(pos_, nl - pos_);
            pos_ = nl + 1;
        }
        return trim_end(line, is_line_space);
    }
    // How many lines next() would still return.
    size_t remaining() const {
        if (!more_) return 0;
        return 1 + static_cast<size_t>(std::count(text_.begin() + static_cast<ptrdiff_t>(pos_), text_.end(), '\n'));
    }

private:
    std::string_view text_;
    size_t pos_ = 0;
    bool more_;
};

CheckResult compare_lines(std::string_view expected, std::string_view actual) {
    // Trailing whitespace of the whole text covers both rules at its end: the
    // last line's trailing blanks and any trailing empty (or blank) lines.
    LineCursor want(trim_end(expected, is_space));
    LineCursor got(trim_end(actual, is_space));
    size_t line = 0;
    while (want.more() && got.more()) {
        ++line;
        const std::string_view w = want.next();
        const std::string_view g = got.next();
        if (w != g) {
            const size_t at = first_difference(w, g);
            return reject("line " + std::to_string(line) + ": expected " + excerpt(w, at) + ", got " + excerpt(g, at));
        }
    }
    if (!want.more() && !got.more()) return accept();
    const size_t want_total = line + want.remaining();
    const size_t got_total = line + got.remaining();
    const std::string counts = "expected " + plural(want_total, "line") + ", got " + std::to_string(got_total);
    if (want.more())
        return reject(counts + "; line " + std::to_string(line + 1) + " should be " + excerpt(want.next(), 0));
    return reject(counts + "; line " + std::to_string(line + 1) + " is " + excerpt(got.next(), 0));
}

// Whitespace-separated tokens, with the line each one starts on.
class TokenCursor {
public:
    explicit TokenCursor(std::string_view text) : text_(text) {}
    // The next token, or an empty view at the end.
    std::string_view next() {
        while (pos_ < text_.size() && is_space(text_[pos_])) {
            if (text_[pos_] == '\n') ++line_;
            ++pos_;
        }
        const size_t start = pos_;
        while (pos_ < text_.size() && !is_space(text_[pos_])) ++pos_;
        return text_.substr(start, pos_ - start);
    }
    // The line of the token next() returned last.
    size_t line() const { return line_; }
    size_t count_rest() {
        size_t n = 0;
        while (!next().empty()) ++n;
        return n;
    }

private:
    std::string_view text_;
    size_t pos_ = 0;
    size_t line_ = 1;
};

// Walks both token streams; `match(want, got)` decides a pair and, on a
// mismatch, `describe(want, got)` says how they differ.
template <class Match, class Describe>
CheckResult compare_token_streams(std::string_view expected, std::string_view actual, Match match, Describe describe) {
    TokenCursor want(expected), got(actual);
    size_t index = 0;
    for (;;) {
        const std::string_view w = want.next();
        const std::string_view g = got.next();
        if (w.empty() && g.empty()) return accept();
        ++index;
        if (w.empty() || g.empty()) {
            const size_t extra_line = got.line();  // before count_rest() moves on
            const size_t want_total = index - (w.empty() ? 1 : 0) + want.count_rest();
            const size_t got_total = index - (g.empty() ? 1 : 0) + got.count_rest();
            const std::string counts = "expected " + plural(want_total, "token") + ", got " + std::to_string(got_total);
            if (g.empty()) return reject(counts + "; token " + std::to_string(index) + " should be " + excerpt(w, 0));
            return reject(counts + "; token " + std::to_string(index) + " (line " + std::to_string(extra_line) +
                          ") is " + excerpt(g, 0));
        }
        if (!match(w, g))
            return reject("token " + std::to_string(index) + " (line " + std::to_string(got.line()) +
                          "): " + describe(w, g));
    }
}

std::string describe_strings(std::string_view want, std::string_view got) {
    const size_t at = first_difference(want, got);
    return "expected " + excerpt(want, at) + ", got " + excerpt(got, at);
}

// The token as a floating-point number, if strtod reads all of it (1, -2.5,
// 1e-9, +3, 0x1p-2, inf, nan). std::from_chars reads the usual forms several
// times faster and needs no terminating NUL; strtod decides whatever it
// rejects. strtod needs the NUL, so the token goes to a stack buffer, never
// the heap. strtod follows LC_NUMERIC; execd never calls setlocale, so the
// decimal point is '.'.
std::optional<double> parse_number(std::string_view token) {
    if (token.empty() || token.size() > kMaxNumberChars) return std::nullopt;
    double v = 0;
    const char* last = token.data() + token.size();
    const auto [ptr, ec] = std::from_chars(token.data(), last, v);
    if (ec == std::errc{} && ptr == last) return v;

    char buf[kMaxNumberChars + 1];
    std::memcpy(buf, token.data(), token.size());
    buf[token.size()] = '\0';
    char* end = nullptr;
    errno = 0;
    v = std::strtod(buf, &end);
    if (end != buf + token.size()) return std::nullopt;
    // "1e400" is not infinity: two different overflowing numbers must not
    // compare equal, so such a token is only equal to itself.
    if (errno == ERANGE && std::isinf(v)) return std::nullopt;
    return v;
}

bool numbers_match(double want, double got, const CheckerSpec& spec) {
    if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
    if (std::isinf(want) || std::isinf(got)) return want == got;
    // Decimal text rarely converts exactly: 0.900001 - 0.9 is 1.0000000000287557e-06
    // in doubles. A few ulps of slack keep a difference that equals the
    // tolerance in decimal on the accepting side, as a problem setter means it.
    const double slack = 4 * std::numeric_limits<double>::epsilon() * std::max(std::fabs(want), std::fabs(got));
    const double diff = std::fabs(want - got) - slack;
    return diff <= spec.abs_tolerance || diff <= spec.rel_tolerance * std::fabs(want);
}

// Enough digits that a difference just over the tolerance does not print as equal to it.
std::string format_double(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.8g", v);
    return buf;
}

CheckResult compare_floats(const CheckerSpec& spec, std::string_view expected, std::string_view actual) {
    const auto match = [&spec](std::string_view w, std::string_view g) {
        // Equal text is equal whatever it is, and skips strtod on the common path.
        if (w == g) return true;
        const auto a = parse_number(w);
        if (!a) return false;
        const auto b = parse_number(g);
        return b && numbers_match(*a, *b, spec);
    };
    const auto describe = [&spec](std::string_view w, std::string_view g) {
        const auto a = parse_number(w);
        const auto b = parse_number(g);
        std::string out = describe_strings(w, g);
        if (a && b && std::isfinite(*a) && std::isfinite(*b))
            out += ", difference " + format_double(std::fabs(*a - *b)) + " is over the tolerance (absolute " +
                   format_double(spec.abs_tolerance) + ", relative " + format_double(spec.rel_tolerance) + ")";
        return out;
    };
    return compare_token_streams(expected, actual, match, describe);
}

struct KindName {
    CheckerKind kind;
    std::string_view name;
};

constexpr std::array kKindNames{
    KindName{CheckerKind::Exact, "exact"},     KindName{CheckerKind::Lines, "lines"},
    KindName{CheckerKind::Tokens, "tokens"},   KindName{CheckerKind::Float, "float"},
    KindName{CheckerKind::Program, "program"},
};

}  // namespace

CheckResult compare_output(const CheckerSpec& spec, std::string_view expected, std::string_view actual) {
    switch (spec.kind) {
        case CheckerKind::Exact: return compare_exact(expected, actual);
        case CheckerKind::Lines: return compare_lines(expected, actual);
        case CheckerKind::Tokens:
            return compare_token_streams(
                expected, actual, [](std::string_view w, std::string_view g) { return w == g; }, describe_strings);
        case CheckerKind::Float: return compare_floats(spec, expected, actual);
        case CheckerKind::Program:
            throw std::invalid_argument("compare_output: the program checker runs in a box; the runner calls it");
    }
    throw std::invalid_argument("compare_output: unknown checker kind " + std::to_string(static_cast<int>(spec.kind)));
}

std::string_view checker_kind_name(CheckerKind kind) noexcept {
    for (const auto& k : kKindNames)
        if (k.kind == kind) return k.name;
    return "unknown";
}

std::optional<CheckerKind> checker_kind_from_name(std::string_view name) noexcept {
    for (const auto& k : kKindNames)
        if (k.name == name) return k.kind;
    return std::nullopt;
}

}  // namespace execd
