// GET /metrics: Prometheus text format (version 0.0.4). Names follow
// Prometheus's conventions: counters end in _total, durations are seconds,
// sizes bytes. execd_* describes this node; execd_cluster_* is read from
// Redis and so is the same on every node sharing it (aggregate those with
// max, not sum); process_* are the usual process figures.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/version.h"
#include "daemon/handlers/handlers.h"

namespace execd::daemon::handlers {
namespace {

class Writer {
public:
    // The HELP and TYPE lines of a metric.
    void family(const std::string& name, const char* type, const std::string& help) {
        out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& name, const std::string& labels, double value) {
        char number[64];
        std::snprintf(number, sizeof number, "%.17g", value);
        out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + number + "\n";
    }
    void counter(const std::string& name, const std::string& help, uint64_t value) {
        family(name, "counter", help);
        sample(name, "", static_cast<double>(value));
    }
    void gauge(const std::string& name, const std::string& help, double value) {
        family(name, "gauge", help);
        sample(name, "", value);
    }
    void labelled(const std::string& name, const std::string& help,
                  const std::vector<std::pair<std::string, uint64_t>>& values) {
        family(name, "counter", help);
        for (const auto& [labels, value] : values) sample(name, labels, static_cast<double>(value));
    }
    std::string& text() { return out_; }

private:
    std::string out_;
};

int64_t open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return -1;
    int64_t n = 0;
    while (const dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.') ++n;
    ::closedir(dir);
    return n - 1;  // the directory's own descriptor
}

// Resident set and start time from /proc/self/stat (fields 24 and 22).
struct ProcStat {
    double rss_bytes = 0;
    double start_seconds = 0;  // since the epoch
};

ProcStat proc_stat() {
    ProcStat s;
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name may hold blanks and parentheses: fields count from the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long start_ticks = 0, rss_pages = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 22) start_ticks = std::stoull(field);
        if (i == 24) {
            rss_pages = std::stoull(field);
            break;
        }
    }
    s.rss_bytes = static_cast<double>(rss_pages) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    std::ifstream proc_stat_file("/proc/stat");
    std::string key;
    unsigned long long boot = 0;
    while (proc_stat_file >> key) {
        if (key == "btime") {
            proc_stat_file >> boot;
            break;
        }
        proc_stat_file.ignore(1 << 20, '\n');
    }
    s.start_seconds = static_cast<double>(boot) + static_cast<double>(start_ticks) / ::sysconf(_SC_CLK_TCK);
    return s;
}

}  // namespace

void metrics(ServerContext& ctx, const Request&, Response& res) {
    Writer w;
    const Metrics& m = ctx.metrics;

    w.family("execd_build_info", "gauge", "The version this node was built from (always 1).");
    w.sample("execd_build_info", label("version", kVersion), 1);

    w.labelled("execd_http_requests_total", "HTTP responses this node's API sent, by request method and status code.",
               m.http_requests.values());
    w.counter("execd_http_connections_refused_total",
              "Connections this node refused at once because max_connections were being served.",
              m.connections_refused.load());
    w.counter("execd_jobs_submitted_total", "Jobs this node's API accepted.", m.submitted.load());
    w.counter("execd_jobs_rejected_total",
              "Jobs this node's API refused because the queue or Redis was full (429 queue_full, 507).",
              m.rejected.load());
    w.labelled("execd_jobs_total", "Jobs this node's workers finished, by the status they recorded.", m.jobs.values());
    w.labelled("execd_job_verdicts_total", "Verdicts this node's workers recorded.", m.verdicts.values());
    w.counter("execd_compile_steps_total", "Compiler runs on this node.", m.compile_steps.load());
    w.counter("execd_compile_cache_hits_total", "Jobs on this node whose program came from the compile cache.",
              m.compile_cache_hits.load());
    w.counter("execd_tests_total", "Test cases finished on this node.", m.tests_run.load());
    if (ctx.workers_total) {
        w.gauge("execd_workers", "Worker threads on this node.", ctx.workers_total());
        w.gauge("execd_workers_busy", "Worker threads running a job on this node.", ctx.workers_busy());
    }
    w.family("execd_job_queue_wait_seconds", "histogram",
             "Time from a job's submission to its first start, for the jobs this node's workers took.");
    m.queue_wait_seconds.render("execd_job_queue_wait_seconds", "", w.text());
    w.family("execd_job_run_seconds", "histogram", "Time a job spent in the sandbox on this node.");
    m.run_seconds.render("execd_job_run_seconds", "", w.text());

    // Every node sharing the Redis reads the same figures; without Redis
    // they are left out, and this node's own are still served.
    std::vector<std::pair<std::string, uint64_t>> statuses, verdicts;
    std::vector<std::pair<std::string, int64_t>> counters;
    int64_t depth = 0, running = 0;
    bool redis_up = true;
    try {
        counters = ctx.store.counters();
        depth = ctx.store.queue_depth();
        running = ctx.store.running_count();
    } catch (const RedisUnavailable&) {
        redis_up = false;
    }
    w.gauge("execd_redis_up", "Whether this node could read Redis for this scrape (1) or not (0).", redis_up ? 1 : 0);
    for (const auto& [name, count] : counters) {
        const auto colon = name.find(':');
        if (colon == std::string::npos || count < 0) continue;
        const std::string kind = name.substr(0, colon), value = name.substr(colon + 1);
        if (kind == "status") statuses.emplace_back(label("status", value), static_cast<uint64_t>(count));
        if (kind == "verdict") verdicts.emplace_back(label("verdict", value), static_cast<uint64_t>(count));
    }
    if (redis_up) {
        w.labelled("execd_cluster_jobs_total",
                   "Finished jobs by final status, over every node sharing this Redis (the same on every node).",
                   statuses);
        w.labelled("execd_cluster_job_verdicts_total",
                   "Verdicts recorded, over every node sharing this Redis (the same on every node).", verdicts);
        w.gauge("execd_cluster_queue_depth", "Jobs waiting in the queue (the same on every node).",
                static_cast<double>(depth));
        w.gauge("execd_cluster_jobs_running", "Jobs holding a lease, over every node (the same on every node).",
                static_cast<double>(running));
    }

    const ProcStat ps = proc_stat();
    w.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", ps.rss_bytes);
    w.gauge("process_open_fds", "Number of open file descriptors.", static_cast<double>(open_fds()));
    rlimit fd_limit{};
    if (::getrlimit(RLIMIT_NOFILE, &fd_limit) == 0)
        w.gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(fd_limit.rlim_cur));
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    w.sample("process_cpu_seconds_total", "",
             static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
    w.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", ps.start_seconds);

    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = std::move(w.text());
}

}  // namespace execd::daemon::handlers
