// exec cancel ID: cancel a queued job, or ask a running one to stop.
#include <CLI/CLI.hpp>

#include "cmd/remote.h"
#include "cmd/server.h"

namespace execd::cli {

void add_cancel_command(CLI::App& app, GlobalOptions& global) {
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("cancel", "Cancel a job on an execd server");
    cmd->add_option("id", *id, "Job id")->required();
    cmd->callback([&global, id]() {
        auto server = pick_server(global);
        if (!server) throw BadRequest("server", "cancel needs a server: --server URL or EXEC_SERVER");
        need_remote();
        throw CLI::RuntimeError(remote().cancel(global, *server, *id));
    });
}

}  // namespace execd::cli
