#include "cmd/common.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "api/tokens.h"

namespace execd::cli {

Registry load_registry(const GlobalOptions& options) {
    if (!options.languages_file.empty()) return Registry::load_file(options.languages_file);
    if (const char* env = std::getenv("EXECD_LANGUAGES"); env && *env) return Registry::load_file(env);
    const std::string system_file = kSystemLanguagesFile;
    if (::access(system_file.c_str(), R_OK) == 0) return Registry::load_file(system_file);
    return Registry::embedded();
}

LocalEngine make_local_engine(const GlobalOptions& options, const Registry& registry) {
    SandboxConfig config;
    if (!options.state_dir.empty())
        config.state_dir = options.state_dir;
    else if (const char* env = std::getenv("EXECD_STATE_DIR"); env && *env)
        config.state_dir = env;
    config.instance = options.instance;
    if (config.instance.empty())
        if (const char* env = std::getenv("EXECD_INSTANCE"); env && *env) config.instance = env;
    config.uid_base = instance_uid_base(config.instance);
    config.binds = registry.sandbox_binds();
    LocalEngine engine;
    engine.sandbox = std::make_unique<Sandbox>(config);
    if (!options.no_cache) {
        try {
            CompileCacheConfig cc;
            cc.dir = config.state_dir + "/cache";
            engine.cache = std::make_unique<CompileCache>(cc);
        } catch (const std::exception& e) {
            print_error(std::string("compile cache off: ") + e.what());
        }
    }
    return engine;
}

StatusLine::StatusLine() : on_(::isatty(2)) {}

StatusLine::~StatusLine() {
    if (on_ && shown_) std::cerr << "\r\033[K" << std::flush;
}

void StatusLine::show(const std::string& text) {
    if (!on_) return;
    std::cerr << "\r\033[K" << text.substr(0, 100) << std::flush;
    shown_ = true;
}

std::string read_client_token(const std::string& path) {
    std::vector<std::string> tokens;
    std::string warning;
    try {
        tokens = api::read_token_file(path, &warning);
    } catch (const std::exception& e) {
        throw BadRequest("token-file", e.what());
    }
    if (tokens.size() != 1)
        throw BadRequest("token-file", "the token file " + path + " holds " + std::to_string(tokens.size()) +
                                           " tokens; exec needs exactly one");
    if (!warning.empty()) print_error("warning: " + warning);
    return tokens.front();
}

void print_error(const std::string& message) { std::cerr << "exec: " << message << std::endl; }

}  // namespace execd::cli
