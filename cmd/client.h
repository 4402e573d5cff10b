// Talking to an execd daemon over HTTP: where it is, and the few calls the
// CLI makes. The JSON is the API's (daemon/codec.h).
#pragma once

#include <Poco/JSON/Object.h>

#include <optional>
#include <string>

#include "common.h"

namespace execd::cli {

// The server to use: --server, else $EXEC_SERVER, else a daemon answering
// on 127.0.0.1:3001, else none (the embedded engine). --local forces none.
std::optional<std::string> pick_server(const GlobalOptions& options);

class ServerClient {
public:
    // `url` is http://host:port. The token comes from --token or $EXEC_TOKEN.
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
    std::string token_;
};

// Prints a finished job the way `exec run` does locally and returns the exit
// status: the program's own, the verdict's, 70 for an internal error.
int print_remote_result(const Poco::JSON::Object::Ptr& job, bool base64);

// The exit status for a verdict name and exit code, as locally.
int exit_status_for(const std::string& verdict, std::optional<int> exit_code);

// The same, read from a finished job's JSON document.
int exit_status_of(const Poco::JSON::Object::Ptr& job);

}  // namespace execd::cli
