#include "api/stored_request.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <stdexcept>

#include "core/checker.h"
#include "core/util/base64.h"

namespace execd::api {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Object;

Submission legacy_stored_request(const Object& o);

}  // namespace

std::string stored_request_json(const Submission& s) {
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("body", submission_json(s.request, Encoding::Base64, s.priority));
    o->set("resultEncoding", std::string(s.encoding == Encoding::Base64 ? "base64" : "utf8"));
    o->set("maxOutputBytes", s.request.max_output_bytes);
    return stringify(o);
}

Submission parse_stored_request(const std::string& json, const Registry& registry) {
    try {
        Poco::JSON::Parser parser;
        const Var root = parser.parse(json);
        if (root.type() != typeid(Object::Ptr)) throw std::runtime_error("corrupt stored request: not an object");
        const Object& record = *root.extract<Object::Ptr>();
        if (!record.has("body")) return legacy_stored_request(record);
        const Object::Ptr body = record.getObject("body");
        if (!body) throw std::runtime_error("corrupt stored request: 'body' is not an object");
        Submission s = parse_submission(*body, registry, Maxima::unlimited());
        s.encoding = record.getValue<std::string>("resultEncoding") == "base64" ? Encoding::Base64 : Encoding::Utf8;
        s.request.max_output_bytes = record.getValue<int64_t>("maxOutputBytes");
        return s;
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("corrupt stored request: " + e.displayText());
    }
}

namespace {

// The record execd 0.1.0 wrote: a dialect of its own, with every byte string
// in base64, names and args too, and `timeMs` for the wire's `timeoutMs`.
// Still read, so jobs queued before an upgrade (a private Redis keeps its
// queue across restarts) still run; it can go once no queue written by 0.1.0
// can remain, queue_ttl_s (a day by default) after every node has upgraded.
// It is not checked again, as 0.1.0 did not either.
Submission legacy_stored_request(const Object& o) {
    auto b64 = [](const Var& v) {
        auto d = base64_decode(v.extract<std::string>());
        if (!d) throw std::runtime_error("bad base64 in a stored request");
        return *d;
    };
    Submission s;
    s.request.language = o.getValue<std::string>("language");
    s.request.code = b64(o.get("code"));
    const auto& files = *o.getArray("files");
    for (size_t i = 0; i < files.size(); ++i) {
        const auto& f = *files.getObject(static_cast<unsigned>(i));
        s.request.files.push_back(SourceFile{b64(f.get("name")), b64(f.get("content"))});
    }
    s.request.stdin_data = b64(o.get("stdin"));
    const auto& args = *o.getArray("args");
    for (size_t i = 0; i < args.size(); ++i) s.request.args.push_back(b64(args.get(static_cast<unsigned>(i))));
    auto get = [&](const char* k) -> std::optional<int64_t> {
        if (!o.has(k)) return std::nullopt;
        return o.getValue<int64_t>(k);
    };
    s.request.limits.time_ms = get("timeMs");
    s.request.limits.cpu_ms = get("cpuMs");
    s.request.limits.memory_mb = get("memoryMb");
    s.request.limits.pids = get("pids");
    s.request.limits.output_bytes = get("outputBytes");
    s.priority = o.getValue<int>("priority");
    s.encoding = o.getValue<std::string>("encoding") == "base64" ? Encoding::Base64 : Encoding::Utf8;
    if (o.has("tests")) {
        const auto& tests = *o.getArray("tests");
        for (size_t i = 0; i < tests.size(); ++i) {
            const auto& t = *tests.getObject(static_cast<unsigned>(i));
            TestCase tc;
            tc.name = b64(t.get("name"));
            tc.stdin_data = b64(t.get("stdin"));
            if (t.has("expectedOutput")) tc.expected_output = b64(t.get("expectedOutput"));
            const auto& targs = *t.getArray("args");
            for (size_t k = 0; k < targs.size(); ++k) tc.args.push_back(b64(targs.get(static_cast<unsigned>(k))));
            if (t.has("timeMs")) tc.time_ms = t.getValue<int64_t>("timeMs");
            if (t.has("memoryMb")) tc.memory_mb = t.getValue<int64_t>("memoryMb");
            s.request.tests.push_back(std::move(tc));
        }
        s.request.stop_on_failure = o.getValue<bool>("stopOnFailure");
        s.request.max_output_bytes = o.getValue<int64_t>("maxOutputBytes");
        const auto& c = *o.getObject("checker");
        auto kind = checker_kind_from_name(c.getValue<std::string>("type"));
        if (!kind) throw std::runtime_error("unknown checker type in a stored request");
        CheckerSpec& spec = s.request.checker;
        spec.kind = *kind;
        spec.abs_tolerance = c.getValue<double>("absTolerance");
        spec.rel_tolerance = c.getValue<double>("relTolerance");
        spec.language = c.getValue<std::string>("language");
        spec.code = b64(c.get("code"));
        const auto& cfiles = *c.getArray("files");
        for (size_t k = 0; k < cfiles.size(); ++k) {
            const auto& f = *cfiles.getObject(static_cast<unsigned>(k));
            spec.files.push_back(SourceFile{b64(f.get("name")), b64(f.get("content"))});
        }
        if (c.has("timeMs")) spec.limits.time_ms = c.getValue<int64_t>("timeMs");
        if (c.has("memoryMb")) spec.limits.memory_mb = c.getValue<int64_t>("memoryMb");
    }
    return s;
}

}  // namespace
}  // namespace execd::api
