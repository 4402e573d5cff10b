// GET /metrics: Prometheus text format.
#include "daemon/handlers/handlers.h"

namespace execd::daemon::handlers {

void metrics(ServerContext& ctx, const Request&, Response& res) {
    std::string out;
    auto line = [&out](const std::string& text) { out += text + "\n"; };
    line("# HELP execd_jobs_total Finished jobs by status and by verdict, over every node sharing this Redis.");
    line("# TYPE execd_jobs_total counter");
    for (const auto& [name, count] : ctx.store.counters()) {
        const auto colon = name.find(':');
        if (colon == std::string::npos) continue;
        line("execd_jobs_total{" + name.substr(0, colon) + "=\"" + name.substr(colon + 1) + "\"} " +
             std::to_string(count));
    }
    line("# HELP execd_queue_depth Jobs waiting in the queue.");
    line("# TYPE execd_queue_depth gauge");
    line("execd_queue_depth " + std::to_string(ctx.store.queue_depth()));
    line("# HELP execd_jobs_running Jobs holding a lease, over every node.");
    line("# TYPE execd_jobs_running gauge");
    line("execd_jobs_running " + std::to_string(ctx.store.running_count()));
    line("# HELP execd_submitted_total Jobs accepted by this node's API.");
    line("# TYPE execd_submitted_total counter");
    line("execd_submitted_total " + std::to_string(ctx.metrics.submitted.load()));
    line("# HELP execd_rejected_total Submissions refused because the queue was full.");
    line("# TYPE execd_rejected_total counter");
    line("execd_rejected_total " + std::to_string(ctx.metrics.rejected.load()));
    line("# HELP execd_http_requests_total HTTP requests served by this node.");
    line("# TYPE execd_http_requests_total counter");
    line("execd_http_requests_total " + std::to_string(ctx.metrics.http_requests.load()));
    line("# HELP execd_compile_steps_total Compiler runs on this node.");
    line("# TYPE execd_compile_steps_total counter");
    line("execd_compile_steps_total " + std::to_string(ctx.metrics.compile_steps.load()));
    line("# HELP execd_compile_cache_hits_total Jobs on this node whose program came from the compile cache.");
    line("# TYPE execd_compile_cache_hits_total counter");
    line("execd_compile_cache_hits_total " + std::to_string(ctx.metrics.compile_cache_hits.load()));
    line("# HELP execd_tests_total Test cases finished on this node.");
    line("# TYPE execd_tests_total counter");
    line("execd_tests_total " + std::to_string(ctx.metrics.tests_run.load()));
    if (ctx.workers_total) {
        line("# HELP execd_workers Worker threads on this node.");
        line("# TYPE execd_workers gauge");
        line("execd_workers " + std::to_string(ctx.workers_total()));
        line("# HELP execd_workers_busy Worker threads running a job on this node.");
        line("# TYPE execd_workers_busy gauge");
        line("execd_workers_busy " + std::to_string(ctx.workers_busy()));
    }
    line("# HELP execd_job_run_seconds Time a job spent in the sandbox on this node.");
    line("# TYPE execd_job_run_seconds histogram");
    ctx.metrics.run_seconds.render("execd_job_run_seconds", "", out);
    res.content_type = "text/plain; version=0.0.4";
    res.body = std::move(out);
}

}  // namespace execd::daemon::handlers
