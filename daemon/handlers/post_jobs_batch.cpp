// POST /v1/jobs/batch: {"jobs": [<POST /v1/jobs body>, ...]}. Every job is
// validated before any is queued, then all are queued in one step or none
// is; 202 {"jobs": [{"jobId", "status": "queued"}, ...]} in request order.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "api/api_error.h"
#include "api/raw_json.h"
#include "api/stored_request.h"
#include "api/submission.h"
#include "daemon/handlers/handlers.h"
#include "daemon/logging.h"

namespace execd::daemon::handlers {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

// The body's "jobs" array, checked for shape and size but not yet element by
// element. Throws ApiError (400) naming what is wrong.
Array::Ptr jobs_array(const std::string& body, int64_t max_jobs) {
    const Var root = api::parse_json_body(body);
    if (root.type() != typeid(Object::Ptr))
        throw api::ApiError(400, "invalid_json", R"(the body must be a JSON object: {"jobs": [...]})");
    const Object& o = *root.extract<Object::Ptr>();
    for (const auto& name : o.getNames())
        if (name != "jobs")
            throw api::ApiError(400, "invalid_field", "unknown field '" + name + R"(' (the body is {"jobs": [...]}))",
                                name);
    if (!o.has("jobs"))
        throw api::ApiError(400, "invalid_field", "'jobs' is required: an array of POST /v1/jobs bodies", "jobs");
    Var jobs = o.get("jobs");
    if (jobs.type() != typeid(Array::Ptr))
        throw api::ApiError(400, "invalid_field", "'jobs' must be an array of POST /v1/jobs bodies", "jobs");
    Array::Ptr list = jobs.extract<Array::Ptr>();
    if (list->size() == 0) throw api::ApiError(400, "invalid_field", "'jobs' must hold at least one job", "jobs");
    // Counted before any element is validated, so an oversized batch costs
    // no per-job work.
    if (static_cast<int64_t>(list->size()) > max_jobs)
        throw api::ApiError(400, "invalid_field",
                            "'jobs' must hold at most " + std::to_string(max_jobs) +
                                " jobs (the operator's maximum), not " + std::to_string(list->size()),
                            "jobs");
    return list;
}

}  // namespace

void post_jobs_batch(ServerContext& ctx, const Request& req, Response& res) {
    if (ctx.draining) throw api::ApiError(503, "draining", "execd is shutting down and accepts no new jobs");
    if (req.content_type.rfind("application/json", 0) != 0)
        throw api::ApiError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");
    Array::Ptr list = jobs_array(req.body, req.config->maxima.batch);
    // The elements as sent, for each job's metadata byte for byte.
    const std::vector<std::string_view> sent = api::raw_elements(api::raw_member(req.body, "jobs").value_or(""));
    if (sent.size() != list->size())
        throw api::ApiError(400, "invalid_json", "the body's 'jobs' could not be read element by element");

    // One registry for the whole batch, so a reload cannot accept half of it
    // under old rules and half under new ones.
    auto registry = ctx.registry();
    const api::Maxima maxima = submission_maxima(*req.config);
    std::vector<api::Submission> subs;
    subs.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
        const std::string at = "jobs[" + std::to_string(i) + "]";
        Var item = list->get(static_cast<unsigned int>(i));
        if (item.type() != typeid(Object::Ptr))
            throw api::ApiError(400, "invalid_field", "'" + at + "' must be a JSON object (a POST /v1/jobs body)", at);
        // Each element goes, as parsed, through the parser POST /v1/jobs
        // uses, so the rules and messages are the same (3000.0 is no integer
        // in either).
        try {
            subs.push_back(api::parse_submission(*item.extract<Object::Ptr>(), *registry, maxima));
            api::attach_metadata(subs.back(), sent[i]);
        } catch (const api::ApiError& e) {
            throw api::ApiError(e.status(), e.code(), at + ": " + e.what(),
                                e.field().empty() ? at : at + "." + e.field());
        }
    }

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
