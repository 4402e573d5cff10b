// GET /v1/jobs?ids=a,b,c[&wait=MS]: several jobs at once, in the order asked,
// each the document GET /v1/jobs/{id} gives plus "jobId"; an id that is
// unknown, malformed or expired is {"jobId", "status": "unknown"} in its place.
#include <Poco/JSON/Object.h>

#include <chrono>
#include <optional>
#include <vector>

#include "api/api_error.h"
#include "api/codec.h"
#include "daemon/handlers/handlers.h"

namespace execd::daemon::handlers {
namespace {

using Jobs = std::vector<std::optional<StoredJob>>;

// The ids, split on commas. Throws ApiError (400, field "ids").
std::vector<std::string> requested_ids(const Request& req, int64_t max_ids) {
    auto it = req.query.find("ids");
    if (it == req.query.end() || it->second.empty())
        throw api::ApiError(400, "invalid_field", "'ids' is required: job ids separated by commas", "ids");
    std::vector<std::string> ids;
    const std::string& text = it->second;
    for (size_t start = 0;;) {
        const size_t comma = text.find(',', start);
        ids.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (static_cast<int64_t>(ids.size()) > max_ids)
        throw api::ApiError(400, "invalid_field",
                            "'ids' must name at most " + std::to_string(max_ids) +
                                " jobs (the operator's maximum), not " + std::to_string(ids.size()),
                            "ids");
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i].empty())
            throw api::ApiError(400, "invalid_field", "'ids' has an empty entry at position " + std::to_string(i),
                                "ids");
    return ids;
}

bool finished(const std::optional<StoredJob>& job) {
    return job && (job->state == JobState::Completed || job->state == JobState::Cancelled);
}

// Each id's state, in order. Ids that are not job ids are never looked up:
// they are unknown whatever the store holds; so is a job `caller` may not see.
Jobs look_up(JobStore& store, const std::vector<std::string>& ids, const Caller& caller) {
    std::vector<std::string> wanted;
    for (const auto& id : ids)
        if (is_job_id(id)) wanted.push_back(id);
    Jobs found = store.get_all(wanted);
    Jobs out(ids.size());
    for (size_t i = 0, next = 0; i < ids.size(); ++i) {
        if (!is_job_id(ids[i])) continue;
        auto& job = found[next++];
        if (job && visible_to(caller, *job)) out[i] = std::move(job);
    }
    return out;
}

std::string element(const std::string& id, const std::optional<StoredJob>& job) {
    // A finished job's stored document is spliced in rather than parsed and
    // written again: the element stays byte for byte what GET /v1/jobs/{id}
    // returns, and a batch of large outputs is not re-serialised. Only valid
    // ids (32 hex digits, nothing to escape) ever reach this branch.
    if (job) {
        const std::string doc = job_document(*job);
        if (doc.size() > 2 && doc.front() == '{') return "{\"jobId\":\"" + id + "\"," + doc.substr(1);
    }
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("jobId", id);
    o->set("status", std::string("unknown"));
    return api::stringify(o);
}

}  // namespace

void get_jobs(ServerContext& ctx, const Request& req, Response& res) {
    const std::vector<std::string> ids = requested_ids(req, req.config->maxima.batch);
    const int64_t wait_ms = wait_ms_param(ctx, req);
    Jobs jobs = look_up(ctx.store, ids, req.caller);

    // ?wait= bounds the whole request, not each job: waiting on the jobs one
    // after another against one deadline ends as soon as the last one
    // finishes, or at the deadline.
    if (wait_ms > 0) {
        using Clock = std::chrono::steady_clock;
        const auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
        bool waited = false;
        for (size_t i = 0; i < ids.size(); ++i) {
            if (!jobs[i] || finished(jobs[i])) continue;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) break;
            ctx.store.wait(ids[i], left);
            waited = true;
        }
        if (waited) jobs = look_up(ctx.store, ids, req.caller);
    }

    std::string body = "{\"jobs\":[";
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) body += ',';
        body += element(ids[i], jobs[i]);
    }
    body += "]}";
    res.body = std::move(body);
}

}  // namespace execd::daemon::handlers
