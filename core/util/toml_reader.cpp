#include "core/util/toml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/util/utf8.h"

namespace execd {

namespace {

// TOML documents are UTF-8. toml11 3.7 checks that only inside strings, and
// on finding a bad byte in a literal string it reads outside its buffer
// (its error path rewinds a copy of the text with an iterator into the
// original; found by tests/fuzz/tests_toml_fuzz.cpp), so nothing that is not
// UTF-8 reaches it.
void require_utf8(const std::string& text, const std::string& origin) {
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        const size_t n = utf8_sequence(text, i, cp);
        if (n == 0) {
            char byte[8];
            std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[i]));
            throw TomlError(origin + ":" + std::to_string(line) + ": not UTF-8 (byte " + byte + " at column " +
                            std::to_string(i - line_start + 1) + "); a TOML file must be UTF-8");
        }
        if (cp == '\n') ++line, line_start = i + 1;
        i += n;
    }
}

// What toml11 3.7 cannot take safely, found outside strings and comments:
// arrays and inline tables nested deeper than kMaxNesting (it recurses once
// per level and runs out of stack), and binary integers of more than 62
// digits (it doubles a signed 64-bit place value once per digit, which
// overflows). Both found by tests/fuzz.
constexpr int kMaxNesting = 64;
constexpr size_t kMaxBinaryDigits = 62;

void require_parsable(const std::string& text, const std::string& origin) {
    size_t line = 1;
    int depth = 0;
    auto fail = [&](const std::string& reason) {
        throw TomlError(origin + ":" + std::to_string(line) + ": " + reason);
    };
    auto starts = [&](size_t i, std::string_view what) { return text.compare(i, what.size(), what) == 0; };
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
        } else if (c == '#') {
            while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
        } else if (c == '"' || c == '\'') {
            // A string: basic ones have escapes, literal ones none; a
            // tripled quote opens one that may span lines.
            const bool multi = starts(i, std::string(3, c));
            const std::string close = multi ? std::string(3, c) : std::string(1, c);
            i += close.size();
            while (i < text.size() && !starts(i, close) && (multi || text[i] != '\n')) {
                if (text[i] == '\n') ++line;
                if (c == '"' && text[i] == '\\' && i + 1 < text.size() && text[++i] == '\n') ++line;
                ++i;
            }
            if (i < text.size() && text[i] == '\n')
                --i;  // an unterminated one: the parser will say so
            else
                i += close.size() - 1;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxNesting)
                fail("arrays or tables nested more than " + std::to_string(kMaxNesting) + " deep");
        } else if (c == ']' || c == '}') {
            depth = std::max(0, depth - 1);
        } else if (c == '0' && i + 1 < text.size() && text[i + 1] == 'b' &&
                   (i == 0 || !(std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_'))) {
            size_t digits = 0, j = i + 2;
            for (; j < text.size() && (text[j] == '0' || text[j] == '1' || text[j] == '_'); ++j)
                digits += text[j] != '_';
            if (digits > kMaxBinaryDigits)
                fail("a binary integer of more than " + std::to_string(kMaxBinaryDigits) + " digits");
            i = j - 1;
        }
    }
}

}  // namespace

toml::value parse_toml(const std::string& text, const std::string& origin, Excerpt excerpt) {
    require_utf8(text, origin);
    require_parsable(text, origin);
    try {
        std::istringstream in(text);
        return toml::parse(in, origin);
    } catch (const toml::syntax_error& e) {
        // toml11's own text is a multi-line excerpt; lead with origin:line
        // and its one-line reason, keep the excerpt after it.
        const std::string detail = e.what();
        std::string reason = detail.substr(0, detail.find('\n'));
        if (reason.rfind("[error] ", 0) == 0) reason.erase(0, 8);
        throw TomlError(origin + ":" + std::to_string(e.location().line()) + ": syntax error: " + reason +
                        (excerpt == Excerpt::Quote ? "\n" + detail : ""));
    } catch (const std::exception& e) {
        throw TomlError(origin + ": " + e.what());
    }
}

toml::value parse_toml_file(const std::string& path, Excerpt excerpt) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw TomlError(path + ": cannot open: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw TomlError(path + ": cannot read");
    return parse_toml(text.str(), path, excerpt);
}

TomlTable::TomlTable(const std::string& origin, const toml::value& table, std::string what, Naming naming)
    : origin_(origin), table_(table), what_(std::move(what)), naming_(naming) {
    if (!table.is_table()) fail(table, what_ + " must be a table");
}

TomlTable TomlTable::nested(const toml::value& table, std::string what) const {
    return TomlTable(origin_, table, std::move(what), naming_);
}

void TomlTable::fail(const toml::value& at, const std::string& reason) const {
    throw TomlError(origin_ + ":" + std::to_string(at.location().line()) + ": " + reason);
}

void TomlTable::reject_unknown(std::initializer_list<std::string_view> known) const {
    reject_unknown(std::vector<std::string_view>(known));
}

void TomlTable::reject_unknown(const std::vector<std::string_view>& known) const {
    for (const auto& [key, value] : table_.as_table()) {
        bool found = false;
        for (std::string_view k : known) found |= k == key;
        if (!found) fail(value, what_ + ": unknown key '" + key + "'");
    }
}

void TomlTable::refuse(const std::string& key, const std::string& why) const {
    if (const toml::value* v = get(key)) fail(*v, name(key) + " " + why);
}

const toml::value* TomlTable::get(const std::string& key) const {
    const auto& t = table_.as_table();
    auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
}

std::string TomlTable::name(const std::string& key) const {
    return naming_ == Naming::Spaced ? what_ + " " + key : what_ + ": '" + key + "'";
}

std::optional<std::string> TomlTable::string(const std::string& key) const {
    const toml::value* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(*v, name(key) + " must be a string");
    return v->as_string().str;
}

std::string TomlTable::required_string(const std::string& key) const {
    if (!get(key)) fail(table_, what_ + ": missing required key '" + key + "'");
    return *string(key);
}

std::optional<bool> TomlTable::boolean(const std::string& key) const {
    const toml::value* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(*v, name(key) + " must be true or false");
    return v->as_boolean();
}

std::optional<int64_t> TomlTable::integer(const std::string& key, int64_t min, int64_t max) const {
    const toml::value* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_integer()) fail(*v, name(key) + " must be an integer");
    const int64_t n = v->as_integer();
    if (n < min || n > max)
        fail(*v, name(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    return n;
}

std::optional<double> TomlTable::number(const std::string& key) const {
    const toml::value* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_floating()) return v->as_floating();
    if (v->is_integer()) return static_cast<double>(v->as_integer());
    fail(*v, name(key) + " must be a number");
}

std::vector<std::string> TomlTable::strings(const std::string& key) const {
    std::vector<std::string> out;
    const toml::value* v = get(key);
    if (!v) return out;
    if (!v->is_array()) fail(*v, name(key) + " must be an array of strings");
    for (const auto& item : v->as_array()) {
        if (!item.is_string()) fail(item, name(key) + " must hold only strings");
        out.push_back(item.as_string().str);
    }
    return out;
}

std::vector<std::string> TomlTable::required_strings(const std::string& key) const {
    if (!get(key)) fail(table_, what_ + ": missing required key '" + key + "'");
    std::vector<std::string> out = strings(key);
    if (out.empty()) fail(*get(key), name(key) + " must not be empty");
    return out;
}

}  // namespace execd
