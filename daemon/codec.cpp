#include "codec.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <set>
#include <sstream>

#include "api_error.h"
#include "util/files.h"

namespace execd::api {

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t len = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        }
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Reject overlong forms, surrogates and values past U+10FFFF.
        if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                   (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF))
            ok = false;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
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

    static const std::set<std::string> known{"language", "code",  "files",   "stdin",       "args",
                                             "priority", "timeoutMs", "cpuMs", "memoryMb",  "pids",
                                             "outputBytes", "encoding", "metadata"};
    for (const auto& name : o.getNames())
        if (!known.count(name)) bad(name, "unknown field '" + name + "'");

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
        Var files = o.get("files");
        if (files.type() != typeid(Poco::JSON::Array::Ptr)) bad("files", "'files' must be an array");
        const auto& arr = *files.extract<Poco::JSON::Array::Ptr>();
        if (arr.size() == 0) bad("files", "'files' must not be empty");
        if (static_cast<int64_t>(arr.size()) > max.files)
            bad("files", "'files' may hold at most " + std::to_string(max.files) + " entries");
        std::set<std::string> names;
        bool has_entry = false;
        for (size_t i = 0; i < arr.size(); ++i) {
            const std::string where = "files[" + std::to_string(i) + "]";
            Var item = arr.get(static_cast<unsigned>(i));
            if (item.type() != typeid(Object::Ptr)) bad(where, "'" + where + "' must be an object with name and content");
            const Object& f = *item.extract<Object::Ptr>();
            for (const auto& n : f.getNames())
                if (n != "name" && n != "content") bad(where + "." + n, "unknown field '" + n + "' in " + where);
            if (!f.has("name") || !f.has("content")) bad(where, "'" + where + "' needs name and content");
            SourceFile sf;
            sf.name = want_string(f.get("name"), where + ".name");
            if (!is_safe_file_name(sf.name) || sf.name.find('\\') != std::string::npos)
                bad(where + ".name", "file name '" + printable(sf.name) + "' is not allowed (no '/', '..' or NUL)");
            if (!names.insert(sf.name).second) bad(where + ".name", "file name '" + sf.name + "' appears twice");
            sf.content = decode(want_string(f.get("content"), where + ".content"), s.encoding, where + ".content");
            total += static_cast<int64_t>(sf.content.size());
            if (sf.name == lang->source) has_entry = true;
            s.request.files.push_back(std::move(sf));
        }
        if (!has_entry) bad("files", "one file must be named '" + lang->source + "', the entry point for " + lang->id);
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
        return s;
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("corrupt stored request: " + e.displayText());
    }
}

}  // namespace execd::api
