// What the `exec` subcommands share: global options, the registry, the engine.
#pragma once

#include <memory>
#include <string>

#include "registry.h"
#include "runner.h"
#include "sandbox/sandbox.h"

namespace CLI {
class App;
}

namespace execd::cli {

struct GlobalOptions {
    std::string languages_file;  // --languages, else $EXECD_LANGUAGES, else /etc/execd/languages.toml, else embedded
    std::string state_dir;       // --state-dir, else $EXECD_STATE_DIR, else /run/execd
};

// Exit statuses of the CLI itself (the program's own status passes through).
inline constexpr int kExitUsage = 2;

// Loads the registry from the first place that has one. Throws RegistryError.
Registry load_registry(const GlobalOptions& options);

// The in-process engine (the embedded default). Throws on failure.
std::unique_ptr<Sandbox> make_local_sandbox(const GlobalOptions& options, const Registry& registry);

// Prints "exec: <message>" to stderr.
void print_error(const std::string& message);

void add_run_command(CLI::App& app, GlobalOptions& options);
void add_languages_command(CLI::App& app, GlobalOptions& options);

}  // namespace execd::cli
