#include "daemon/logging.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "core/util/utf8.h"

namespace execd::daemon {
namespace {

struct Context {
    std::string request, job;
    const AccessEntry* access = nullptr;  // set while log_access writes its line
};
thread_local Context context;

std::mutex node_mutex;
std::string node_name;

std::string current_node() {
    std::lock_guard lock(node_mutex);
    return node_name;
}

// "(request R, job J)" after a text line written in a scope.
class ContextFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
        if (context.request.empty() && context.job.empty()) return;
        std::string text = " (";
        if (!context.request.empty()) text += "request " + context.request;
        if (!context.job.empty()) text += std::string(context.request.empty() ? "" : ", ") + "job " + context.job;
        text += ")";
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<ContextFlag>(); }
};

void field(std::string& out, const char* name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":\"";
    out += json_escape(value);
    out += '"';
}

const char* level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace: return "trace";
        case spdlog::level::debug: return "debug";
        case spdlog::level::info: return "info";
        case spdlog::level::warn: return "warning";
        case spdlog::level::err: return "error";
        case spdlog::level::critical: return "critical";
        default: return "info";
    }
}

class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        using namespace std::chrono;
        const auto since = msg.time.time_since_epoch();
        const std::time_t seconds = duration_cast<std::chrono::seconds>(since).count();
        const auto millis = duration_cast<milliseconds>(since).count() % 1000;
        std::tm utc{};
        ::gmtime_r(&seconds, &utc);
        char time[96];
        std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                      utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
        std::string out = "{\"time\":\"";
        out += time;
        out += "\",\"level\":\"";
        out += level_name(msg.level);
        out += '"';
        field(out, "message", std::string_view(msg.payload.data(), msg.payload.size()));
        if (const std::string node = current_node(); !node.empty()) field(out, "node", node);
        if (!context.request.empty()) field(out, "requestId", context.request);
        if (!context.job.empty()) field(out, "jobId", context.job);
        if (const AccessEntry* a = context.access) {
            field(out, "method", a->method);
            field(out, "target", a->target);
            char numbers[128];
            std::snprintf(numbers, sizeof numbers, ",\"status\":%d,\"bytes\":%lld,\"durationMs\":%.3f", a->status,
                          static_cast<long long>(a->bytes), a->ms);
            out += numbers;
            field(out, "peer", a->peer);
        }
        out += "}\n";
        dest.append(out.data(), out.data() + out.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

void setup_logging(LogFormat format, const std::string& node) {
    set_log_node(node);
    // Made the default once; later calls (SIGHUP) only swap its formatter,
    // which its sinks do under their own lock.
    auto logger = spdlog::get("execd");
    const bool made = !logger;
    if (made) logger = spdlog::stderr_color_mt("execd");
    if (format == LogFormat::Json) {
        logger->set_formatter(std::make_unique<JsonFormatter>());
    } else {
        auto text = std::make_unique<spdlog::pattern_formatter>();
        text->add_flag<ContextFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v%*");
        logger->set_formatter(std::move(text));
    }
    if (made) spdlog::set_default_logger(logger);
}

void set_log_node(const std::string& node) {
    std::lock_guard lock(node_mutex);
    node_name = node;
}

LogScope::LogScope(std::string_view request_id, std::string_view job_id)
    : request_(std::move(context.request)), job_(std::move(context.job)) {
    context.request = request_id;
    context.job = job_id;
}

LogScope::~LogScope() {
    context.request = std::move(request_);
    context.job = std::move(job_);
}

void set_log_job(std::string_view job_id) { context.job = job_id; }

void log_access(const AccessEntry& entry) {
    context.access = &entry;
    // What a client sent is escaped: no control byte reaches a text line.
    spdlog::info("{} {} {} {} {:.1f} ms {}", json_escape(entry.method), json_escape(entry.target), entry.status,
                 entry.bytes, entry.ms, entry.peer);
    context.access = nullptr;
}

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_sequence(text, i, cp);
        if (n == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp < 0x20 || cp == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\u%04x", cp);
            out += hex;
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

}  // namespace execd::daemon
