#include "core/util/toml_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

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

}  // namespace

toml::value parse_toml(const std::string& text, const std::string& origin, Excerpt excerpt) {
    require_utf8(text, origin);
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
