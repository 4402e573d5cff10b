// exec submit FILE [-- ARGS...]: queue a job on a server and print its id.
#include <CLI/CLI.hpp>

#include "cmd/remote.h"
#include "cmd/server.h"

namespace execd::cli {
namespace {

int submit_command(const GlobalOptions& global, const RunOptions& opts) {
    auto server = pick_server(global);
    if (!server) throw BadRequest("server", "submit needs a server: --server URL or EXEC_SERVER");
    need_remote();
    Registry registry = load_registry(global);
    return remote().submit(global, *server, build_request(registry, opts), opts.metadata);
}

}  // namespace

void add_submit_command(CLI::App& app, GlobalOptions& global) {
    auto opts = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("submit", "Queue a source file on an execd server and print the job id");
    add_job_options(cmd, *opts);
    cmd->add_option("--metadata", opts->metadata,
                    "A JSON object stored with the job and returned, exactly as written, by `exec status --json` "
                    "and every GET of the job (at most 16 KB)");
    cmd->callback([&global, opts]() { throw CLI::RuntimeError(submit_command(global, *opts)); });
}

}  // namespace execd::cli
