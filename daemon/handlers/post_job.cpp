// POST /v1/jobs[?wait=MS]: validate, queue, answer 202 {"jobId", "status":
// "queued"}; with ?wait, the finished job's document (200) when it ends
// within MS, else 202 with its status then.
#include <Poco/JSON/Object.h>
#include <spdlog/spdlog.h>

#include "api/api_error.h"
#include "api/raw_json.h"
#include "api/stored_request.h"
#include "core/util/files.h"
#include "daemon/handlers/handlers.h"
#include "daemon/logging.h"

namespace execd::daemon::handlers {

std::string new_job_id() { return random_hex(16); }

bool is_job_id(const std::string& text) {
    if (text.size() != 32) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool visible_to(const Caller& caller, const StoredJob& job) { return caller.admin || job.owner == caller.owner; }

OwnerCheck owner_check(const Caller& caller) {
    return caller.admin ? OwnerCheck::anyone() : OwnerCheck::only(caller.owner);
}

void check_fits_queue(const Request& req, size_t bytes) {
    if (static_cast<int64_t>(bytes) > req.config->queue_max_bytes)
        throw api::ApiError(413, "too_large",
                            "the job takes " + std::to_string(bytes) +
                                " bytes once stored, more than the queue may hold (" +
                                std::to_string(req.config->queue_max_bytes) + " bytes, queue_max_bytes)");
}

void throw_unless_queued(ServerContext& ctx, const Request& req, JobStore::SubmitOutcome outcome, size_t jobs) {
    if (outcome == JobStore::SubmitOutcome::Queued) return;
    ctx.metrics.rejected += jobs;
    const std::string none = jobs > 1 ? "; none was queued" : "";
    switch (outcome) {
        case JobStore::SubmitOutcome::QueueFull:
            throw api::ApiError(429, "queue_full",
                                (jobs > 1 ? "the queue has no room for " + std::to_string(jobs) + " more jobs (at most "
                                          : std::string("the queue is full (")) +
                                    std::to_string(req.config->queue_max) + " jobs wait)" + none + "; try again later");
        case JobStore::SubmitOutcome::BytesFull:
            throw api::ApiError(429, "queue_full",
                                "the queue holds as many bytes as it may (queue_max_bytes, " +
                                    std::to_string(req.config->queue_max_bytes) + " bytes)" + none +
                                    "; try again later");
        case JobStore::SubmitOutcome::OutOfMemory:
            throw api::ApiError(507, "insufficient_storage",
                                "the job store is out of memory (Redis maxmemory)" +
                                    (jobs > 1 ? none : std::string("; nothing was queued")) + "; try again later");
        case JobStore::SubmitOutcome::DiskFull:
            throw api::ApiError(507, "insufficient_storage",
                                "the job store cannot write to its disk (Redis refuses writes until it can persist "
                                "them again)" +
                                    (jobs > 1 ? none : std::string("; nothing was queued")) + "; try again later");
        case JobStore::SubmitOutcome::Queued: return;
    }
}

void post_job(ServerContext& ctx, const Request& req, Response& res) {
    if (ctx.draining) throw api::ApiError(503, "draining", "execd is shutting down and accepts no new jobs");
    if (req.content_type.rfind("application/json", 0) != 0)
        throw api::ApiError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");
    const int64_t wait_ms = wait_ms_param(ctx, req);
    auto registry = ctx.registry();
    api::Submission sub = api::parse_submission_body(req.body, *registry, submission_maxima(*req.config));
    const std::string id = new_job_id();
    const std::string stored = api::stored_request_json(sub);
    check_fits_queue(req, stored.size() + sub.metadata_json.size());
    throw_unless_queued(
        ctx, req, ctx.store.submit(id, stored, sub.priority, req.caller.owner, sub.metadata_json, req.request_id), 1);
    ++ctx.metrics.submitted;
    set_log_job(id);
    spdlog::info("job {} queued: {} priority {}", id, sub.request.language, sub.priority);
    // Submit and wait in one request: the job's document once it has
    // finished within `wait` (200), else the answer of a plain submit.
    JobState state = JobState::Queued;
    if (wait_ms > 0) {
        StoredJob queued;
        queued.owner = req.caller.owner;
        auto job = ctx.store.wait(id, wait_ms, std::move(queued));
        if (job && (job->state == JobState::Completed || job->state == JobState::Cancelled)) {
            res.status = 200;
            res.body = api::with_raw_member(job_document(*job), "jobId", '"' + id + '"');
            return;
        }
        if (job) state = job->state;
    }
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("jobId", id);
    o->set("status", std::string(job_state_name(state)));
    res.status = 202;
    res.body = api::stringify(o);
}

}  // namespace execd::daemon::handlers
