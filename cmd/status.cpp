// exec status ID: print a job's current state as the API's JSON.
#include <CLI/CLI.hpp>

#include "cmd/remote.h"
#include "cmd/server.h"

namespace execd::cli {

void add_status_command(CLI::App& app, GlobalOptions& global) {
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("status", "Print a job's state (JSON) from an execd server");
    cmd->add_option("id", *id, "Job id")->required();
    cmd->callback([&global, id]() {
        auto server = pick_server(global);
        if (!server) throw BadRequest("server", "status needs a server: --server URL or EXEC_SERVER");
        need_remote();
        throw CLI::RuntimeError(remote().status(global, *server, *id));
    });
}

}  // namespace execd::cli
