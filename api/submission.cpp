#include "api/submission.h"

#include <Poco/JSON/Array.h>

#include <cstdio>
#include <limits>
#include <optional>
#include <set>

#include "api/api_error.h"
#include "api/raw_json.h"
#include "core/checker.h"
#include "core/util/files.h"
#include "core/util/utf8.h"

namespace execd::api {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Object;

// For messages: control bytes (NUL above all) shown as \xNN.
std::string printable(const std::string& text) {
    std::string out;
    for (unsigned char c : sanitize_utf8(text)) {
        if (c < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

[[noreturn]] void bad(const std::string& field, const std::string& message) {
    throw ApiError(400, "invalid_field", message, field);
}

std::string want_string(const Var& v, const std::string& field) {
    if (!v.isString()) bad(field, "'" + field + "' must be a string");
    return v.extract<std::string>();
}

int64_t want_integer(const Var& v, const std::string& field) {
    if (!v.isInteger() || v.isBoolean()) bad(field, "'" + field + "' must be an integer");
    try {
        return v.convert<int64_t>();
    } catch (const Poco::Exception&) {
        bad(field, "'" + field + "' is out of range");
    }
}

std::string decode(const std::string& text, Encoding e, const std::string& field) {
    auto bytes = decode_bytes(text, e);
    if (!bytes) bad(field, "'" + field + "' is not valid base64");
    return *bytes;
}

std::optional<int64_t> limit(const Object& o, const char* field, int64_t maximum, int64_t minimum = 1) {
    if (!o.has(field)) return std::nullopt;
    int64_t v = want_integer(o.get(field), field);
    if (v < minimum) bad(field, std::string("'") + field + "' must be at least " + std::to_string(minimum));
    if (v > maximum)
        bad(field,
            std::string("'") + field + "' must be at most " + std::to_string(maximum) + " (the operator's maximum)");
    return v;
}

const Poco::JSON::Array& want_array(const Var& v, const std::string& field, const std::string& of) {
    if (v.type() != typeid(Poco::JSON::Array::Ptr)) bad(field, "'" + field + "' must be an array of " + of);
    return *v.extract<Poco::JSON::Array::Ptr>();
}

const Object& want_object(const Var& v, const std::string& field, const std::string& what) {
    if (v.type() != typeid(Object::Ptr)) bad(field, "'" + field + "' must be an object " + what);
    return *v.extract<Object::Ptr>();
}

void reject_unknown(const Object& o, const std::set<std::string>& known, const std::string& where) {
    for (const auto& name : o.getNames())
        if (!known.count(name)) {
            const std::string field = where.empty() ? name : where + "." + name;
            bad(field, "unknown field '" + printable(name) + "'" + (where.empty() ? "" : " in " + where));
        }
}

std::vector<SourceFile> parse_files(const Var& v, const std::string& field, const Language& lang, Encoding encoding,
                                    const Maxima& max, int64_t& total) {
    const auto& arr = want_array(v, field, "{name, content} objects");
    if (arr.size() == 0) bad(field, "'" + field + "' must not be empty");
    if (static_cast<int64_t>(arr.size()) > max.files)
        bad(field, "'" + field + "' may hold at most " + std::to_string(max.files) + " entries");
    std::vector<SourceFile> files;
    std::set<std::string> names;
    bool has_entry = false;
    for (size_t i = 0; i < arr.size(); ++i) {
        const std::string where = field + "[" + std::to_string(i) + "]";
        const Object& f = want_object(arr.get(static_cast<unsigned>(i)), where, "with name and content");
        reject_unknown(f, {"name", "content"}, where);
        if (!f.has("name") || !f.has("content")) bad(where, "'" + where + "' needs name and content");
        SourceFile sf;
        sf.name = want_string(f.get("name"), where + ".name");
        if (!is_submitted_file_name(sf.name))
            bad(where + ".name", "file name '" + printable(sf.name) +
                                     "' is not allowed (one directory level at most; no '..', '\\', NUL, "
                                     "or a leading '-' or '@')");
        if (!names.insert(sf.name).second) bad(where + ".name", "file name '" + sf.name + "' appears twice");
        sf.content = decode(want_string(f.get("content"), where + ".content"), encoding, where + ".content");
        total += static_cast<int64_t>(sf.content.size());
        if (sf.name == lang.source) has_entry = true;
        files.push_back(std::move(sf));
    }
    // A file and a directory of the same name cannot both exist in /box.
    for (const auto& f : files) {
        const auto slash = f.name.find('/');
        if (slash != std::string::npos && names.count(f.name.substr(0, slash)))
            bad(field, "'" + f.name.substr(0, slash) + "' is both a file and a directory");
    }
    if (!has_entry) bad(field, "one file must be named '" + lang.source + "', the entry point for " + lang.id);
    return files;
}

std::optional<int64_t> bounded(const Object& o, const char* key, const std::string& field, int64_t maximum) {
    if (!o.has(key)) return std::nullopt;
    int64_t v = want_integer(o.get(key), field);
    if (v < 1) bad(field, "'" + field + "' must be at least 1");
    if (v > maximum)
        bad(field, "'" + field + "' must be at most " + std::to_string(maximum) + " (the operator's maximum)");
    return v;
}

double want_tolerance(const Var& v, const std::string& field) {
    if (!v.isNumeric() || v.isBoolean()) bad(field, "'" + field + "' must be a number");
    double d = v.convert<double>();
    if (!(d >= 0) || d > 1e300) bad(field, "'" + field + "' must be a non-negative finite number");
    return d;
}

CheckerSpec parse_checker(const Var& v, const Registry& registry, Encoding encoding, const Maxima& max) {
    const Object& c = want_object(v, "checker", "such as {\"type\": \"tokens\"}");
    reject_unknown(c, {"type", "absTolerance", "relTolerance", "language", "code", "files", "timeoutMs", "memoryMb"},
                   "checker");
    CheckerSpec spec;
    if (!c.has("type")) bad("checker.type", "'checker.type' is required");
    const std::string type = want_string(c.get("type"), "checker.type");
    auto kind = checker_kind_from_name(type);
    if (!kind)
        bad("checker.type",
            "'checker.type' must be one of exact, lines, tokens, float, program (not '" + printable(type) + "')");
    spec.kind = *kind;
    const bool tolerant = spec.kind == CheckerKind::Float, program = spec.kind == CheckerKind::Program;
    for (const char* k : {"absTolerance", "relTolerance"})
        if (c.has(k) && !tolerant) bad(std::string("checker.") + k, std::string("'") + k + "' is only for type float");
    for (const char* k : {"language", "code", "files", "timeoutMs", "memoryMb"})
        if (c.has(k) && !program) bad(std::string("checker.") + k, std::string("'") + k + "' is only for type program");
    if (c.has("absTolerance")) spec.abs_tolerance = want_tolerance(c.get("absTolerance"), "checker.absTolerance");
    if (c.has("relTolerance")) spec.rel_tolerance = want_tolerance(c.get("relTolerance"), "checker.relTolerance");
    if (program) {
        if (!c.has("language")) bad("checker.language", "a program checker needs 'language'");
        const std::string language = want_string(c.get("language"), "checker.language");
        const Language* lang = registry.find(language);
        if (!lang) bad("checker.language", "unknown checker language '" + printable(language) + "'");
        if (!lang->usable()) bad("checker.language", "language '" + lang->id + "' is not installed on this host");
        spec.language = lang->id;
        if (c.has("code") == c.has("files"))
            bad("checker.code", "a program checker needs exactly one of 'code' and 'files'");
        int64_t total = 0;
        if (c.has("code")) {
            spec.code = decode(want_string(c.get("code"), "checker.code"), encoding, "checker.code");
            total = static_cast<int64_t>(spec.code.size());
        } else {
            spec.files = parse_files(c.get("files"), "checker.files", *lang, encoding, max, total);
            for (const auto& f : spec.files)
                if (is_checker_data_file(f.name))
                    bad("checker.files", "'" + f.name + "' is reserved for the data the checker is given");
        }
        if (total > max.code_bytes)
            bad("checker.code",
                "the checker is " + std::to_string(total) + " bytes; the maximum is " + std::to_string(max.code_bytes));
        spec.limits.time_ms = bounded(c, "timeoutMs", "checker.timeoutMs", max.time_ms);
        spec.limits.memory_mb = bounded(c, "memoryMb", "checker.memoryMb", max.memory_mb);
    }
    return spec;
}

std::vector<TestCase> parse_tests(const Var& v, Encoding encoding, const Maxima& max) {
    const auto& arr = want_array(v, "tests", "test objects");
    if (arr.size() == 0) bad("tests", "'tests' must not be empty");
    if (static_cast<int64_t>(arr.size()) > max.tests)
        bad("tests", "'tests' holds " + std::to_string(arr.size()) + " tests; the maximum is " +
                         std::to_string(max.tests) + " per job");
    std::vector<TestCase> tests;
    std::set<std::string> names;
    for (size_t i = 0; i < arr.size(); ++i) {
        const std::string where = "tests[" + std::to_string(i) + "]";
        const Object& t =
            want_object(arr.get(static_cast<unsigned>(i)), where, "such as {\"stdin\", \"expectedOutput\"}");
        reject_unknown(t, {"name", "stdin", "expectedOutput", "args", "timeoutMs", "memoryMb"}, where);
        TestCase tc;
        tc.name = t.has("name") ? want_string(t.get("name"), where + ".name") : std::to_string(i + 1);
        if (!is_valid_test_name(tc.name)) bad(where + ".name", kTestNameRule);
        if (!names.insert(tc.name).second) bad(where + ".name", "test name '" + tc.name + "' appears twice");
        if (t.has("stdin")) {
            tc.stdin_data = decode(want_string(t.get("stdin"), where + ".stdin"), encoding, where + ".stdin");
            if (static_cast<int64_t>(tc.stdin_data.size()) > max.stdin_bytes)
                bad(where + ".stdin", "'" + where + ".stdin' is larger than the maximum of " +
                                          std::to_string(max.stdin_bytes) + " bytes");
        }
        if (t.has("expectedOutput")) {
            tc.expected_output = decode(want_string(t.get("expectedOutput"), where + ".expectedOutput"), encoding,
                                        where + ".expectedOutput");
            if (static_cast<int64_t>(tc.expected_output->size()) > max.output_bytes)
                bad(where + ".expectedOutput", "'" + where + ".expectedOutput' is " +
                                                   std::to_string(tc.expected_output->size()) +
                                                   " bytes; the output maximum is " + std::to_string(max.output_bytes));
        }
        if (t.has("args")) {
            const auto& args = want_array(t.get("args"), where + ".args", "strings");
            if (static_cast<int64_t>(args.size()) > max.args)
                bad(where + ".args", "'" + where + ".args' may hold at most " + std::to_string(max.args) + " entries");
            for (size_t k = 0; k < args.size(); ++k) {
                std::string a = want_string(args.get(static_cast<unsigned>(k)), where + ".args");
                if (a.find('\0') != std::string::npos) bad(where + ".args", "arguments may not contain NUL");
                tc.args.push_back(std::move(a));
            }
        }
        tc.time_ms = bounded(t, "timeoutMs", where + ".timeoutMs", max.time_ms);
        tc.memory_mb = bounded(t, "memoryMb", where + ".memoryMb", max.memory_mb);
        tests.push_back(std::move(tc));
    }
    return tests;
}

}  // namespace

Submission parse_submission(const Object& o, const Registry& registry, const Maxima& max) {
    reject_unknown(o,
                   {"language", "code", "files", "stdin", "args", "priority", "timeoutMs", "cpuMs", "memoryMb", "pids",
                    "outputBytes", "encoding", "metadata", "tests", "checker", "stopOnFailure"},
                   "");

    Submission s;
    if (o.has("encoding")) {
        std::string e = want_string(o.get("encoding"), "encoding");
        if (e == "base64")
            s.encoding = Encoding::Base64;
        else if (e != "utf8" && e != "utf-8")
            bad("encoding", "'encoding' must be \"utf8\" or \"base64\"");
    }
    if (!o.has("language")) bad("language", "'language' is required");
    const std::string language = want_string(o.get("language"), "language");
    const Language* lang = registry.find(language);
    if (!lang) bad("language", "unknown language '" + language + "' (see GET /v1/languages)");
    if (!lang->usable()) bad("language", "language '" + lang->id + "' is not installed on this host");
    s.request.language = lang->id;

    const bool has_code = o.has("code"), has_files = o.has("files");
    if (has_code == has_files) bad(has_code ? "files" : "code", "give exactly one of 'code' and 'files'");
    int64_t total = 0;
    if (has_code) {
        s.request.code = decode(want_string(o.get("code"), "code"), s.encoding, "code");
        total = static_cast<int64_t>(s.request.code.size());
    } else {
        s.request.files = parse_files(o.get("files"), "files", *lang, s.encoding, max, total);
    }
    if (total > max.code_bytes)
        bad(has_code ? "code" : "files",
            "the code is " + std::to_string(total) + " bytes; the maximum is " + std::to_string(max.code_bytes));
    if (o.has("stdin")) {
        s.request.stdin_data = decode(want_string(o.get("stdin"), "stdin"), s.encoding, "stdin");
        if (static_cast<int64_t>(s.request.stdin_data.size()) > max.stdin_bytes)
            bad("stdin", "'stdin' is larger than the maximum of " + std::to_string(max.stdin_bytes) + " bytes");
    }
    if (o.has("args")) {
        Var args = o.get("args");
        if (args.type() != typeid(Poco::JSON::Array::Ptr)) bad("args", "'args' must be an array of strings");
        const auto& arr = *args.extract<Poco::JSON::Array::Ptr>();
        if (static_cast<int64_t>(arr.size()) > max.args)
            bad("args", "'args' may hold at most " + std::to_string(max.args) + " entries");
        for (size_t i = 0; i < arr.size(); ++i) {
            std::string a = want_string(arr.get(static_cast<unsigned>(i)), "args");
            if (a.find('\0') != std::string::npos) bad("args", "arguments may not contain NUL");
            s.request.args.push_back(std::move(a));
        }
    }
    if (o.has("priority")) {
        int64_t p = want_integer(o.get("priority"), "priority");
        if (p < 0 || p > 1000) bad("priority", "'priority' must be between 0 and 1000 (lower runs first)");
        s.priority = static_cast<int>(p);
    }
    s.request.limits.time_ms = limit(o, "timeoutMs", max.time_ms);
    s.request.limits.cpu_ms = limit(o, "cpuMs", max.cpu_ms);
    s.request.limits.memory_mb = limit(o, "memoryMb", max.memory_mb);
    s.request.limits.pids = limit(o, "pids", max.pids);
    s.request.limits.output_bytes = limit(o, "outputBytes", max.output_bytes);
    if (o.has("tests")) {
        if (o.has("stdin")) bad("stdin", "with 'tests', stdin is given per test (tests[i].stdin)");
        s.request.tests = parse_tests(o.get("tests"), s.encoding, max);
        s.request.max_output_bytes = max.output_bytes;
    }
    if (o.has("checker")) {
        if (!o.has("tests")) bad("checker", "'checker' needs 'tests' to check");
        s.request.checker = parse_checker(o.get("checker"), registry, s.encoding, max);
    }
    if (o.has("stopOnFailure")) {
        if (!o.get("stopOnFailure").isBoolean()) bad("stopOnFailure", "'stopOnFailure' must be true or false");
        if (!o.has("tests")) bad("stopOnFailure", "'stopOnFailure' needs 'tests'");
        s.request.stop_on_failure = o.get("stopOnFailure").extract<bool>();
    }
    if (!s.request.tests.empty()) {
        // The longest a graded job may hold a worker: every test, and its
        // checker, running to its wall-clock limit.
        const int64_t each = s.request.limits.time_ms.value_or(lang->limits.time_ms.value_or(Limits{}.time_ms));
        int64_t checker_each = 0;
        if (s.request.checker.kind == CheckerKind::Program) {
            const Language* checker = registry.find(s.request.checker.language);
            checker_each =
                s.request.checker.limits.time_ms.value_or(checker->limits.time_ms.value_or(Limits{}.time_ms));
        }
        int64_t wall = 0;
        for (const auto& t : s.request.tests) wall += t.time_ms.value_or(each) + checker_each;
        if (wall > max.job_time_ms)
            bad("tests", "the tests may run for " + std::to_string(wall) +
                             " ms in all (each to its time limit); the maximum is " + std::to_string(max.job_time_ms) +
                             " ms per job");
    }
    // Kept as the client wrote it: attach_metadata, from the text.
    if (o.has("metadata") && o.get("metadata").type() != typeid(Object::Ptr))
        bad("metadata", "'metadata' must be an object");
    return s;
}

void attach_metadata(Submission& sub, std::string_view object_text) {
    sub.metadata_json.clear();
    const auto raw = raw_member(object_text, "metadata");
    if (!raw) return;
    if (raw->size() > kMaxMetadataBytes)
        throw ApiError(400, "invalid_field",
                       "'metadata' is " + std::to_string(raw->size()) + " bytes as sent; the maximum is " +
                           std::to_string(kMaxMetadataBytes),
                       "metadata");
    if (!is_valid_utf8(*raw)) throw ApiError(400, "invalid_field", "'metadata' is not valid UTF-8", "metadata");
    sub.metadata_json = std::string(*raw);
}

Submission parse_submission_body(const std::string& body, const Registry& registry, const Maxima& maxima) {
    const Var root = parse_json_body(body);
    if (root.type() != typeid(Object::Ptr)) throw ApiError(400, "invalid_json", "the body must be a JSON object");
    Submission s = parse_submission(*root.extract<Object::Ptr>(), registry, maxima);
    attach_metadata(s, body);
    return s;
}

Maxima Maxima::unlimited() noexcept {
    constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
    return Maxima{kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone};
}

// ------------------------------------------------------------- writing

Object::Ptr submission_json(const JobRequest& r, Encoding e, int priority) {
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    auto enc = [&](const std::string& text) { return encode_bytes(text, e); };
    auto files_json = [&](const std::vector<SourceFile>& files) {
        Poco::JSON::Array::Ptr arr = new Poco::JSON::Array;
        for (const auto& f : files) {
            Object::Ptr fo = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
            fo->set("name", f.name);
            fo->set("content", enc(f.content));
            arr->add(fo);
        }
        return arr;
    };
    auto strings = [](const std::vector<std::string>& items) {
        Poco::JSON::Array::Ptr arr = new Poco::JSON::Array;
        for (const auto& a : items) arr->add(a);
        return arr;
    };
    o->set("language", r.language);
    if (r.files.empty())
        o->set("code", enc(r.code));
    else
        o->set("files", files_json(r.files));
    if (!r.stdin_data.empty()) o->set("stdin", enc(r.stdin_data));
    if (!r.args.empty()) o->set("args", strings(r.args));
    auto put = [&](Object& target, const char* k, const std::optional<int64_t>& v) {
        if (v) target.set(k, *v);
    };
    put(*o, "timeoutMs", r.limits.time_ms);
    put(*o, "cpuMs", r.limits.cpu_ms);
    put(*o, "memoryMb", r.limits.memory_mb);
    put(*o, "pids", r.limits.pids);
    put(*o, "outputBytes", r.limits.output_bytes);
    if (priority != kDefaultPriority) o->set("priority", priority);
    if (!r.tests.empty()) {
        Poco::JSON::Array::Ptr tests = new Poco::JSON::Array;
        for (const auto& t : r.tests) {
            Object::Ptr to = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
            to->set("name", t.name);
            if (!t.stdin_data.empty()) to->set("stdin", enc(t.stdin_data));
            if (t.expected_output) to->set("expectedOutput", enc(*t.expected_output));
            if (!t.args.empty()) to->set("args", strings(t.args));
            put(*to, "timeoutMs", t.time_ms);
            put(*to, "memoryMb", t.memory_mb);
            tests->add(to);
        }
        o->set("tests", tests);
        if (r.stop_on_failure) o->set("stopOnFailure", true);
        const CheckerSpec& c = r.checker;
        Object::Ptr co = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        co->set("type", std::string(checker_kind_name(c.kind)));
        if (c.kind == CheckerKind::Float) {
            co->set("absTolerance", c.abs_tolerance);
            co->set("relTolerance", c.rel_tolerance);
        }
        if (c.kind == CheckerKind::Program) {
            co->set("language", c.language);
            if (c.files.empty())
                co->set("code", enc(c.code));
            else
                co->set("files", files_json(c.files));
            put(*co, "timeoutMs", c.limits.time_ms);
            put(*co, "memoryMb", c.limits.memory_mb);
        }
        o->set("checker", co);
    }
    if (e == Encoding::Base64) o->set("encoding", std::string("base64"));
    return o;
}

std::string submission_body(const JobRequest& request, Encoding encoding) {
    return stringify(submission_json(request, encoding));
}

}  // namespace execd::api
