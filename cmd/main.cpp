// exec (also installed as execctl, since `exec` is a shell builtin): wires the
// subcommands; each lives in a file of its own.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cmd/common.h"
#include "cmd/remote.h"
#include "core/registry.h"
#include "core/util/sys_error.h"
#include "core/version.h"

int main(int argc, char** argv) {
    using namespace execd::cli;
    try {
        remember_argv(argc, argv);
    } catch (const std::exception& e) {
        print_error(e.what());
        return execd::kExitInternalError;
    }
    CLI::App app{"exec: run code in a secure sandbox, in-process or through an execd daemon", "exec"};
    app.require_subcommand(1);
    app.fallthrough();  // global options are accepted after the subcommand too
    app.set_version_flag("--version", std::string("exec ") + execd::kVersion);
    GlobalOptions global;
    app.add_option("--languages", global.languages_file,
                   "Language registry file (default: $EXECD_LANGUAGES, /etc/execd/languages.toml, "
                   "<prefix>/share/execd/languages.toml, then the built-in one)");
    app.add_option("--state-dir", global.state_dir,
                   "Sandbox state directory (default: $EXECD_STATE_DIR or /run/execd)");
    app.add_option("--instance", global.instance,
                   "Run the local engine as this named instance: its own box cgroups (execd-NAME) and uid range "
                   "(default: $EXECD_INSTANCE, else the default engine)");
    app.add_option("--server", global.server,
                   "execd server, http://HOST:PORT or unix:PATH (default: $EXEC_SERVER, "
                   "else the host's execd on its root-owned socket /run/execd/api.sock "
                   "or $EXECD_SOCKET, else the embedded engine)");
    auto* token = app.add_option("--token", global.token, "API token for the server (default: $EXEC_TOKEN)");
    app.add_option_function<std::string>(
           "--token-file", [&global](const std::string& path) { global.token = read_client_token(path); },
           "Read the API token from FILE, so it is not in argv (one token; blank and # lines ignored)")
        ->excludes(token);
    app.add_flag("--local", global.local, "Always run on this host with the embedded engine (no server)");
    app.add_flag("--no-cache", global.no_cache, "Do not use the compile cache (in-process runs)");
    app.add_option("--warm", global.warm,
                   "Keep the sandbox of runs on this host warm for SECONDS after the last job, so the next exec "
                   "finds it ready; 0 builds it for each run (default: $EXEC_WARM, else 300)")
        ->check(CLI::Range(0, 86400));
    add_run_command(app, global);
    add_languages_command(app, global);
    add_submit_command(app, global);
    add_status_command(app, global);
    add_wait_command(app, global);
    add_cancel_command(app, global);
    add_test_command(app, global);
    add_warm_command(app, global);
    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& done) {
        return done.get_exit_code();  // a subcommand finished with this status
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : kExitUsage;
    } catch (const execd::RegistryError& e) {
        print_error(e.what());
        return kExitUsage;
    } catch (const execd::BadRequest& e) {
        print_error(e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        print_error(e.what());
        return execd::kExitInternalError;
    }
    return 0;
}
