// POST /v1/jobs: validate, queue, answer 202 {"jobId", "status": "queued"}.
#include <sys/random.h>

#include <Poco/JSON/Object.h>
#include <spdlog/spdlog.h>

#include "api_error.h"
#include "codec.h"
#include "handlers/handlers.h"

namespace execd::daemon::handlers {

std::string new_job_id() {
    unsigned char bytes[16];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
        throw std::runtime_error("getrandom failed");
    static const char* hex = "0123456789abcdef";
    std::string id;
    for (unsigned char b : bytes) {
        id += hex[b >> 4];
        id += hex[b & 15];
    }
    return id;
}

bool is_job_id(const std::string& text) {
    if (text.size() != 32) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

void post_job(ServerContext& ctx, const Request& req, Response& res) {
    if (ctx.draining) throw api::ApiError(503, "draining", "execd is shutting down and accepts no new jobs");
    if (req.content_type.rfind("application/json", 0) != 0)
        throw api::ApiError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");
    auto registry = ctx.registry();
    api::Submission sub = api::parse_submission(req.body, *registry, ctx.config.maxima);
    const std::string id = new_job_id();
    if (!ctx.store.submit(id, api::request_to_json(sub), sub.priority)) {
        ++ctx.metrics.rejected;
        throw api::ApiError(429, "queue_full", "the queue is full (" + std::to_string(ctx.config.queue_max) +
                                                   " jobs); try again later");
    }
    ++ctx.metrics.submitted;
    spdlog::info("job {} queued: {} priority {}", id, sub.request.language, sub.priority);
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("jobId", id);
    o->set("status", std::string("queued"));
    res.status = 202;
    res.body = api::stringify(o);
}

}  // namespace execd::daemon::handlers
