// GET /v1/languages: the registry, with what is usable on this node and
// each toolchain's version (probed once per toolchain binary, then remembered
// in the compile cache).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sstream>

#include "api/codec.h"
#include "api/result.h"
#include "core/runner.h"
#include "daemon/handlers/handlers.h"

namespace execd::daemon::handlers {

void get_languages(ServerContext& ctx, const Request&, Response& res) {
    auto registry = ctx.registry();
    std::vector<std::string> versions;
    {
        // Probed once per registry (a reload brings a new one); with a
        // compile cache, each toolchain's version is kept by its binaries'
        // identity, so a node that restarts probes only what was upgraded.
        std::lock_guard lock(ctx.versions_mutex);
        if (ctx.versions_of != registry) {
            ctx.versions = language_versions(*registry, ctx.cache);
            ctx.versions_of = registry;
        }
        versions = ctx.versions;
    }
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (size_t i = 0; i < registry->languages().size(); ++i)
        list->add(api::language_json(registry->languages()[i], versions[i]));
    std::ostringstream out;
    list->stringify(out);
    res.body = out.str();
}

}  // namespace execd::daemon::handlers
