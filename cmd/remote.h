// What exec does over HTTP or with the API's JSON (Poco) lives in a module,
// exec-remote.so, loaded only when a command needs it: loading Poco's
// libraries cost every exec start about 1.5 ms, and a local `exec run`
// needs none of them. The module is installed beside exec
// (<prefix>/lib/execd/, or exec's own directory in a build tree); exec
// refuses one that anyone but root (or its own user) could have written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cmd/common.h"

namespace execd::cli {

struct RemoteOps {
    // Which build of exec the module belongs to (RemoteOps::current()).
    const char* version;
    uint64_t layout;

    // `exec run` on a server: submits, waits with a spinner, prints as a
    // local run does (or the server's JSON); returns the exit status.
    int (*run)(const GlobalOptions&, const std::string& server, const JobRequest&, bool json);
    // `exec test` on a server: the finished job. Throws when it was cancelled.
    JobResult (*grade)(const GlobalOptions&, const std::string& server, const JobRequest&);
    // `exec submit`, `status`, `wait`, `cancel`: print, return the exit status.
    int (*submit)(const GlobalOptions&, const std::string& server, const JobRequest&);
    int (*status)(const GlobalOptions&, const std::string& server, const std::string& id);
    int (*wait)(const GlobalOptions&, const std::string& server, const std::string& id, bool json);
    int (*cancel)(const GlobalOptions&, const std::string& server, const std::string& id);
    // A finished job as the API's JSON (GET /v1/jobs/{id}), for --json.
    std::string (*job_json)(const JobResult&);
    // `exec languages --json`: each language with its version (versions[i]).
    std::string (*languages_json)(const Registry&, const std::vector<std::string>& versions);

    // The version and a fingerprint of the types crossing between exec and
    // the module: a module from another build is refused, not called.
    static uint64_t current_layout() {
        return sizeof(GlobalOptions) * 1'000'003 + sizeof(JobRequest) * 1009 + sizeof(JobResult) * 31 +
               sizeof(Registry);
    }
};

// The module's one symbol.
inline constexpr const char* kRemoteEntry = "execd_exec_remote";
using RemoteEntry = const RemoteOps* (*)();

// The loaded module. Throws std::runtime_error naming where it looked and
// why none would do.
const RemoteOps& remote();

}  // namespace execd::cli
