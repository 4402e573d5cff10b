// A plain binary encoding for data that stays on this host (the registry's
// snapshot, a job crossing between exec and its warm sandbox): an integer as
// 8 bytes little-endian, a string as its length and bytes, a list as its
// length and items, an optional as a flag and the value. A message starts
// with a magic line naming its format; bump the format whenever a field is
// added or changes meaning.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execd::wire {

class Writer {
public:
    explicit Writer(std::string_view magic) : out_(magic) {}
    void integer(int64_t v) {
        for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    }
    void flag(bool b) { integer(b ? 1 : 0); }
    // A double as its 8 bytes, exactly (NaN and infinities too).
    void real(double v) {
        uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        integer(static_cast<int64_t>(bits));
    }
    void text(std::string_view s) {
        integer(static_cast<int64_t>(s.size()));
        out_ += s;
    }
    void texts(const std::vector<std::string>& v) {
        integer(static_cast<int64_t>(v.size()));
        for (const auto& s : v) text(s);
    }
    void maybe(const std::optional<int64_t>& v) {
        integer(v ? 1 : 0);
        integer(v.value_or(0));
    }
    void maybe_text(const std::optional<std::string>& v) {
        integer(v ? 1 : 0);
        text(v ? *v : std::string_view{});
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

// Every read checks what is left; the first short or malformed read makes
// the reader bad (and every later read returns empty values), so a caller
// checks ok() once at the end and refuses the message as a whole.
class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool ok() const noexcept { return ok_; }
    bool at_end() const noexcept { return ok_ && in_.empty(); }
    void fail() noexcept { ok_ = false; }
    bool expect(std::string_view magic) {
        if (in_.substr(0, magic.size()) != magic) {
            ok_ = false;
            return false;
        }
        in_.remove_prefix(magic.size());
        return true;
    }
    int64_t integer() {
        if (!ok_ || in_.size() < 8) {
            ok_ = false;
            return 0;
        }
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(in_[i])} << (8 * i);
        in_.remove_prefix(8);
        return static_cast<int64_t>(v);
    }
    double real() {
        const uint64_t bits = static_cast<uint64_t>(integer());
        double v = 0;
        std::memcpy(&v, &bits, sizeof v);
        return v;
    }
    bool flag() {
        const int64_t v = integer();
        if (v != 0 && v != 1) ok_ = false;
        return v == 1;
    }
    // A count of items that each take at least `min_bytes`: no count can
    // make the reader reserve more than what is left.
    size_t count(size_t min_bytes) {
        const int64_t n = integer();
        if (n < 0 || static_cast<uint64_t>(n) > in_.size() / min_bytes) {
            ok_ = false;
            return 0;
        }
        return static_cast<size_t>(n);
    }
    std::string text() {
        const size_t n = count(1);
        if (!ok_) return {};
        std::string s(in_.substr(0, n));
        in_.remove_prefix(n);
        return s;
    }
    std::vector<std::string> texts() {
        std::vector<std::string> v(count(8));
        for (auto& s : v) s = text();
        return v;
    }
    std::optional<int64_t> maybe() {
        const bool set = flag();
        const int64_t value = integer();
        return set ? std::optional<int64_t>(value) : std::nullopt;
    }
    std::optional<std::string> maybe_text() {
        const bool set = flag();
        std::string value = text();
        return set ? std::optional<std::string>(std::move(value)) : std::nullopt;
    }

private:
    std::string_view in_;
    bool ok_ = true;
};

}  // namespace execd::wire
