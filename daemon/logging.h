// execd's log: lines on stderr, as text for people (colour on a terminal)
// or as JSON, one object a line, for collectors (--log-format json). A
// line written while a request is served or a job runs carries their ids:
// the fields requestId and jobId in JSON, "(request R, job J)" at the end
// of a text line. Every request also gets one access line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/config.h"

namespace execd::daemon {

// Makes execd's logger the default one, writing `format` to stderr.
// `node` names this node in JSON lines; set_log_node changes it later.
void setup_logging(LogFormat format, const std::string& node = {});
void set_log_node(const std::string& node);

// While alive, the lines this thread logs carry these ids (an empty one is
// left out); the ids there were before come back when it ends.
class LogScope {
public:
    LogScope(std::string_view request_id, std::string_view job_id);
    ~LogScope();
    LogScope(const LogScope&) = delete;
    LogScope& operator=(const LogScope&) = delete;

private:
    std::string request_, job_;
};

// The job id of the current scope's lines, once it is known (a submission's).
void set_log_job(std::string_view job_id);

// One line per HTTP request answered: method, target, status, body bytes
// sent, milliseconds from the headers' arrival to the answer, and peer.
struct AccessEntry {
    std::string_view method;
    std::string_view target;
    int status = 0;
    int64_t bytes = 0;
    double ms = 0;
    std::string_view peer;
};
void log_access(const AccessEntry& entry);

// `text` as a JSON string's contents: quotes, backslashes and control
// characters escaped, and each byte that is not valid UTF-8 replaced by
// U+FFFD, so a line stays valid JSON whatever a client sent.
std::string json_escape(std::string_view text);

}  // namespace execd::daemon
