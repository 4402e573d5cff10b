// Every setting of execd, declared once (settings.cpp): its key in
// execd.toml, its flag, its environment variable, its default, its range or
// allowed values, its unit and its help. The table drives the TOML loader,
// the EXECD_* environment layer, the CLI flags and their --help, the one
// range check, Config's defaults, and the tests that hold
// packaging/execd.toml and the man pages to it (nsjail's config.proto,
// go-judge's config.go).
//
// Where a value comes from, later winning: the default < execd.toml <
// EXECD_* environment < flags. Tokens are the exception: every source adds
// to them (see load_token_sources), except that --token replaces the
// file's list.
//
// The environment variable of `[section] key` is EXECD_ then the section
// and the key in upper case, a dot or a dash becoming an underscore:
// [workers] count is EXECD_WORKERS_COUNT, [limits.max] time_ms is
// EXECD_LIMITS_MAX_TIME_MS. [server] tokens and admin_tokens keep their
// older names, EXECD_TOKENS and EXECD_ADMIN_TOKENS; [sandbox] instance is
// EXECD_INSTANCE, the variable exec reads for the same thing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "daemon/config.h"

namespace execd::daemon {

// What a setting holds; it follows from the field it sets.
enum class SettingType {
    Integer,   // an int64_t with a range
    Text,      // a string
    Boolean,   // true or false
    TextList,  // an array of strings (the tokens)
    Choice,    // one of a few words (the role, the log format): an enum, the words in its order
};

// Where in a Config a setting's value lives.
using SettingField = std::variant<int64_t Config::*, int64_t Maxima::*, std::string Config::*, bool Config::*,
                                  std::vector<std::string> Config::*, Role Config::*, LogFormat Config::*>;

// A value read from the file, the environment or a flag, before it is put
// into a Config.
using SettingValue = std::variant<int64_t, std::string, bool, std::vector<std::string>>;

struct Setting {
    std::string_view section{};  // its TOML table: "server", "limits.max"
    std::string_view key{};      // its key there
    std::string_view flag{};     // "--listen"; empty: set by the file and the environment only
    SettingField field{};
    int64_t integer = 0;         // Integer: the default
    int64_t min = 0, max = 0;    // Integer: the range, both ends allowed
    std::string_view text{};     // Text and Choice: the default
    bool boolean = false;        // Boolean: the default
    std::string_view choices{};  // Choice: the allowed words, blank-separated, in the enum's order
    std::string_view unit{};     // Integer: "ms", "s", "MB" or "bytes"; empty for a count
    std::string_view help{};     // one line for --help; the man page says more
    std::string_view env{};      // the environment variable when it is not the rule's (tokens)
    bool restart = false;        // SIGHUP leaves it as it was: it takes effect on the next start

    SettingType type() const noexcept;

    // "[workers] count": how messages name it.
    std::string name() const;

    // EXECD_WORKERS_COUNT (see the top of this file).
    std::string env_name() const;

    // The allowed words of a Choice.
    std::vector<std::string_view> choice_list() const;

    // The default as TOML writes it: 30000, "127.0.0.1:3001", false, [].
    std::string default_toml() const;

    // The value `config` holds, written the same way.
    std::string toml_of(const Config& config) const;

    // "" when `value` is in the range, else "must be between MIN and MAX":
    // the one range check, for the file, the environment, flags and
    // validate_config.
    std::string range_problem(int64_t value) const;

    // `text` (from the environment) as this setting's value (a TextList's
    // items separated by commas or blanks). Throws
    // std::invalid_argument with the reason ("must be an integer", "must be
    // between 0 and 1024, not 5000", …) without the setting's name. An
    // empty Choice is the empty string: it keeps the value there was.
    SettingValue parse(std::string_view text) const;

    // Puts `value` into `config` (checked before: a type that does not fit
    // is a logic error and throws std::logic_error; an empty Choice changes
    // nothing).
    void assign(Config& config, const SettingValue& value) const;

    // Sets this setting of `to` to its value in `from`.
    void copy(const Config& from, Config& to) const;

    // What --help prints for its flag: the help, then a second line with
    // the default, the range, the key and the environment variable.
    std::string flag_help() const;
};

// The table, in the order of packaging/execd.toml.
std::span<const Setting> settings();

// The sections of execd.toml, in order ("server", …, "limits.max").
std::vector<std::string_view> setting_sections();

// By section and key; nullptr when there is none.
const Setting* find_setting(std::string_view section, std::string_view key);

// The configuration file read when --config is not given, if it exists.
inline constexpr const char* kDefaultConfigFile = "/etc/execd/execd.toml";

}  // namespace execd::daemon
