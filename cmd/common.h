// What the `exec` subcommands share: global options, the registry, the engine.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/compile_cache.h"
#include "core/registry.h"
#include "core/runner.h"
#include "core/sandbox/sandbox.h"

namespace CLI {
class App;
}

namespace execd::cli {

struct GlobalOptions {
    std::string languages_file;  // --languages, else $EXECD_LANGUAGES, else default_languages_file()
    std::string state_dir;       // --state-dir, else $EXECD_STATE_DIR, else /run/execd
    std::string instance;        // --instance, else $EXECD_INSTANCE, else the default engine
    std::string server;          // --server URL, else $EXEC_SERVER, else the host's execd on its unix socket
    std::string token;           // --token or --token-file, else $EXEC_TOKEN
    bool local = false;          // --local: always the embedded engine
    bool no_cache = false;       // --no-cache: compile every time, keep nothing
    std::optional<int> warm;     // --warm SECONDS, else $EXEC_WARM, else 300 (cmd/warm.h)
};

// The sandbox state directory and the engine instance these options name
// (the flag, else the environment, else the default).
std::string state_dir_of(const GlobalOptions& options);
std::string instance_of(const GlobalOptions& options);

// The registry file load_registry reads, or "" for the built-in one.
std::string registry_path_of(const GlobalOptions& options);

// Exit statuses of the CLI itself (the program's own status passes through).
inline constexpr int kExitUsage = 2;

// Loads the registry from the first place that has one. Throws RegistryError.
// Parsing the TOML costs milliseconds, so a parsed copy is kept in the
// compile cache (when this process may write it: root, no --no-cache),
// keyed by the text, and the next exec reads that instead.
Registry load_registry(const GlobalOptions& options);

// SHA-256 (hex) of the origin and text of the registry the last
// load_registry read: part of a warm sandbox's identity (cmd/warm.h).
const std::string& loaded_registry_key();

// The compile cache this process shares with a daemon on this host
// (<state dir>/cache), opened once; null with --no-cache, when not root, or
// when it cannot be opened (`why`, when given, then says why).
CompileCache* local_cache(const GlobalOptions& options, std::string* why = nullptr);

// The in-process engine (the embedded default): the sandbox, and the
// compile cache (local_cache()).
struct LocalEngine {
    std::unique_ptr<Sandbox> sandbox;
    CompileCache* cache = nullptr;  // null with --no-cache or when it cannot be opened
};

// Throws when the sandbox cannot be set up; a cache that cannot be opened
// only costs recompiles (and a warning).
LocalEngine make_local_engine(const GlobalOptions& options, const Registry& registry);

// Runs a job on this host: in the warm sandbox (cmd/warm.h), else in this
// process with make_local_engine (saying why on stderr, unless the warm
// sandbox is turned off). Throws BadRequest as Runner::run does.
JobResult run_here(const GlobalOptions& options, const Registry& registry, const JobRequest& request);

// One line of state on stderr while a job runs ("queued", "[3/5] three
// WrongAnswer"), when stderr is a terminal; cleared when destroyed.
class StatusLine {
public:
    StatusLine();
    ~StatusLine();
    StatusLine(const StatusLine&) = delete;
    StatusLine& operator=(const StatusLine&) = delete;
    void show(const std::string& text);  // the first 100 bytes

private:
    bool on_;
    bool shown_ = false;
};

// The one token in a token file (`exec --token-file`), read with execd's
// rules: surrounding blanks trimmed, blank lines and '#' lines skipped.
// Throws BadRequest (field "token-file") naming the file, and the line of a
// bad token; warns on stderr when group or others can read the file.
std::string read_client_token(const std::string& path);

// Prints "exec: <message>" to stderr.
void print_error(const std::string& message);

void add_run_command(CLI::App& app, GlobalOptions& options);
void add_languages_command(CLI::App& app, GlobalOptions& options);
void add_submit_command(CLI::App& app, GlobalOptions& options);
void add_status_command(CLI::App& app, GlobalOptions& options);
void add_wait_command(CLI::App& app, GlobalOptions& options);
void add_cancel_command(CLI::App& app, GlobalOptions& options);
void add_test_command(CLI::App& app, GlobalOptions& options);
void add_warm_command(CLI::App& app, GlobalOptions& options);  // cmd/warm.h

// Reads a source file (or a directory of them: the language from --lang or
// the entry point found there), the language from --lang or the extension,
// the caller's stdin (unless a terminal) and the limits into a request.
struct RunOptions {
    std::string file;
    std::vector<std::string> args;
    std::string language;
    std::optional<int64_t> time_ms, cpu_ms, memory_mb, pids, output_bytes;
    bool json = false;
    bool read_stdin = true;  // the caller's stdin becomes the program's (not for `exec test`)
    std::string tests_dir;   // `exec run FILE --tests DIR`: grade instead of run
    std::string metadata;    // `exec submit --metadata JSON`: sent as written
};
JobRequest build_request(const Registry& registry, const RunOptions& opts);

// The status `exec run` exits with: the program's own, or its verdict's
// (124, 137, ...), or 70 for an internal error or a cancelled job.
int exit_status(const JobResult& result);

// Prints a result the way `exec run` does, whether the job ran here or on a
// server (api::job_result_from_json): the program's stdout and stderr as it
// wrote them, then for any verdict but OK the verdict and its message on
// stderr (a compile error's whole output). Returns exit_status(result).
int print_result(const JobResult& result);

// `exec test FILE --tests DIR` with the table report; returns its exit status.
int grade_solution(const GlobalOptions& global, const RunOptions& run, const std::string& tests_dir);

// Adds FILE, -- ARGS, --lang and the limit flags to a subcommand.
void add_job_options(CLI::App* cmd, RunOptions& opts);

}  // namespace execd::cli
