// The one error type the API's parser and the HTTP handlers throw; the router
// turns it into {"error": {"code", "message", "field"}} with its status.
#pragma once

#include <stdexcept>
#include <string>

namespace execd::api {

class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string code, const std::string& message, std::string field = {})
        : std::runtime_error(message), status_(status), code_(std::move(code)), field_(std::move(field)) {}

    int status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }
    const std::string& field() const noexcept { return field_; }

private:
    int status_;
    std::string code_;
    std::string field_;
};

}  // namespace execd::api
