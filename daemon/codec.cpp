#include "codec.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <set>
#include <sstream>

#include "api_error.h"
#include "checker.h"
#include "util/files.h"
#include "util/utf8.h"

namespace execd::api {

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        uint32_t cp = 0;
        if (const size_t len = utf8_sequence(s, i, cp)) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD, then resynchronise on the next byte
            i += 1;
        }
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
        out += kAlphabet[v >> 18];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i < bytes.size()) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
        if (i + 1 < bytes.size()) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
        out += kAlphabet[v >> 18];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

namespace {

std::string encode(std::string_view text, Encoding e) {
    return e == Encoding::Base64 ? base64_encode(text) : sanitize_utf8(text);
}

void put_step(Poco::JSON::Object& o, const StepResult& s, Encoding e) {
    o.set("verdict", std::string(verdict_name(s.verdict)));
    o.set("stdout", encode(s.stdout_data, e));
    o.set("stderr", encode(s.stderr_data, e));
    if (s.exit_code)
        o.set("exitCode", *s.exit_code);
    else
        o.set("exitCode", Poco::Dynamic::Var());
    o.set("timeMs", s.time_ms);
    o.set("cpuMs", s.cpu_ms);
    o.set("memoryKb", s.memory_kb);
}

}  // namespace

Poco::JSON::Object::Ptr completed_job_json(const JobResult& r, Encoding e) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("status", std::string("completed"));
    o->set("language", r.language);
    put_step(*o, r.run, e);
    // `output` is the seed's field: stdout with one trailing newline removed.
    std::string output = r.run.stdout_data;
    if (!output.empty() && output.back() == '\n') output.pop_back();
    o->set("output", encode(output, e));
    if (r.run.verdict != Verdict::OK) {
        std::string error(verdict_description(r.run.verdict));
        o->set("error", error);
        if (!r.run.message.empty()) o->set("message", encode(r.run.message, Encoding::Utf8));
    }
    if (r.compile) {
        Poco::JSON::Object::Ptr c = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        put_step(*c, *r.compile, e);
        o->set("compile", c);
        o->set("cached", r.cached);
    }
    if (!r.tests.empty()) {
        if (!r.failed_test.empty()) o->set("failedTest", encode(r.failed_test, Encoding::Utf8));
        int64_t passed = 0;
        Poco::JSON::Array::Ptr tests = new Poco::JSON::Array;
        for (const auto& t : r.tests) {
            Poco::JSON::Object::Ptr to = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
            to->set("name", encode(t.name, Encoding::Utf8));
            put_step(*to, t.result, e);
            if (!t.result.message.empty()) to->set("message", encode(t.result.message, Encoding::Utf8));
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

std::string stringify(const Poco::JSON::Object::Ptr& object) {
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(object, out);
    return out.str();
}

}  // namespace execd::api

// ------------------------------------------------------------- requests

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
    if (e == Encoding::Utf8) return text;
    auto bytes = base64_decode(text);
    if (!bytes) bad(field, "'" + field + "' is not valid base64");
    return *bytes;
}

std::optional<int64_t> limit(const Object& o, const char* field, int64_t maximum, int64_t minimum = 1) {
    if (!o.has(field)) return std::nullopt;
    int64_t v = want_integer(o.get(field), field);
    if (v < minimum) bad(field, std::string("'") + field + "' must be at least " + std::to_string(minimum));
    if (v > maximum)
        bad(field, std::string("'") + field + "' must be at most " + std::to_string(maximum) + " (the operator's maximum)");
    return v;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = text[i + static_cast<size_t>(k)];
            if (c == '=' && i + 4 == text.size() && k >= 2) {
                v[k] = 0;
                ++pad;
                continue;
            }
            if (pad > 0) return std::nullopt;  // data after padding
            v[k] = value(c);
            if (v[k] < 0) return std::nullopt;
        }
        uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
        out += static_cast<char>(n >> 16);
        if (pad < 2) out += static_cast<char>((n >> 8) & 255);
        if (pad < 1) out += static_cast<char>(n & 255);
    }
    return out;
}

std::string error_json(const std::string& code, const std::string& message, const std::string& field) {
    Object::Ptr inner = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    inner->set("code", code);
    inner->set("message", sanitize_utf8(message));
    if (!field.empty()) inner->set("field", sanitize_utf8(field));
    Object::Ptr outer = new Object;
    outer->set("error", inner);
    return stringify(outer);
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
                                    const daemon::Maxima& max, int64_t& total) {
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

CheckerSpec parse_checker(const Var& v, const Registry& registry, Encoding encoding, const daemon::Maxima& max) {
    const Object& c = want_object(v, "checker", "such as {\"type\": \"tokens\"}");
    reject_unknown(c, {"type", "absTolerance", "relTolerance", "language", "code", "files", "timeoutMs", "memoryMb"},
                   "checker");
    CheckerSpec spec;
    if (!c.has("type")) bad("checker.type", "'checker.type' is required");
    const std::string type = want_string(c.get("type"), "checker.type");
    auto kind = checker_kind_from_name(type);
    if (!kind)
        bad("checker.type", "'checker.type' must be one of exact, lines, tokens, float, program (not '" +
                                printable(type) + "')");
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
                if (f.name == "input.txt" || f.name == "actual.txt" || f.name == "expected.txt")
                    bad("checker.files", "'" + f.name + "' is reserved for the data the checker is given");
        }
        if (total > max.code_bytes)
            bad("checker.code", "the checker is " + std::to_string(total) + " bytes; the maximum is " +
                                    std::to_string(max.code_bytes));
        spec.limits.time_ms = bounded(c, "timeoutMs", "checker.timeoutMs", max.time_ms);
        spec.limits.memory_mb = bounded(c, "memoryMb", "checker.memoryMb", max.memory_mb);
    }
    return spec;
}

std::vector<TestCase> parse_tests(const Var& v, Encoding encoding, const daemon::Maxima& max) {
    const auto& arr = want_array(v, "tests", "test objects");
    if (arr.size() == 0) bad("tests", "'tests' must not be empty");
    if (static_cast<int64_t>(arr.size()) > max.tests)
        bad("tests", "'tests' holds " + std::to_string(arr.size()) + " tests; the maximum is " +
                         std::to_string(max.tests) + " per job");
    std::vector<TestCase> tests;
    std::set<std::string> names;
    for (size_t i = 0; i < arr.size(); ++i) {
        const std::string where = "tests[" + std::to_string(i) + "]";
        const Object& t = want_object(arr.get(static_cast<unsigned>(i)), where, "such as {\"stdin\", \"expectedOutput\"}");
        reject_unknown(t, {"name", "stdin", "expectedOutput", "args", "timeoutMs", "memoryMb"}, where);
        TestCase tc;
        tc.name = t.has("name") ? want_string(t.get("name"), where + ".name") : std::to_string(i + 1);
        if (tc.name.empty() || tc.name.size() > 200 || printable(tc.name) != tc.name)
            bad(where + ".name", "a test name must be 1 to 200 printable characters");
        if (!names.insert(tc.name).second) bad(where + ".name", "test name '" + tc.name + "' appears twice");
        if (t.has("stdin")) {
            tc.stdin_data = decode(want_string(t.get("stdin"), where + ".stdin"), encoding, where + ".stdin");
            if (static_cast<int64_t>(tc.stdin_data.size()) > max.stdin_bytes)
                bad(where + ".stdin", "'" + where + ".stdin' is larger than the maximum of " +
                                          std::to_string(max.stdin_bytes) + " bytes");
        }
        if (t.has("expectedOutput")) {
            tc.expected_output =
                decode(want_string(t.get("expectedOutput"), where + ".expectedOutput"), encoding, where + ".expectedOutput");
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

Submission parse_submission(const std::string& body, const Registry& registry, const daemon::Maxima& max) {
    Var root;
    try {
        Poco::JSON::Parser parser;
        root = parser.parse(body);
    } catch (const Poco::Exception& e) {
        throw ApiError(400, "invalid_json", "the body is not valid JSON: " + e.message());
    } catch (const std::exception& e) {
        throw ApiError(400, "invalid_json", std::string("the body is not valid JSON: ") + e.what());
    }
    if (root.type() != typeid(Object::Ptr)) throw ApiError(400, "invalid_json", "the body must be a JSON object");
    const Object& o = *root.extract<Object::Ptr>();

    reject_unknown(o,
                   {"language", "code", "files", "stdin", "args", "priority", "timeoutMs", "cpuMs", "memoryMb", "pids",
                    "outputBytes", "encoding", "metadata", "tests", "checker", "stopOnFailure"},
                   "");

    Submission s;
    if (o.has("encoding")) {
        std::string e = want_string(o.get("encoding"), "encoding");
        if (e == "base64") s.encoding = Encoding::Base64;
        else if (e != "utf8" && e != "utf-8") bad("encoding", "'encoding' must be \"utf8\" or \"base64\"");
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
        bad(has_code ? "code" : "files", "the code is " + std::to_string(total) + " bytes; the maximum is " +
                                             std::to_string(max.code_bytes));
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
            checker_each = s.request.checker.limits.time_ms.value_or(checker->limits.time_ms.value_or(Limits{}.time_ms));
        }
        int64_t wall = 0;
        for (const auto& t : s.request.tests) wall += t.time_ms.value_or(each) + checker_each;
        if (wall > max.job_time_ms)
            bad("tests", "the tests may run for " + std::to_string(wall) +
                             " ms in all (each to its time limit); the maximum is " + std::to_string(max.job_time_ms) +
                             " ms per job");
    }
    if (o.has("metadata")) {
        Var m = o.get("metadata");
        if (m.type() != typeid(Object::Ptr)) bad("metadata", "'metadata' must be an object");
        std::ostringstream out;
        m.extract<Object::Ptr>()->stringify(out);
        s.metadata_json = out.str();
        if (s.metadata_json.size() > 16384) bad("metadata", "'metadata' is larger than 16 KB");
    }
    return s;
}

std::string request_to_json(const Submission& s) {
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    const JobRequest& r = s.request;
    o->set("language", r.language);
    o->set("code", base64_encode(r.code));
    Poco::JSON::Array::Ptr files = new Poco::JSON::Array;
    for (const auto& f : r.files) {
        Object::Ptr fo = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        fo->set("name", base64_encode(f.name));
        fo->set("content", base64_encode(f.content));
        files->add(fo);
    }
    o->set("files", files);
    o->set("stdin", base64_encode(r.stdin_data));
    Poco::JSON::Array::Ptr args = new Poco::JSON::Array;
    for (const auto& a : r.args) args->add(base64_encode(a));
    o->set("args", args);
    auto put = [&](const char* k, const std::optional<int64_t>& v) {
        if (v) o->set(k, *v);
    };
    put("timeMs", r.limits.time_ms);
    put("cpuMs", r.limits.cpu_ms);
    put("memoryMb", r.limits.memory_mb);
    put("pids", r.limits.pids);
    put("outputBytes", r.limits.output_bytes);
    o->set("priority", s.priority);
    o->set("encoding", std::string(s.encoding == Encoding::Base64 ? "base64" : "utf8"));
    if (!r.tests.empty()) {
        Poco::JSON::Array::Ptr tests = new Poco::JSON::Array;
        for (const auto& t : r.tests) {
            Object::Ptr to = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
            to->set("name", base64_encode(t.name));
            to->set("stdin", base64_encode(t.stdin_data));
            if (t.expected_output) to->set("expectedOutput", base64_encode(*t.expected_output));
            Poco::JSON::Array::Ptr targs = new Poco::JSON::Array;
            for (const auto& a : t.args) targs->add(base64_encode(a));
            to->set("args", targs);
            if (t.time_ms) to->set("timeMs", *t.time_ms);
            if (t.memory_mb) to->set("memoryMb", *t.memory_mb);
            tests->add(to);
        }
        o->set("tests", tests);
        o->set("stopOnFailure", r.stop_on_failure);
        o->set("maxOutputBytes", r.max_output_bytes);
        const CheckerSpec& c = r.checker;
        Object::Ptr co = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        co->set("type", std::string(checker_kind_name(c.kind)));
        co->set("absTolerance", c.abs_tolerance);
        co->set("relTolerance", c.rel_tolerance);
        co->set("language", c.language);
        co->set("code", base64_encode(c.code));
        Poco::JSON::Array::Ptr cfiles = new Poco::JSON::Array;
        for (const auto& f : c.files) {
            Object::Ptr fo = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
            fo->set("name", base64_encode(f.name));
            fo->set("content", base64_encode(f.content));
            cfiles->add(fo);
        }
        co->set("files", cfiles);
        if (c.limits.time_ms) co->set("timeMs", *c.limits.time_ms);
        if (c.limits.memory_mb) co->set("memoryMb", *c.limits.memory_mb);
        o->set("checker", co);
    }
    return stringify(o);
}

Submission request_from_json(const std::string& json) {
    try {
        Poco::JSON::Parser parser;
        const Object& o = *parser.parse(json).extract<Object::Ptr>();
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
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("corrupt stored request: " + e.displayText());
    }
}

// ------------------------------------------------------------- clients

std::string submission_body(const JobRequest& r, Encoding e) {
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    auto enc = [&](const std::string& text) { return encode(text, e); };
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
    return stringify(o);
}

namespace {

StepResult step_from_json(const Object& o, Encoding e) {
    auto text = [&](const char* k, Encoding how) -> std::string {
        if (!o.has(k) || o.get(k).isEmpty()) return {};
        std::string v = o.getValue<std::string>(k);
        if (how == Encoding::Utf8) return v;
        auto bytes = base64_decode(v);
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
        const Encoding e =
            job.has("encoding") && job.getValue<std::string>("encoding") == "base64" ? Encoding::Base64 : Encoding::Utf8;
        JobResult r;
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

}  // namespace execd::api
