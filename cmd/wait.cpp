// exec wait ID: wait for a job, then print it as `exec run` would and exit
// with its status.
#include <CLI/CLI.hpp>

#include "cmd/remote.h"
#include "cmd/server.h"

namespace execd::cli {

void add_wait_command(CLI::App& app, GlobalOptions& global) {
    auto id = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("wait", "Wait for a job on an execd server and print its result");
    cmd->add_option("id", *id, "Job id")->required();
    cmd->add_flag("--json", *json, "Print the result as JSON");
    cmd->callback([&global, id, json]() {
        auto server = pick_server(global);
        if (!server) throw BadRequest("server", "wait needs a server: --server URL or EXEC_SERVER");
        need_remote();
        throw CLI::RuntimeError(remote().wait(global, *server, *id, *json));
    });
}

}  // namespace execd::cli
