// GET /healthz: the process answers. GET /readyz: it can take jobs (Redis
// reachable, not draining). GET /v1/version: what it was built from.
#include "api/api_error.h"
#include "core/version.h"
#include "daemon/handlers/handlers.h"

namespace execd::daemon::handlers {

void healthz(ServerContext&, const Request&, Response& res) { res.body = R"({"status":"ok"})"; }

void readyz(ServerContext& ctx, const Request&, Response& res) {
    if (ctx.draining) throw api::ApiError(503, "draining", "execd is shutting down");
    ctx.store.queue_depth();  // throws RedisUnavailable -> 503
    res.body = R"({"status":"ready"})";
}

void version(ServerContext&, const Request&, Response& res) {
    res.body = std::string(R"({"name":"execd","version":")") + kVersion + R"("})";
}

}  // namespace execd::daemon::handlers
