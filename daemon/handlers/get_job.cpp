// GET /v1/jobs/{id}[?wait=MS]: the job's state, long-polling when asked.
#include "api/api_error.h"
#include "api/codec.h"
#include "api/raw_json.h"
#include "daemon/handlers/handlers.h"

namespace execd::daemon::handlers {

int64_t wait_ms_param(const ServerContext&, const Request& req) {
    auto it = req.query.find("wait");
    if (it == req.query.end()) return 0;
    int64_t wait_ms = 0;
    try {
        size_t used = 0;
        wait_ms = std::stoll(it->second, &used);
        if (used != it->second.size() || wait_ms < 0) throw std::invalid_argument("wait");
    } catch (const std::exception&) {
        throw api::ApiError(400, "invalid_field", "'wait' must be a non-negative number of milliseconds", "wait");
    }
    return std::min(wait_ms, req.config->max_wait_ms);
}

void get_job(ServerContext& ctx, const Request& req, Response& res, const std::string& id) {
    if (!is_job_id(id)) throw api::ApiError(404, "not_found", "no job with this id");
    const int64_t wait_ms = wait_ms_param(ctx, req);
    auto not_found = [&req] {
        return api::ApiError(
            404, "not_found",
            "no job with this id (results expire after " + std::to_string(req.config->result_ttl_s) + " s)");
    };
    // Ownership first, so another's job is never waited on. A job's owner
    // never changes, so the check holds for the wait that follows.
    auto job = ctx.store.get(id);
    if (!job || !visible_to(req.caller, *job)) throw not_found();
    if (wait_ms > 0 && job->state != JobState::Completed && job->state != JobState::Cancelled)
        job = ctx.store.wait(id, wait_ms, std::move(job));
    if (!job) throw not_found();
    res.body = job_document(*job);
}

std::string job_document(const StoredJob& job) {
    std::string doc = job.state == JobState::Completed || job.state == JobState::Cancelled
                          ? job.result_json
                          : api::stringify(pending_job_json(job));
    // The submitting request's id (letters, digits and ._~:/+=@- only, so
    // quoting makes it JSON), then the client's metadata, spliced in as it
    // was sent, never re-serialised.
    if (!job.request_id.empty()) doc = api::with_raw_member(std::move(doc), "requestId", '"' + job.request_id + '"');
    if (job.metadata_json.empty()) return doc;
    return api::with_raw_member(std::move(doc), "metadata", job.metadata_json);
}

Poco::JSON::Object::Ptr pending_job_json(const StoredJob& job) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("status", std::string(job_state_name(job.state)));
    // A running graded job: how many of its tests have finished ("3/5").
    const auto slash = job.progress.find('/');
    if (job.state == JobState::Running && slash != std::string::npos) {
        try {
            o->set("testsDone", std::stoll(job.progress.substr(0, slash)));
            o->set("testsTotal", std::stoll(job.progress.substr(slash + 1)));
        } catch (const std::exception&) {
        }
    }
    return o;
}

}  // namespace execd::daemon::handlers
