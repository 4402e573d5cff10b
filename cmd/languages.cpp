// exec languages: what the registry declares and whether it runs here.
#include <CLI/CLI.hpp>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common.h"

namespace execd::cli {
namespace {

int languages_command(const GlobalOptions& global, bool json) {
    Registry registry = load_registry(global);
    if (json) {
        Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
        for (const auto& l : registry.languages()) {
            Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
            o->set("id", l.id);
            o->set("name", l.name);
            o->set("version", l.probe_version());
            o->set("compiled", l.compiled());
            o->set("usable", l.usable());
            Poco::JSON::Array::Ptr ext = new Poco::JSON::Array;
            for (const auto& e : l.extensions) ext->add(e);
            o->set("extensions", ext);
            list->add(o);
        }
        Poco::JSON::Stringifier::condense(list, std::cout);
        std::cout << std::endl;
        return 0;
    }
    std::cout << std::left << std::setw(12) << "ID" << std::setw(20) << "NAME" << std::setw(8) << "USABLE"
              << "VERSION" << "\n";
    for (const auto& l : registry.languages()) {
        std::string version = l.usable() ? l.probe_version() : "";
        std::cout << std::left << std::setw(12) << l.id << std::setw(20) << l.name << std::setw(8)
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
