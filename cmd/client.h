// Talking to an execd daemon over HTTP: where it is, and the few calls the
// CLI makes. The JSON is the API's (api/).
#pragma once

#include <Poco/JSON/Object.h>

#include <optional>
#include <string>

#include "cmd/common.h"
#include "cmd/server.h"

namespace execd::cli {

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
    // `text`, when given, receives the body as the server sent it.
    Poco::JSON::Object::Ptr get(const std::string& id, int64_t wait_ms, std::string* text = nullptr);

    // Polls until the job has finished; calls `progress` with each state seen.
    Poco::JSON::Object::Ptr wait(const std::string& id, const std::function<void(const std::string&)>& progress,
                                 std::string* text = nullptr);

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
