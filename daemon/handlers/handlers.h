// One function per endpoint; each reads a Request and fills a Response, and
// throws api::ApiError for anything the client got wrong.
#pragma once

#include <Poco/JSON/Object.h>

#include "daemon/http_server.h"

namespace execd::daemon::handlers {

void post_job(ServerContext& ctx, const Request& req, Response& res);
void post_jobs_batch(ServerContext& ctx, const Request& req, Response& res);
void get_job(ServerContext& ctx, const Request& req, Response& res, const std::string& id);
void get_jobs(ServerContext& ctx, const Request& req, Response& res);
void delete_job(ServerContext& ctx, const Request& req, Response& res, const std::string& id);
void get_languages(ServerContext& ctx, const Request& req, Response& res);
void healthz(ServerContext& ctx, const Request& req, Response& res);
void readyz(ServerContext& ctx, const Request& req, Response& res);
void metrics(ServerContext& ctx, const Request& req, Response& res);
void version(ServerContext& ctx, const Request& req, Response& res);
void get_openapi(ServerContext& ctx, const Request& req, Response& res);

// The ?wait= parameter in milliseconds, capped at the operator's
// max_wait_ms; 0 when absent. Throws ApiError (400, field "wait").
int64_t wait_ms_param(const ServerContext& ctx, const Request& req);

// What GET /v1/jobs/{id} answers for `job`: its result document once it
// ended, else pending_job_json; then requestId, and the job's metadata, as
// sent, last.
std::string job_document(const StoredJob& job);

// The document of a job that has not finished: its status and, for a
// running graded job, testsDone/testsTotal.
Poco::JSON::Object::Ptr pending_job_json(const StoredJob& job);

// Whether `caller` may see and cancel `job`: its own, or any for an admin.
// Another's job is answered exactly like a missing one (404), so ids of other
// callers' jobs cannot even be confirmed.
bool visible_to(const Caller& caller, const StoredJob& job);

// The cancel restriction for `caller`.
OwnerCheck owner_check(const Caller& caller);

// Throws the API's error for a submission the store did not queue: 429
// queue_full (the count or the bytes), 507 insufficient_storage (Redis is at
// its maxmemory). `jobs` is how many were refused; counted in metrics.
void throw_unless_queued(ServerContext& ctx, const Request& req, JobStore::SubmitOutcome outcome, size_t jobs);

// Throws 413 when `bytes` of stored requests could never fit queue_max_bytes.
void check_fits_queue(const Request& req, size_t bytes);

// 32 lowercase hex digits: 128 random bits (random_hex). Throws SystemFailure.
std::string new_job_id();
bool is_job_id(const std::string& text);

}  // namespace execd::daemon::handlers
