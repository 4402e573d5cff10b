// What exec does over HTTP or with the API's JSON needs Poco, and loading
// Poco's libraries cost every exec start about 1.5 ms, which a run on this
// host never needs. So `exec` is built without Poco (and statically: a
// dynamically linked exec spent longer in the loader than a small program
// takes to run), and a command that needs a server or prints JSON is handed
// over, before it has read or changed anything, to `exec-remote`: the same
// commands built with Poco, installed in <prefix>/lib/execd/ (exec's own
// directory in a build tree). exec refuses an exec-remote that anyone but
// root (or its own user) could have written, and exec-remote refuses to run
// for an exec of another version.
#pragma once

#include <string>
#include <vector>

#include "cmd/common.h"

namespace execd::cli {

struct RemoteOps {
    // `exec run` on a server: submits, waits with a spinner, prints as a
    // local run does (or the server's JSON); returns the exit status.
    int (*run)(const GlobalOptions&, const std::string& server, const JobRequest&, bool json);
    // `exec test` on a server: the finished job. Throws when it was cancelled.
    JobResult (*grade)(const GlobalOptions&, const std::string& server, const JobRequest&);
    // `exec submit`, `status`, `wait`, `cancel`: print, return the exit status.
    // `metadata_json`: the job's metadata object as the user wrote it, sent
    // byte for byte ("" for none).
    int (*submit)(const GlobalOptions&, const std::string& server, const JobRequest&, const std::string& metadata_json);
    int (*status)(const GlobalOptions&, const std::string& server, const std::string& id);
    int (*wait)(const GlobalOptions&, const std::string& server, const std::string& id, bool json);
    int (*cancel)(const GlobalOptions&, const std::string& server, const std::string& id);
    // A finished job as the API's JSON (GET /v1/jobs/{id}), for --json.
    std::string (*job_json)(const JobResult&);
    // `exec languages --json`: each language with its version (versions[i]).
    std::string (*languages_json)(const Registry&, const std::vector<std::string>& versions);
};

// main() hands its argv over first: exec-remote is given the same.
void remember_argv(int argc, char** argv);

// A command that will call remote() says so first, before it reads stdin
// or does anything else. In exec this replaces the process with
// exec-remote and returns only by throwing (std::runtime_error naming where
// it looked and why none would do); in exec-remote it does nothing.
void need_remote();

// The operations. In exec, a program error (std::logic_error): the command
// did not call need_remote() first.
const RemoteOps& remote();

}  // namespace execd::cli
