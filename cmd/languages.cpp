// exec languages: what the registry declares and whether it runs here.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <vector>

#include "cmd/common.h"
#include "cmd/remote.h"

namespace execd::cli {
namespace {

int languages_command(const GlobalOptions& global, bool json) {
    if (json) need_remote();
    Registry registry = load_registry(global);
    const std::vector<std::string> versions = language_versions(registry, local_cache(global));
    if (json) {
        std::cout << remote().languages_json(registry, versions) << std::endl;
        return 0;
    }
    size_t id_width = 2, name_width = 4;
    for (const auto& l : registry.languages()) {
        id_width = std::max(id_width, l.id.size());
        name_width = std::max(name_width, l.name.size());
    }
    const int id_w = static_cast<int>(id_width + 2), name_w = static_cast<int>(name_width + 2);
    std::cout << std::left << std::setw(id_w) << "ID" << std::setw(name_w) << "NAME" << std::setw(8) << "USABLE"
              << "VERSION"
              << "\n";
    for (size_t i = 0; i < registry.languages().size(); ++i) {
        const Language& l = registry.languages()[i];
        std::string version = versions[i];
        if (!l.usable()) {
            // What provides it, for the operator to install.
            version = "not installed";
            if (!l.packages.empty()) {
                version += " (apt-get install";
                for (const auto& p : l.packages) version += " " + p;
                version += ")";
            }
        }
        std::cout << std::left << std::setw(id_w) << l.id << std::setw(name_w) << l.name << std::setw(8)
                  << (l.usable() ? "yes" : "no") << version << "\n";
    }
    return 0;
}

}  // namespace

void add_languages_command(CLI::App& app, GlobalOptions& global) {
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("languages", "List the registry's languages and whether they are usable here");
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&global, json]() { throw CLI::RuntimeError(languages_command(global, *json)); });
}

}  // namespace execd::cli
