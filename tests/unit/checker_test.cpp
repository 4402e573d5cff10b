#include "core/checker.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/util/sha256.h"

using namespace execd;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

CheckResult check(CheckerKind kind, std::string_view expected, std::string_view actual) {
    CheckerSpec spec;
    spec.kind = kind;
    return compare_output(spec, expected, actual);
}

CheckResult check_float(std::string_view expected, std::string_view actual, double abs_tolerance = 1e-6,
                        double rel_tolerance = 1e-6) {
    CheckerSpec spec;
    spec.kind = CheckerKind::Float;
    spec.abs_tolerance = abs_tolerance;
    spec.rel_tolerance = rel_tolerance;
    return compare_output(spec, expected, actual);
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 examples", "[unit]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // 448 bits: the padding no longer fits the last block, so it takes a second one.
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // Around the padding boundaries: the length just fits, just does not, a whole block.
    CHECK(sha256_hex(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    CHECK(sha256_hex(std::string(63, 'a')) == "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
    CHECK(sha256_hex(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 gives the same digest however the input is split", "[unit]") {
    std::string data;
    for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7 + 3);
    const std::string whole = sha256_hex(data);

    // Chunk sizes around the 64-byte block and the 56-byte padding boundary.
    for (size_t chunk : {1, 3, 55, 56, 63, 64, 65, 127, 999}) {
        Sha256 h;
        for (size_t i = 0; i < data.size(); i += chunk) h.update(std::string_view(data).substr(i, chunk));
        CHECK(h.hex() == whole);
    }

    // A finished object starts over.
    Sha256 h;
    h.update("garbage");
    (void)h.finish();
    h.update("abc");
    CHECK(h.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256 keeps what it was fed when moved", "[unit]") {
    Sha256 a;
    a.update("ab");
    Sha256 b = std::move(a);
    b.update("c");
    Sha256 c;
    c = std::move(b);
    CHECK(c.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256 fields are length-prefixed", "[unit]") {
    Sha256 ab_c, a_bc, plain;
    ab_c.field("ab");
    ab_c.field("c");
    a_bc.field("a");
    a_bc.field("bc");
    plain.update("abc");
    const std::string x = ab_c.hex(), y = a_bc.hex();
    CHECK(x != y);
    CHECK(x != plain.hex());
    // An 8-byte little-endian length, then the bytes: "\x02\0\0\0\0\0\0\0ab\x01\0\0\0\0\0\0\0c".
    CHECK(x == "43ee655579de01ca739b3f95c1c2d3f46d353b2c0df818064ea594506cdb2617");
    CHECK(y == "9a8acca1b6c6c0befd3fbc756aed625da998c998f7252e738c4ef061906b9b21");
}

TEST_CASE("checker kind names round-trip", "[unit]") {
    for (CheckerKind k :
         {CheckerKind::Exact, CheckerKind::Lines, CheckerKind::Tokens, CheckerKind::Float, CheckerKind::Program}) {
        auto back = checker_kind_from_name(checker_kind_name(k));
        REQUIRE(back.has_value());
        CHECK(*back == k);
    }
    CHECK(checker_kind_name(CheckerKind::Lines) == "lines");
    CHECK(checker_kind_name(CheckerKind::Float) == "float");
    CHECK_FALSE(checker_kind_from_name("Lines").has_value());
    CHECK_FALSE(checker_kind_from_name("").has_value());
    CHECK(CheckerSpec{}.kind == CheckerKind::Lines);
}

TEST_CASE("the program checker is not a pure comparison", "[unit]") {
    CHECK_THROWS_AS(check(CheckerKind::Program, "a", "a"), std::invalid_argument);
    CHECK_THROWS_WITH(check(CheckerKind::Program, "a", "a"), Contains("program"));
}

TEST_CASE("exact compares byte for byte", "[unit]") {
    CHECK(check(CheckerKind::Exact, "", "").accepted);
    CHECK(check(CheckerKind::Exact, "1 2\n3\n", "1 2\n3\n").accepted);
    CHECK(check(CheckerKind::Exact, "", "").message.empty());

    SECTION("a missing final newline is a difference") {
        auto r = check(CheckerKind::Exact, "42\n", "42");
        CHECK_FALSE(r.accepted);
        CHECK_THAT(r.message, Contains("shorter") && Contains("offset 2") && Contains("line 1") &&
                                  Contains("expected '42\\x0a', got '42'"));
    }
    SECTION("extra output") {
        auto r = check(CheckerKind::Exact, "42\n", "42\n\n");
        CHECK_FALSE(r.accepted);
        CHECK_THAT(r.message, Contains("longer") && Contains("offset 3") && Contains("line 2"));
    }
    SECTION("trailing spaces and CRLF count") {
        CHECK_FALSE(check(CheckerKind::Exact, "a\n", "a \n").accepted);
        CHECK_FALSE(check(CheckerKind::Exact, "a\n", "a\r\n").accepted);
    }
    SECTION("the message names offset and line, with printable excerpts") {
        auto r = check(CheckerKind::Exact, "one\ntwo\nthree\n", "one\ntwo\nthreE\tx\n");
        CHECK_FALSE(r.accepted);
        CHECK(r.message ==
              "outputs differ at offset 12 (line 3): expected 'one\\x0atwo\\x0athree\\x0a', got "
              "'one\\x0atwo\\x0athreE\\x09x\\x0a'");
    }
    SECTION("excerpts stay short in long outputs") {
        std::string expected(100000, 'x');
        std::string actual = expected;
        actual[50000] = 'y';
        auto r = check(CheckerKind::Exact, expected, actual);
        CHECK_FALSE(r.accepted);
        CHECK_THAT(r.message, StartsWith("outputs differ at offset 50000 (line 1)"));
        CHECK(r.message.size() < 200);
        CHECK_THAT(r.message, Contains("'...xxxxxxxxxxxxxxxxxxxxy"));
    }
}

TEST_CASE("lines ignores trailing whitespace and trailing empty lines", "[unit]") {
    const auto lines = [](std::string_view e, std::string_view a) { return check(CheckerKind::Lines, e, a); };

    SECTION("accepts") {
        CHECK(lines("1\n2\n", "1\n2\n").accepted);
        CHECK(lines("1\n2\n", "1\n2").accepted);
        CHECK(lines("1\n2", "1\n2\n\n\n").accepted);
        CHECK(lines("1\n2\n", "1   \n2\t\t\n").accepted);
        CHECK(lines("1\n2\n", "1\r\n2\r\n").accepted);
        CHECK(lines("1 \r\n2\v\f\n\n  \n", "1\n2").accepted);
        CHECK(lines("", "\n\n \n").accepted);
        CHECK(lines("a\n\nb\n", "a\n\nb").accepted);
    }
    SECTION("rejects") {
        CHECK(lines("1\n2\n", "1\n3\n").message == "line 2: expected '2', got '3'");
        CHECK(lines("x\ny\n42\n", "x\ny\n41\n").message == "line 3: expected '42', got '41'");
        // Leading whitespace and inner empty lines count.
        CHECK(lines("a b\n", " a b\n").message == "line 1: expected 'a b', got ' a b'");
        CHECK(lines("a b\n", "a  b\n").message == "line 1: expected 'a b', got 'a  b'");
        CHECK_FALSE(lines("a\nb\n", "a\n\nb\n").accepted);
        // A lone '\r' is not a line break.
        CHECK_FALSE(lines("a\nb\n", "a\rb\n").accepted);
    }
    SECTION("line counts") {
        auto fewer = lines("1\n2\n3\n4\n5\n", "1\n2\n3\n4\n");
        CHECK_FALSE(fewer.accepted);
        CHECK_THAT(fewer.message, StartsWith("expected 5 lines, got 4") && Contains("line 5") && Contains("'5'"));
        auto more = lines("1\n", "1\n2\n3\n");
        CHECK_FALSE(more.accepted);
        CHECK_THAT(more.message, StartsWith("expected 1 line, got 3") && Contains("line 2") && Contains("'2'"));
        CHECK_THAT(lines("1\n", "").message, StartsWith("expected 1 line, got 0"));
    }
}

TEST_CASE("tokens compares whitespace-separated tokens", "[unit]") {
    const auto tokens = [](std::string_view e, std::string_view a) { return check(CheckerKind::Tokens, e, a); };

    SECTION("accepts across different line breaks and spacing") {
        CHECK(tokens("1 2 3\n4 5\n", "1\n2\n3\n4\n5").accepted);
        CHECK(tokens("1 2 3\n", "  1\t2\r\n\v3 \f").accepted);
        CHECK(tokens("", " \n\t").accepted);
    }
    SECTION("rejects a different token, naming its index and line") {
        auto r = tokens("1 2 3\n4 5\n", "1 2\n3\n4 6\n");
        CHECK_FALSE(r.accepted);
        CHECK(r.message == "token 5 (line 3): expected '5', got '6'");
        // Tokens are compared as text: no numeric leniency.
        CHECK_FALSE(tokens("1.0", "1").accepted);
        CHECK_FALSE(tokens("ab", "a b").accepted);
    }
    SECTION("token counts") {
        auto fewer = tokens("1 2 3", "1 2");
        CHECK_FALSE(fewer.accepted);
        CHECK_THAT(fewer.message, StartsWith("expected 3 tokens, got 2") && Contains("token 3") && Contains("'3'"));
        auto more = tokens("1", "1\n2 3\n");
        CHECK_FALSE(more.accepted);
        CHECK_THAT(more.message, StartsWith("expected 1 token, got 3") && Contains("token 2 (line 2)"));
    }
}

TEST_CASE("float compares numbers within a tolerance", "[unit]") {
    SECTION("within the absolute tolerance") {
        CHECK(check_float("0.1234567", "0.1234568").accepted);
        CHECK(check_float("1 2 3", "1.0000001 2.0 3e0").accepted);
        CHECK(check_float("0", "-0.0000005").accepted);
        CHECK(check_float("1e-9", "0").accepted);
        // Whatever strtod reads whole is a number.
        CHECK(check_float("+2.5", "2.5000001").accepted);
        CHECK(check_float("0.25", "0x1p-2").accepted);
        CHECK(check_float("1e-400", "0").accepted);
        CHECK(check_float("-.5", "-0.5").accepted);
        CHECK(check_float("5.", "5").accepted);
        // A difference equal to the tolerance in decimal, though not in binary.
        CHECK(check_float("0.900000", "0.900001", 1e-6, 0).accepted);
        CHECK(check_float("12345.678901", "12345.678902", 1e-6, 0).accepted);
        CHECK_FALSE(check_float("0.9", "0.9000011", 1e-6, 0).accepted);
        CHECK_FALSE(check_float("12345.678901", "12345.6789021", 1e-6, 0).accepted);
    }
    SECTION("over both tolerances") {
        auto r = check_float("1.0", "1.00001");
        CHECK_FALSE(r.accepted);
        CHECK_THAT(r.message, StartsWith("token 1 (line 1)") && Contains("'1.0'") && Contains("'1.00001'") &&
                                  Contains("difference 1e-05"));
        CHECK_FALSE(check_float("0.1234567", "0.1234587").accepted);
    }
    SECTION("large values by the relative tolerance") {
        CHECK(check_float("1000000000", "1000000100").accepted);
        CHECK(check_float("1e9", "1000000100.0").accepted);
        CHECK_FALSE(check_float("1e9", "1000002000").accepted);
        // Relative to the expected value, not the actual one.
        CHECK_FALSE(check_float("1", "1000", 1e-6, 0.999).accepted);
    }
    SECTION("nan and inf") {
        CHECK(check_float("nan", "nan").accepted);
        CHECK(check_float("nan", "NaN").accepted);
        CHECK(check_float("inf", "inf").accepted);
        CHECK(check_float("-inf", "-Infinity").accepted);
        CHECK_FALSE(check_float("nan", "0").accepted);
        CHECK_FALSE(check_float("0", "nan").accepted);
        CHECK_FALSE(check_float("nan", "inf").accepted);
        CHECK_FALSE(check_float("inf", "-inf").accepted);
        CHECK_FALSE(check_float("inf", "1e308").accepted);
        CHECK_FALSE(check_float("1e308", "inf").accepted);
        // Overflowing literals are not infinity, so they are only equal as text.
        CHECK_FALSE(check_float("1e400", "1e500").accepted);
        CHECK(check_float("1e400", "1e400").accepted);
    }
    SECTION("non-numeric tokens must be equal as text") {
        CHECK(check_float("YES 0.5", "YES 0.5000001").accepted);
        auto r = check_float("x = 1\nYES\n", "x = 1\nNO\n");
        CHECK_FALSE(r.accepted);
        CHECK(r.message == "token 4 (line 2): expected 'YES', got 'NO'");
        CHECK_FALSE(check_float("1", "1abc").accepted);
        CHECK_FALSE(check_float("1abc", "1").accepted);
        CHECK_FALSE(check_float("1.0x", "1.0y").accepted);
    }
    SECTION("very long numeric tokens are compared as text") {
        // As numbers these pairs differ by far less than the tolerance.
        const std::string short_a = "0." + std::string(400, '1'), short_b = short_a + "2";
        CHECK(check_float(short_a, short_b).accepted);
        const std::string long_a = "0." + std::string(600, '1'), long_b = long_a + "2";
        CHECK(check_float(long_a, long_a).accepted);
        CHECK_FALSE(check_float(long_a, long_b).accepted);
    }
    SECTION("token counts and line breaks") {
        CHECK(check_float("1 2\n3\n", "1\n2 3").accepted);
        CHECK_THAT(check_float("1 2 3", "1 2").message, StartsWith("expected 3 tokens, got 2"));
    }
}

namespace {

// About 64 MiB of "<integer> <decimal>\n" lines, built once for all big-input tests.
const std::string& big_output() {
    static const std::string text = [] {
        constexpr size_t kSize = size_t{64} << 20;
        std::string s;
        s.reserve(kSize + 64);
        char line[64];
        for (unsigned i = 0; s.size() < kSize; ++i) {
            const int n = std::snprintf(line, sizeof line, "%u %u.%06u\n", i, i % 100000, (i * 7919u) % 1000000u);
            s.append(line, static_cast<size_t>(n));
        }
        return s;
    }();
    return text;
}

// `text` with every occurrence of `from` replaced by `to`.
std::string replace_all(const std::string& text, char from, std::string_view to) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        if (c == from)
            out += to;
        else
            out += c;
    }
    return out;
}

}  // namespace

TEST_CASE("checkers handle 64 MB outputs", "[unit]") {
    const std::string& expected = big_output();
    const size_t lines_total = static_cast<size_t>(std::count(expected.begin(), expected.end(), '\n'));

    SECTION("exact") {
        std::string actual = expected;
        CHECK(check(CheckerKind::Exact, expected, actual).accepted);
        actual[actual.size() - 2] = '#';
        auto r = check(CheckerKind::Exact, expected, actual);
        CHECK_FALSE(r.accepted);
        CHECK_THAT(r.message, Contains("offset " + std::to_string(actual.size() - 2) + " (line " +
                                       std::to_string(lines_total) + ")"));
    }
    SECTION("lines") {
        std::string actual = replace_all(expected, '\n', " \t\r\n") + "\n\n";
        CHECK(check(CheckerKind::Lines, expected, actual).accepted);
        // Break the last line: every line before it is compared first.
        actual.resize(actual.size() - 6);
        auto r = check(CheckerKind::Lines, expected, actual + "X\n");
        CHECK_FALSE(r.accepted);
        CHECK_THAT(r.message, StartsWith("line " + std::to_string(lines_total) + ":"));
    }
    SECTION("tokens") {
        std::string actual = replace_all(expected, '\n', "  ");
        CHECK(check(CheckerKind::Tokens, expected, actual).accepted);
        actual += "extra";
        auto r = check(CheckerKind::Tokens, expected, actual);
        CHECK_FALSE(r.accepted);
        CHECK_THAT(r.message, StartsWith("expected " + std::to_string(2 * lines_total) + " tokens, got " +
                                         std::to_string(2 * lines_total + 1)));
    }
    SECTION("float") {
        // Every decimal's last digit moves by one: a difference of 1e-6 for
        // each number, which must be accepted by one tolerance or the other.
        std::string actual = expected;
        for (size_t i = 0; i + 1 < actual.size(); ++i)
            if (actual[i + 1] == '\n') actual[i] = actual[i] == '9' ? '8' : static_cast<char>(actual[i] + 1);
        CHECK(check_float(expected, actual).accepted);
        CHECK_FALSE(check_float(expected, actual, 1e-9, 1e-12).accepted);
    }
}
