// POST /v1/jobs/batch: {"jobs": [<POST /v1/jobs body>, ...]}. Every job is
// validated before any is queued, then all are queued in one step or none
// is; 202 {"jobs": [{"jobId", "status": "queued"}, ...]} in request order.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "api/api_error.h"
#include "api/batch.h"
#include "api/stored_request.h"
#include "api/submission.h"
#include "daemon/handlers/handlers.h"
#include "daemon/logging.h"

namespace execd::daemon::handlers {

using Poco::JSON::Array;
using Poco::JSON::Object;

void post_jobs_batch(ServerContext& ctx, const Request& req, Response& res) {
    if (ctx.draining) throw api::ApiError(503, "draining", "execd is shutting down and accepts no new jobs");
    if (req.content_type.rfind("application/json", 0) != 0)
        throw api::ApiError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");
    // One registry for the whole batch, so a reload cannot accept half of it
    // under old rules and half under new ones.
    auto registry = ctx.registry();
    const std::vector<api::Submission> subs =
        api::parse_batch_body(req.body, *registry, submission_maxima(*req.config), req.config->maxima.batch);

    std::vector<NewJob> jobs;
    jobs.reserve(subs.size());
    size_t bytes = 0;
    for (const auto& sub : subs) {
        jobs.push_back(
            NewJob{new_job_id(), api::stored_request_json(sub), sub.priority, sub.metadata_json, req.request_id});
        bytes += jobs.back().request_json.size() + sub.metadata_json.size();
    }
    check_fits_queue(req, bytes);
    throw_unless_queued(ctx, req, ctx.store.submit_all(jobs, req.caller.owner), jobs.size());
    ctx.metrics.submitted += jobs.size();

    Array::Ptr out = new Array;
    for (size_t i = 0; i < jobs.size(); ++i) {
        LogScope scope(req.request_id, jobs[i].id);
        spdlog::info("job {} queued: {} priority {} (batch of {})", jobs[i].id, subs[i].request.language,
                     subs[i].priority, jobs.size());
        Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        o->set("jobId", jobs[i].id);
        o->set("status", std::string("queued"));
        out->add(o);
    }
    Object::Ptr doc = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    doc->set("jobs", out);
    res.status = 202;
    res.body = api::stringify(doc);
}

}  // namespace execd::daemon::handlers
