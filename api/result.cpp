#include "api/result.h"

#include <Poco/JSON/Array.h>

#include <stdexcept>

namespace execd::api {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

void put_step(Object& o, const StepResult& s, Encoding e) {
    o.set("verdict", std::string(verdict_name(s.verdict)));
    o.set("stdout", encode_bytes(s.stdout_data, e));
    o.set("stderr", encode_bytes(s.stderr_data, e));
    if (s.exit_code)
        o.set("exitCode", *s.exit_code);
    else
        o.set("exitCode", Poco::Dynamic::Var());
    o.set("timeMs", s.time_ms);
    o.set("cpuMs", s.cpu_ms);
    o.set("memoryKb", s.memory_kb);
}

// Names and messages are always plain text, whatever the encoding.
std::string plain(std::string_view s) { return sanitize_utf8(s); }

}  // namespace

Object::Ptr completed_job_json(const JobResult& r, Encoding e) {
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("status", std::string("completed"));
    o->set("language", r.language);
    put_step(*o, r.run, e);
    // `output` is the seed's field: stdout with one trailing newline removed.
    std::string output = r.run.stdout_data;
    if (!output.empty() && output.back() == '\n') output.pop_back();
    o->set("output", encode_bytes(output, e));
    if (r.run.verdict != Verdict::OK) {
        std::string error(verdict_description(r.run.verdict));
        o->set("error", error);
        if (!r.run.message.empty()) o->set("message", plain(r.run.message));
    }
    if (r.compile) {
        Object::Ptr c = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        put_step(*c, *r.compile, e);
        o->set("compile", c);
        o->set("cached", r.cached);
    }
    if (!r.tests.empty()) {
        if (!r.failed_test.empty()) o->set("failedTest", plain(r.failed_test));
        int64_t passed = 0;
        Array::Ptr tests = new Array;
        for (const auto& t : r.tests) {
            Object::Ptr to = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
            to->set("name", plain(t.name));
            put_step(*to, t.result, e);
            if (!t.result.message.empty()) to->set("message", plain(t.result.message));
            if (t.output_truncated) to->set("outputTruncated", true);
            if (t.result.verdict == Verdict::OK) ++passed;
            tests->add(to);
        }
        o->set("testsPassed", passed);
        o->set("tests", tests);
    }
    if (e == Encoding::Base64) o->set("encoding", std::string("base64"));
    return o;
}

std::string expired_job_json(int64_t queue_ttl_s) {
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("status", std::string("cancelled"));
    o->set("reason", std::string("expired"));
    o->set("message", "the job waited in the queue for more than " + std::to_string(queue_ttl_s) +
                          " s (queue_ttl_s) and was not run; submit it again");
    return stringify(o);
}

namespace {

StepResult step_from_json(const Object& o, Encoding e) {
    auto text = [&](const char* k, Encoding how) -> std::string {
        if (!o.has(k) || o.get(k).isEmpty()) return {};
        auto bytes = decode_bytes(o.getValue<std::string>(k), how);
        if (!bytes) throw std::runtime_error(std::string("'") + k + "' is not valid base64");
        return *bytes;
    };
    StepResult r;
    auto verdict = verdict_from_name(o.getValue<std::string>("verdict"));
    if (!verdict) throw std::runtime_error("unknown verdict '" + o.getValue<std::string>("verdict") + "'");
    r.verdict = *verdict;
    r.stdout_data = text("stdout", e);
    r.stderr_data = text("stderr", e);
    if (o.has("exitCode") && !o.get("exitCode").isEmpty()) r.exit_code = o.getValue<int>("exitCode");
    if (o.has("timeMs")) r.time_ms = o.getValue<int64_t>("timeMs");
    if (o.has("cpuMs")) r.cpu_ms = o.getValue<int64_t>("cpuMs");
    if (o.has("memoryKb")) r.memory_kb = o.getValue<int64_t>("memoryKb");
    r.message = text("message", Encoding::Utf8);
    return r;
}

}  // namespace

JobResult job_result_from_json(const Object& job) {
    try {
        JobResult r;
        if (job.has("status") && job.getValue<std::string>("status") == "cancelled") {
            r.cancelled = true;
            if (job.has("message")) r.run.message = job.getValue<std::string>("message");
            return r;
        }
        const Encoding e = job.has("encoding") && job.getValue<std::string>("encoding") == "base64" ? Encoding::Base64
                                                                                                    : Encoding::Utf8;
        r.language = job.has("language") ? job.getValue<std::string>("language") : "";
        r.run = step_from_json(job, e);
        if (job.has("compile")) r.compile = step_from_json(*job.getObject("compile"), e);
        if (job.has("cached")) r.cached = job.getValue<bool>("cached");
        if (job.has("failedTest")) r.failed_test = job.getValue<std::string>("failedTest");
        if (job.has("tests")) {
            const auto& tests = *job.getArray("tests");
            for (size_t i = 0; i < tests.size(); ++i) {
                const auto& t = *tests.getObject(static_cast<unsigned>(i));
                TestResult tr;
                tr.name = t.getValue<std::string>("name");
                tr.result = step_from_json(t, e);
                tr.output_truncated = t.has("outputTruncated") && t.getValue<bool>("outputTruncated");
                r.tests.push_back(std::move(tr));
            }
        }
        return r;
    } catch (const Poco::Exception& ex) {
        throw std::runtime_error("the server's result is not in the expected shape: " + ex.displayText());
    }
}

namespace {

Poco::JSON::Object::Ptr limits_json(const Limits& l) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("timeMs", l.time_ms);
    o->set("cpuMs", l.cpu_ms);
    o->set("memoryMb", l.memory_mb);
    o->set("pids", l.pids);
    o->set("outputBytes", l.output_bytes);
    return o;
}

Poco::JSON::Array::Ptr texts_json(const std::vector<std::string>& texts) {
    Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
    for (const auto& t : texts) a->add(t);
    return a;
}

}  // namespace

Poco::JSON::Object::Ptr language_json(const Language& lang, const std::string& version) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("id", lang.id);
    o->set("name", lang.name);
    o->set("aliases", texts_json(lang.aliases));
    o->set("extensions", texts_json(lang.extensions));
    if (!lang.variant_of.empty()) o->set("variantOf", lang.variant_of);
    o->set("version", version);
    o->set("compiled", lang.compiled());
    o->set("usable", lang.usable());
    o->set("packages", texts_json(lang.packages));
    o->set("limits", limits_json(lang.limits.apply(Limits{})));
    if (lang.compiled()) o->set("compileLimits", limits_json(lang.compile_limits.apply(default_compile_limits())));
    return o;
}

}  // namespace execd::api
