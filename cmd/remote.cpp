// exec-remote's side of cmd/remote.h: the commands that talk to an execd
// server, and the API's JSON for --json.
#include "cmd/remote.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "api/raw_json.h"
#include "api/result.h"
#include "api/submission.h"
#include "cmd/client.h"
#include "core/version.h"

namespace execd::cli {
namespace {

// A job's state on the terminal with a turning bar: "/ queued".
class Spinner {
public:
    void show(const std::string& state) {
        static const char* frames[] = {"|", "/", "-", "\\"};
        line_.show(std::string(frames[frame_++ % 4]) + " " + state);
    }

private:
    StatusLine line_;
    unsigned frame_ = 0;
};

int run(const GlobalOptions& global, const std::string& server, const JobRequest& req, bool json) {
    ServerClient client(server, global.token);
    // --json prints the server's document as it is; otherwise the bytes
    // travel as base64 and come out exactly as the program wrote them.
    const std::string id = client.submit(api::submission_body(req, json ? api::Encoding::Utf8 : api::Encoding::Base64));
    Poco::JSON::Object::Ptr job;
    {
        Spinner spinner;
        spinner.show("queued");
        job = client.wait(id, [&](const std::string& state) { spinner.show(state); });
    }
    if (json) {
        job->remove("encoding");
        std::cout << api::stringify(job) << std::endl;
        return exit_status(api::job_result_from_json(*job));
    }
    return print_result(api::job_result_from_json(*job));
}

JobResult grade(const GlobalOptions& global, const std::string& server, const JobRequest& req) {
    ServerClient client(server, global.token);
    const std::string id = client.submit(api::submission_body(req, api::Encoding::Base64));
    StatusLine progress;
    progress.show("queued on " + server);
    auto job = client.wait(id, [&](const std::string& state) { progress.show(state + " on " + server); });
    JobResult result = api::job_result_from_json(*job);
    if (result.cancelled) throw std::runtime_error("job " + id + " was cancelled");
    return result;
}

int submit(const GlobalOptions& global, const std::string& server, const JobRequest& req,
           const std::string& metadata_json) {
    std::string body = api::submission_body(req, api::Encoding::Base64);
    if (!metadata_json.empty()) {
        // Checked here for a clear message; sent as written, never re-serialised.
        Poco::Dynamic::Var parsed;
        try {
            parsed = Poco::JSON::Parser().parse(metadata_json);
        } catch (const std::exception&) {
            throw BadRequest("metadata", "--metadata is not valid JSON");
        }
        if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
            throw BadRequest("metadata", "--metadata must be a JSON object");
        body = api::with_raw_member(std::move(body), "metadata", metadata_json);
    }
    std::cout << ServerClient(server, global.token).submit(body) << std::endl;
    return 0;
}

int status(const GlobalOptions& global, const std::string& server, const std::string& id) {
    // As the server sent it: the job's metadata is the client's own bytes.
    std::string text;
    ServerClient(server, global.token).get(id, 0, &text);
    std::cout << text << std::endl;
    return 0;
}

int wait(const GlobalOptions& global, const std::string& server, const std::string& id, bool json) {
    std::string text;
    auto job = ServerClient(server, global.token).wait(id, nullptr, &text);
    if (json) {
        std::cout << text << std::endl;
        return exit_status(api::job_result_from_json(*job));
    }
    return print_result(api::job_result_from_json(*job));
}

int cancel(const GlobalOptions& global, const std::string& server, const std::string& id) {
    std::cout << ServerClient(server, global.token).cancel(id) << std::endl;
    return 0;
}

std::string job_json(const JobResult& result) {
    return api::stringify(api::completed_job_json(result, api::Encoding::Utf8));
}

std::string languages_json(const Registry& registry, const std::vector<std::string>& versions) {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (size_t i = 0; i < registry.languages().size(); ++i)
        list->add(api::language_json(registry.languages()[i], i < versions.size() ? versions[i] : std::string()));
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(list, out);
    return out.str();
}

const RemoteOps kOps{run, grade, submit, status, wait, cancel, job_json, languages_json};

}  // namespace

void remember_argv(int, char**) {
    // Handed over by an exec of another version: its options may mean
    // something else here.
    const char* by = std::getenv("EXECD_HANDED_OVER_BY");
    if (by && std::string(by) != kVersion)
        throw std::runtime_error(std::string("exec-remote ") + kVersion + " was handed a command by exec " + by +
                                 ": install both from one build");
    ::unsetenv("EXECD_HANDED_OVER_BY");
}

void need_remote() {}

const RemoteOps& remote() { return kOps; }

}  // namespace execd::cli
