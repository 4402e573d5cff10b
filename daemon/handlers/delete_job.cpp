// DELETE /v1/jobs/{id}: cancel a queued job at once, ask a running one to stop.
#include <spdlog/spdlog.h>

#include "api/api_error.h"
#include "daemon/handlers/handlers.h"
#include "daemon/logging.h"

namespace execd::daemon::handlers {

void delete_job(ServerContext& ctx, const Request& req, Response& res, const std::string& id) {
    if (!is_job_id(id)) throw api::ApiError(404, "not_found", "no job with this id");
    set_log_job(id);
    // The owner is checked in the same script that cancels, so nothing can
    // change hands in between.
    switch (ctx.store.cancel(id, R"({"status":"cancelled"})", owner_check(req.caller))) {
        case JobStore::CancelOutcome::Unknown: throw api::ApiError(404, "not_found", "no job with this id");
        case JobStore::CancelOutcome::Cancelled:
            spdlog::info("job {} cancelled while queued", id);
            res.body = R"({"status":"cancelled"})";
            return;
        case JobStore::CancelOutcome::Requested:
            spdlog::info("job {}: cancel asked of the running job", id);
            res.status = 202;
            res.body = R"({"status":"cancelling"})";
            return;
        case JobStore::CancelOutcome::AlreadyFinished:
            throw api::ApiError(409, "finished", "the job has already finished");
    }
}

}  // namespace execd::daemon::handlers
