// The HTTP side: Poco's HTTP sessions on our own connection handling, one
// router that judges a request by its headers before reading its body,
// checks the token, dispatches to one handler per endpoint, and turns every
// error into the API's JSON error form.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/compile_cache.h"
#include "core/registry.h"
#include "daemon/config.h"
#include "daemon/metrics.h"
#include "daemon/store.h"

namespace execd::daemon {

struct ServerContext {
    ConfigSource& config;  // a request reads one snapshot (Request::config)
    JobStore& store;
    std::function<std::shared_ptr<const Registry>()> registry;
    Metrics& metrics;
    std::atomic<bool>& draining;
    std::function<int()> workers_busy;  // empty on api-only nodes
    std::function<int()> workers_total;
    CompileCache* cache = nullptr;  // remembers toolchain versions (nodes with workers)
    // GET /v1/languages's versions, probed once per registry loaded.
    std::mutex versions_mutex;
    std::shared_ptr<const Registry> versions_of;
    std::vector<std::string> versions;
};

struct Request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> query;
    std::string content_type;
    std::string body;
    Caller caller;                   // who sent it, from the token (set by the router before any handler runs)
    std::string request_id;          // the client's X-Request-Id when well-formed, else one made for it
    const Config* config = nullptr;  // the configuration as the request arrived (SIGHUP may replace it)
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // more header fields
};

class HttpServer {
public:
    // Binds `listen` (host:port; port 0 = any free port) and, when set, a
    // unix socket (mode 0666; a stale socket file is replaced, a live one
    // is an error), unless the node is a worker; and monitor_listen, when
    // set, which serves /healthz, /readyz and /metrics only. Throws
    // Poco::Exception / std::runtime_error.
    HttpServer(ServerContext& context);
    ~HttpServer();

    void start();
    // Stops accepting, ends every open connection and removes the unix
    // socket file.
    void stop();

    // The TCP port actually bound for the API (0 on a worker node), and for
    // [server] monitor_listen (0 without one).
    uint16_t port() const noexcept;
    uint16_t monitor_port() const noexcept;

    struct State;

private:
    std::unique_ptr<State> state_;
};

}  // namespace execd::daemon
