#include "codec.h"

#include <Poco/JSON/Stringifier.h>

#include <sstream>

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
