// The language registry (languages.toml). Adding a language is a TOML stanza;
// nothing in the code names a language.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/sandbox/policy.h"

namespace execd {

class TomlTable;
namespace wire {
class Writer;
class Reader;
}  // namespace wire

// Where exec and execd look for the registry when none is named (by a flag,
// $EXECD_LANGUAGES for exec, or [paths] languages for execd): this file if
// it is readable, else the copy installed with the programs, else the copy
// built in (default_languages_file).
inline constexpr const char* kSystemLanguagesFile = "/etc/execd/languages.toml";

// The registry installed with the programs, <prefix>/share/execd/languages.toml,
// for a program in `program_dir`: <prefix>/bin, <prefix>/sbin or
// <prefix>/lib/execd (the install directories CMake was given, so a
// prefix moved elsewhere still finds its own). "" for a directory that is
// none of these, such as a build tree's.
std::string installed_languages_file(std::string_view program_dir);

// The registry file to read when none is named: kSystemLanguagesFile if it
// is readable, else installed_languages_file() of the running program if
// readable, else "" for the built-in copy. Costs a readlink and an access
// beyond the first access, since every exec start pays for it.
std::string default_languages_file();

// Per-step limit overrides from the registry; unset fields keep the defaults.
struct LimitOverrides {
    std::optional<int64_t> time_ms, cpu_ms, memory_mb, pids, output_bytes;

    // `base` with every set field replaced. A time limit given without a
    // CPU limit is the CPU limit too: the one place that rule is written.
    Limits apply(Limits base) const;

    bool operator==(const LimitOverrides&) const = default;
};

// A limits table below `parent`'s `key` ({ time_ms, cpu_ms, memory_mb,
// pids, output_bytes }, each optional, with one set of ranges), as
// languages.toml and tests.toml write it; `what` names it in errors.
// Nothing set when the key is absent. Throws TomlError.
LimitOverrides read_limit_overrides(const TomlTable& parent, const std::string& key, const std::string& what);

// Default limits of a compile step; a language's compile_limits override
// them (those of a run are Limits{}, overridden by its limits).
Limits default_compile_limits();

// LimitOverrides in the host-local binary form (core/util/wire.h).
void encode_limits(wire::Writer& w, const LimitOverrides& limits);
LimitOverrides decode_limits(wire::Reader& r);

struct Language {
    std::string id;
    std::string name;
    std::vector<std::string> aliases;
    std::vector<std::string> extensions;  // without the dot
    std::string variant_of;               // a variant's base ("" for none): its extensions, not chosen by them
    std::string source;                   // file name of the code in /box
    std::vector<std::string> packages;    // Debian packages (for installers)
    std::vector<std::string> version_cmd;
    std::vector<std::string> compile;  // empty: interpreted
    std::vector<std::string> run;
    std::map<std::string, std::string> env;
    std::vector<std::string> binds;
    int64_t run_tmpfs_mb = 0;
    LimitOverrides limits;
    LimitOverrides compile_limits;
    int line = 0;  // where its stanza starts

    bool operator==(const Language&) const = default;

    bool compiled() const noexcept { return !compile.empty(); }

    // Whether every absolute program path its argvs name is executable here.
    bool usable() const;

    // The first non-empty line its version command prints, or "" when the
    // toolchain is missing. Runs the command on the host with a clean env.
    std::string probe_version() const;
};

// A malformed registry: the message names file, line and reason.
class RegistryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Registry {
public:
    // Parses and validates a registry file. Throws RegistryError.
    static Registry load_file(const std::string& path);

    // Same, from text; `origin` names it in errors. Throws RegistryError.
    static Registry parse(const std::string& text, const std::string& origin);

    // The registry compiled into the binary (the repository's languages.toml).
    static Registry embedded();

    // By id or alias, case-insensitive; nullptr if unknown.
    const Language* find(const std::string& id_or_alias) const;

    // By file extension (with or without the dot); nullptr if none claims it.
    const Language* by_extension(const std::string& extension) const;

    // In file order.
    const std::vector<Language>& languages() const noexcept { return languages_; }

    // Host paths every box binds read-only: [sandbox].binds plus each
    // language's binds, without duplicates.
    std::vector<std::string> sandbox_binds() const;

    const std::string& origin() const noexcept { return origin_; }

    // The parsed registry as bytes, and back, so a short-lived process (exec)
    // can skip the TOML parse, which costs milliseconds: exec keeps one in
    // its compile cache, keyed by the file's text. from_snapshot returns
    // nothing for bytes it did not write (another format, a cut-off file).
    std::string snapshot() const;
    static std::optional<Registry> from_snapshot(std::string_view bytes);

    bool operator==(const Registry&) const = default;

private:
    std::string origin_;
    std::vector<std::string> binds_;
    std::vector<Language> languages_;
};

// The embedded copy of languages.toml (generated at build time), and how
// errors and `exec languages` name it.
extern const char* const kEmbeddedLanguagesToml;
inline constexpr const char* kEmbeddedLanguagesOrigin = "languages.toml (embedded)";

}  // namespace execd
