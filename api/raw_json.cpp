#include "api/raw_json.h"

#include <Poco/JSON/Parser.h>

#include <string>

namespace execd::api {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view t, size_t i) {
    while (i < t.size() && is_space(t[i])) ++i;
    return i;
}

// From the opening quote at `i` to just past the closing one.
size_t skip_string(std::string_view t, size_t i) {
    for (++i; i < t.size(); ++i) {
        if (t[i] == '\\')
            ++i;
        else if (t[i] == '"')
            return i + 1;
    }
    return t.size();
}

// From the first byte of a value at `i` to just past it.
size_t skip_value(std::string_view t, size_t i) {
    if (i >= t.size()) return i;
    if (t[i] == '"') return skip_string(t, i);
    if (t[i] == '{' || t[i] == '[') {
        int depth = 0;
        while (i < t.size()) {
            const char c = t[i];
            if (c == '"') {
                i = skip_string(t, i);
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
            ++i;
        }
        return i;
    }
    // A number, true, false or null.
    while (i < t.size() && !is_space(t[i]) && t[i] != ',' && t[i] != '}' && t[i] != ']') ++i;
    return i;
}

// A key as written (with its quotes) equals `key` once decoded.
bool key_is(std::string_view quoted, std::string_view key) {
    const std::string_view inner = quoted.substr(1, quoted.size() - 2);
    if (inner.find('\\') == std::string_view::npos) return inner == key;
    try {
        Poco::JSON::Parser parser;
        const std::string decoded =
            parser.parse("[" + std::string(quoted) + "]").extract<Poco::JSON::Array::Ptr>()->getElement<std::string>(0);
        // Poco's parser ends a key at its first NUL ("a\u0000b" is "a"):
        // the member it keeps must be the one found here.
        return std::string_view(decoded).substr(0, decoded.find('\0')) == key;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

std::optional<std::string_view> raw_member(std::string_view t, std::string_view key) {
    size_t i = skip_space(t, 0);
    if (i >= t.size() || t[i] != '{') return std::nullopt;
    std::optional<std::string_view> found;
    for (i = skip_space(t, i + 1); i < t.size() && t[i] == '"';) {
        const size_t key_end = skip_string(t, i);
        const std::string_view quoted = t.substr(i, key_end - i);
        i = skip_space(t, key_end);
        if (i >= t.size() || t[i] != ':') return std::nullopt;
        const size_t start = skip_space(t, i + 1);
        const size_t end = skip_value(t, start);
        if (quoted.size() >= 2 && key_is(quoted, key)) found = t.substr(start, end - start);
        i = skip_space(t, end);
        if (i < t.size() && t[i] == ',') i = skip_space(t, i + 1);
    }
    return found;
}

std::vector<std::string_view> raw_elements(std::string_view t) {
    std::vector<std::string_view> out;
    size_t i = skip_space(t, 0);
    if (i >= t.size() || t[i] != '[') return out;
    for (i = skip_space(t, i + 1); i < t.size() && t[i] != ']';) {
        const size_t end = skip_value(t, i);
        if (end == i) break;  // not JSON after all: stop rather than loop
        out.push_back(t.substr(i, end - i));
        i = skip_space(t, end);
        if (i < t.size() && t[i] == ',') i = skip_space(t, i + 1);
    }
    return out;
}

std::string with_raw_member(std::string object, std::string_view key, std::string_view raw_value) {
    if (object.size() < 2 || object.front() != '{' || object.back() != '}') return object;
    object.pop_back();
    if (object.size() > 1) object += ',';
    object += '"';
    object += key;
    object += "\":";
    object += raw_value;
    object += '}';
    return object;
}

}  // namespace execd::api
