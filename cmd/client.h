// Talking to an execd daemon over HTTP: where it is, and the few calls the
// CLI makes. The JSON is the API's (api/).
#pragma once

#include <Poco/JSON/Object.h>

#include <optional>
#include <string>

#include "cmd/common.h"

namespace execd::cli {

// Where the host's execd listens by default (execd serves it when it runs
// as root); $EXECD_SOCKET names another path.
inline constexpr const char* kDefaultDaemonSocket = "/run/execd/api.sock";

// The server to use: --server, else $EXEC_SERVER, else the host's execd on
// its unix socket ($EXECD_SOCKET, else kDefaultDaemonSocket) when the socket
// and its directory are root's, no one else can write the directory, and
// the process listening is root; else none (the embedded engine). A TCP
// port is used only when named. --local forces none. A socket that is
// there but not trusted is ignored with a warning on stderr.
std::optional<std::string> pick_server(const GlobalOptions& options);

class ServerClient {
public:
    // `url` is http://host:port, or unix:/path for a unix socket (its
    // listener must run as root or as the user). The token comes from
    // --token or $EXEC_TOKEN.
    ServerClient(const std::string& url, std::string token);

    // POST /v1/jobs; returns the job id. Throws std::runtime_error with the
    // server's error message.
    std::string submit(const std::string& body);

    // GET /v1/jobs/{id}?wait=…; the parsed body. Throws on 4xx/5xx.
    Poco::JSON::Object::Ptr get(const std::string& id, int64_t wait_ms);

    // Polls until the job has finished; calls `progress` with each state seen.
    Poco::JSON::Object::Ptr wait(const std::string& id, const std::function<void(const std::string&)>& progress);

    // DELETE /v1/jobs/{id}; the server's status text.
    std::string cancel(const std::string& id);

private:
    std::pair<int, std::string> request(const std::string& method, const std::string& path, const std::string& body,
                                        int timeout_s);
    std::string host_;
    uint16_t port_ = 0;
    std::string unix_path_;  // set for unix:/path
    std::string where_;      // host:port or the socket's path, for messages
    std::string token_;
};

}  // namespace execd::cli
