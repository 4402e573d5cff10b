// Reading TOML that people write by hand: languages.toml, execd.toml and a
// test directory's tests.toml. One parser entry point and one table reader,
// so every file refuses the same mistakes with the same words: the origin,
// the line and the reason ("execd.toml:12: [workers] attempts must be
// between 1 and 100"). Unknown keys are refused, never skipped: a typo must
// not pass silently.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <toml.hpp>
#include <vector>

namespace execd {

// A TOML text or table that cannot be used. what() is "ORIGIN:LINE: reason"
// (or "ORIGIN: reason" when there is no line). Callers with an error type
// of their own (RegistryError, TestDirError) rethrow it as theirs.
class TomlError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Whether a syntax error quotes the file's text: not for a file that may
// hold secrets (execd.toml's tokens and Redis password), whose errors are
// logged.
enum class Excerpt { Quote, Omit };

// Parses TOML text; `origin` names it in errors and locations. Throws
// TomlError "ORIGIN:LINE: syntax error: REASON", followed (Quote) by
// toml11's excerpt of the line on the next lines.
toml::value parse_toml(const std::string& text, const std::string& origin, Excerpt excerpt = Excerpt::Quote);

// Reads and parses a file. Throws TomlError: "PATH: cannot open: REASON" or
// a syntax error as parse_toml.
toml::value parse_toml_file(const std::string& path, Excerpt excerpt = Excerpt::Quote);

// The keys of one table. Every accessor returns nothing for a missing key
// and throws TomlError at the value's line for a present one of the wrong
// type or out of range.
class TomlTable {
public:
    // How a key is named in a message: `what` is the table's name.
    enum class Naming {
        Quoted,  // "language 'c': 'run' must ..." (languages.toml, tests.toml)
        Spaced,  // "[workers] attempts must ..." (execd.toml)
    };

    // Throws TomlError "WHAT must be a table" when `table` is not one.
    // `origin` must outlive the reader.
    TomlTable(const std::string& origin, const toml::value& table, std::string what, Naming naming = Naming::Quoted);

    // A table below this one, with the same origin and naming. Throws as the
    // constructor.
    TomlTable nested(const toml::value& table, std::string what) const;

    // Throws TomlError "ORIGIN:LINE: reason" with the line of `at`.
    [[noreturn]] void fail(const toml::value& at, const std::string& reason) const;

    // Refuses ("WHAT: unknown key 'K'") a key not in `known`.
    void reject_unknown(std::initializer_list<std::string_view> known) const;
    void reject_unknown(const std::vector<std::string_view>& known) const;

    // Refuses `key` when present: "WHAT: 'K' WHY" (for a key that makes no
    // sense with the rest of the table).
    void refuse(const std::string& key, const std::string& why) const;

    // The value, or nullptr.
    const toml::value* get(const std::string& key) const;

    std::optional<std::string> string(const std::string& key) const;
    // Throws "WHAT: missing required key 'K'" at the table's line when absent.
    std::string required_string(const std::string& key) const;
    std::optional<bool> boolean(const std::string& key) const;
    // Refuses a value outside [min, max]: "… must be between MIN and MAX".
    std::optional<int64_t> integer(const std::string& key, int64_t min, int64_t max) const;
    // A TOML float or integer (`abs_tolerance = 0` is an integer in TOML).
    std::optional<double> number(const std::string& key) const;
    // An array of strings; empty when absent.
    std::vector<std::string> strings(const std::string& key) const;
    // An array of strings that must be present and not empty.
    std::vector<std::string> required_strings(const std::string& key) const;

    // The key as messages name it: "[workers] attempts" or "language 'c': 'run'".
    std::string name(const std::string& key) const;
    const std::string& what() const noexcept { return what_; }
    const toml::value& value() const noexcept { return table_; }

private:
    const std::string& origin_;
    const toml::value& table_;
    std::string what_;
    Naming naming_;
};

}  // namespace execd
