#include "cmd/common.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "api/tokens.h"
#include "cmd/warm.h"
#include "core/util/files.h"
#include "core/util/sha256.h"
#include "core/version.h"

namespace execd::cli {

namespace {

// `path` from the root: a warm sandbox started from another directory (or
// from /) must name the same file.
std::string absolute(const std::string& path) {
    if (path.empty() || path.front() == '/') return path;
    std::error_code ec;
    const auto abs = std::filesystem::absolute(path, ec);
    return ec ? path : abs.lexically_normal().string();
}

}  // namespace

std::string state_dir_of(const GlobalOptions& options) {
    if (!options.state_dir.empty()) return absolute(options.state_dir);
    if (const char* env = std::getenv("EXECD_STATE_DIR"); env && *env) return absolute(env);
    return kDefaultSandboxStateDir;
}

std::string instance_of(const GlobalOptions& options) {
    if (!options.instance.empty()) return options.instance;
    if (const char* env = std::getenv("EXECD_INSTANCE"); env && *env) return env;
    return "";
}

std::string registry_path_of(const GlobalOptions& options) {
    if (!options.languages_file.empty()) return absolute(options.languages_file);
    if (const char* env = std::getenv("EXECD_LANGUAGES"); env && *env) return absolute(env);
    return default_languages_file();
}

namespace {

std::string& registry_key() {
    static std::string key;
    return key;
}

// The registry from `text`, through the snapshot kept in `cache`: the key is
// the text with its origin (hashed once: loaded_registry_key), the snapshot
// format and exec's version, so an edited file, another build or another
// format is a miss and parses anew.
Registry parse_registry(const std::string& text, const std::string& origin, CompileCache* cache) {
    Sha256 text_key;
    text_key.field(origin);
    text_key.field(text);
    registry_key() = text_key.hex();
    if (!cache) return Registry::parse(text, origin);
    Sha256 h;
    h.field("registry snapshot");
    h.field(kVersion);
    h.field(registry_key());
    const std::string key = h.hex();
    if (auto bytes = cache->recall(key))
        if (auto reg = Registry::from_snapshot(*bytes)) return std::move(*reg);
    Registry reg = Registry::parse(text, origin);
    cache->remember(key, reg.snapshot());
    return reg;
}

}  // namespace

CompileCache* local_cache(const GlobalOptions& options, std::string* why) {
    static std::unique_ptr<CompileCache> cache;
    static std::string error;
    static bool opened = false;
    if (!opened) {
        opened = true;
        if (options.no_cache) {
            error = "--no-cache";
        } else if (::geteuid() != 0) {
            error = "not root";
        } else {
            try {
                CompileCacheConfig cc;
                cc.dir = state_dir_of(options) + "/cache";
                cache = std::make_unique<CompileCache>(cc);
            } catch (const std::exception& e) {
                error = e.what();
            }
        }
    }
    if (why) *why = error;
    return cache.get();
}

const std::string& loaded_registry_key() { return registry_key(); }

Registry load_registry(const GlobalOptions& options) {
    const std::string path = registry_path_of(options);
    if (path.empty()) return parse_registry(kEmbeddedLanguagesToml, kEmbeddedLanguagesOrigin, local_cache(options));
    std::string text;
    try {
        text = read_file(path);
    } catch (const std::exception& e) {
        throw RegistryError(path + ": cannot open: " + e.what());
    }
    return parse_registry(text, path, local_cache(options));
}

LocalEngine make_local_engine(const GlobalOptions& options, const Registry& registry) {
    SandboxConfig config;
    config.state_dir = state_dir_of(options);
    config.instance = instance_of(options);
    config.uid_base = instance_uid_base(config.instance);
    config.binds = registry.sandbox_binds();
    LocalEngine engine;
    engine.sandbox = std::make_unique<Sandbox>(config);
    std::string why;
    engine.cache = local_cache(options, &why);
    if (!engine.cache && !options.no_cache) print_error("compile cache off: " + why);
    return engine;
}

JobResult run_here(const GlobalOptions& options, const Registry& registry, const JobRequest& request) {
    std::string why;
    if (auto result = run_warm(options, request, &why)) return std::move(*result);
    if (!why.empty()) print_error("warning: " + why + "; running the job in-process");
    LocalEngine engine = make_local_engine(options, registry);
    Runner runner(*engine.sandbox, registry, engine.cache);
    return runner.run(request);
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

}  // namespace execd::cli
