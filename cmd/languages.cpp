// exec languages: what the registry declares and whether it runs here.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "cmd/common.h"

namespace execd::cli {
namespace {

// Each usable language's version, in registry order: remembered ones from
// the compile cache (keyed by the toolchain's binaries), the rest probed a
// few at a time.
std::vector<std::string> versions_of(const Registry& registry, CompileCache* cache) {
    const auto& langs = registry.languages();
    std::vector<std::string> out(langs.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i = next++; i < langs.size(); i = next++)
            if (langs[i].usable()) out[i] = cached_version(langs[i], cache);
    };
    const size_t n = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
    std::vector<std::thread> threads;
    for (size_t t = 1; t < n; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    return out;
}

int languages_command(const GlobalOptions& global, bool json) {
    Registry registry = load_registry(global);
    const std::vector<std::string> versions = versions_of(registry, local_cache(global));
    if (json) {
        Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
        for (size_t i = 0; i < registry.languages().size(); ++i) {
            const Language& l = registry.languages()[i];
            Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
            o->set("id", l.id);
            o->set("name", l.name);
            o->set("version", versions[i]);
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
        std::cout << std::left << std::setw(id_w) << l.id << std::setw(name_w) << l.name << std::setw(8)
                  << (l.usable() ? "yes" : "no") << versions[i] << "\n";
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
