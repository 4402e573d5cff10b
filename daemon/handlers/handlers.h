// One function per endpoint; each reads a Request and fills a Response, and
// throws api::ApiError for anything the client got wrong.
#pragma once

#include <Poco/JSON/Object.h>

#include "http_server.h"

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

// The ?wait= parameter in milliseconds, capped at the operator's
// max_wait_ms; 0 when absent. Throws ApiError (400, field "wait").
int64_t wait_ms_param(const ServerContext& ctx, const Request& req);

// The document of a job that has not finished: its status and, for a
// running graded job, testsDone/testsTotal.
Poco::JSON::Object::Ptr pending_job_json(const StoredJob& job);

// 32 lowercase hex digits: 128 random bits.
std::string new_job_id();
bool is_job_id(const std::string& text);

}  // namespace execd::daemon::handlers
