// exec cancel ID: cancel a queued job, or ask a running one to stop.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cmd/client.h"

namespace execd::cli {

void add_cancel_command(CLI::App& app, GlobalOptions& global) {
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("cancel", "Cancel a job on an execd server");
    cmd->add_option("id", *id, "Job id")->required();
    cmd->callback([&global, id]() {
        auto server = pick_server(global);
        if (!server) throw BadRequest("server", "cancel needs a server: --server URL or EXEC_SERVER");
        std::cout << ServerClient(*server, global.token).cancel(*id) << std::endl;
        throw CLI::RuntimeError(0);
    });
}

}  // namespace execd::cli
