// GET /v1/openapi.json: the API's contract, api/openapi.yaml as JSON,
// compiled in (daemon/embed_openapi.py writes kOpenApiJson).
#include <string_view>

#include "daemon/handlers/handlers.h"

namespace execd::daemon {

extern const std::string_view kOpenApiJson;

namespace handlers {

void get_openapi(ServerContext&, const Request&, Response& res) { res.body = std::string(kOpenApiJson); }

}  // namespace handlers
}  // namespace execd::daemon
