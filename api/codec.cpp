#include "api/codec.h"

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

#include "api/api_error.h"
#include "core/util/base64.h"
#include "core/util/utf8.h"

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

std::string encode_bytes(std::string_view bytes, Encoding encoding) {
    return encoding == Encoding::Base64 ? base64_encode(bytes) : sanitize_utf8(bytes);
}

std::optional<std::string> decode_bytes(const std::string& text, Encoding encoding) {
    if (encoding == Encoding::Utf8) return text;
    return base64_decode(text);
}

std::string stringify(const Poco::JSON::Object::Ptr& object) {
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(object, out);
    return out.str();
}

Poco::Dynamic::Var parse_json_body(const std::string& body) {
    try {
        Poco::JSON::Parser parser;
        return parser.parse(body);
    } catch (const Poco::Exception& e) {
        // JSON text is UTF-8 (RFC 8259); the parser's own word for other
        // bytes is "unterminated string literal".
        if (!is_valid_utf8(body))
            throw ApiError(400, "invalid_json",
                           "the body is not valid UTF-8 (JSON text must be; base64 carries bytes)");
        throw ApiError(400, "invalid_json", "the body is not valid JSON: " + e.message());
    } catch (const std::exception& e) {
        throw ApiError(400, "invalid_json", std::string("the body is not valid JSON: ") + e.what());
    }
}

std::string error_json(const std::string& code, const std::string& message, const std::string& field) {
    Poco::JSON::Object::Ptr inner = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    inner->set("code", code);
    inner->set("message", sanitize_utf8(message));
    if (!field.empty()) inner->set("field", sanitize_utf8(field));
    Poco::JSON::Object::Ptr outer = new Poco::JSON::Object;
    outer->set("error", inner);
    return stringify(outer);
}

}  // namespace execd::api
