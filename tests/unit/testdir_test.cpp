#include "cmd/testdir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/api_error.h"
#include "api/submission.h"
#include "daemon/config.h"
#include "tests/support.h"

using namespace execd;
using namespace execd::cli;
using Catch::Matchers::Contains;

namespace {

// A temporary test directory, removed at the end of the test.
class TempDir {
public:
    TempDir() : path_(test::make_temp_dir("execd-testdir")) {}
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }

    void write(const std::string& name, const std::string& content) const {
        std::ofstream out(path_ + "/" + name, std::ios::binary);
        out << content;
        REQUIRE(out.good());
    }

private:
    std::string path_;
};

std::vector<std::string> names_of(const TestSuite& suite) {
    std::vector<std::string> names;
    for (const auto& t : suite.tests) names.push_back(t.name);
    return names;
}

// The loader's message for a directory it refuses, or "accepted".
std::string refusal(const TempDir& dir) {
    try {
        load_test_dir(dir.path(), test::repo_registry());
    } catch (const TestDirError& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("natural order compares digit runs by value", "[unit]") {
    std::vector<std::string> names{"a10", "10", "b", "a2", "1", "a1", "2", "01", "1a", "a01b2", "a1b10"};
    std::sort(names.begin(), names.end(), natural_less);
    CHECK(names == std::vector<std::string>{"1", "01", "1a", "2", "10", "a1", "a01b2", "a1b10", "a2", "a10", "b"});
    CHECK_FALSE(natural_less("7", "7"));
    CHECK(natural_less("test9", "test10"));
    CHECK_FALSE(natural_less("test10", "test9"));
    CHECK(natural_less("999999999999999999999", "1000000000000000000000"));  // past 64 bits
}

TEST_CASE("a test directory: .in with .out or .ans, in natural order", "[unit]") {
    TempDir dir;
    dir.write("10.in", "ten\n");
    dir.write("10.out", "10\n");
    dir.write("2.in", "two\n");
    dir.write("2.ans", "2\n");
    dir.write("1.in", "");
    dir.write("a1.in", "x");  // no expected output: passes when the run is OK
    dir.write("README.md", "notes");
    dir.write("solution.py", "print(1)");
    dir.write(".hidden.in", "ignored");
    std::filesystem::create_directory(dir.path() + "/sub");     // directories are not tests...
    std::filesystem::create_directory(dir.path() + "/sub.in");  // ...and one named like a test is a mistake

    SECTION("a directory named like a test is refused") {
        CHECK_THAT(refusal(dir), Contains("sub.in: not a regular file"));
    }
    SECTION("without it") {
        std::filesystem::remove(dir.path() + "/sub.in");
        const TestSuite suite = load_test_dir(dir.path(), test::repo_registry());
        REQUIRE(names_of(suite) == std::vector<std::string>{"1", "2", "10", "a1"});
        CHECK(suite.tests[0].stdin_data.empty());
        CHECK(suite.tests[0].expected_output == std::nullopt);
        CHECK(suite.tests[1].stdin_data == "two\n");
        CHECK(suite.tests[1].expected_output == std::optional<std::string>("2\n"));
        CHECK(suite.tests[2].expected_output == std::optional<std::string>("10\n"));
        CHECK(suite.tests[3].expected_output == std::nullopt);
        // No tests.toml: the defaults.
        CHECK(suite.checker.kind == CheckerKind::Lines);
        CHECK_FALSE(suite.stop_on_failure);
        CHECK_FALSE(suite.limits.time_ms);
        CHECK(suite.tests[2].args.empty());
        CHECK_FALSE(suite.tests[2].time_ms);
    }
}

TEST_CASE("test directory refusals name the file", "[unit]") {
    TempDir dir;
    SECTION("empty") { CHECK_THAT(refusal(dir), Contains(dir.path() + ": no tests")); }
    SECTION("only other files") {
        dir.write("notes.txt", "x");
        CHECK_THAT(refusal(dir), Contains("no tests"));
    }
    SECTION("missing directory") {
        try {
            load_test_dir(dir.path() + "/nope", test::repo_registry());
            FAIL("accepted");
        } catch (const TestDirError& e) {
            CHECK_THAT(e.what(), Contains(dir.path() + "/nope: cannot read the test directory"));
            CHECK(e.field() == "tests");
        }
    }
    SECTION("expected output without input") {
        dir.write("1.in", "");
        dir.write("2.out", "");
        CHECK_THAT(refusal(dir), Contains(dir.path() + "/2.out: expected output without 2.in"));
    }
    SECTION("both .out and .ans") {
        dir.write("1.in", "");
        dir.write("1.out", "");
        dir.write("1.ans", "");
        CHECK_THAT(refusal(dir), Contains("keep one of .out and .ans"));
    }
    SECTION("names that break the test-name rule") {
        for (const std::string name : {"tab\t.in", "bell\x07.out", "del\x7f.in", "bad\xff-utf8.in"}) {
            TempDir d;
            d.write(name, "");
            CHECK_THAT(refusal(d), Contains(d.path() + "/" + name + ": a test name must be 1 to 200 printable"));
        }
    }
}

// exec test and the API take the same test names (is_valid_test_name): a
// test directory exec loads is a request a server accepts, and the other way
// round.
TEST_CASE("exec test and the API agree on test names", "[unit]") {
    const std::string longest(kMaxTestNameBytes, 'n');
    const std::vector<std::string> accepted{"1", "sample 1", "x#1", "caf\xC3\xA9", "a+b_c-d.e", "(large)", longest};
    const std::vector<std::string> refused{"tab\t", "bell\x07", "del\x7f", "esc\x1b[31m", longest + "n"};
    const api::Maxima maxima = daemon::submission_maxima(daemon::Config{});
    // The API's answer for one test named `name`: "" or the refusal's field.
    auto api_refusal = [&](const std::string& name) {
        JobRequest r;
        r.language = "python";
        r.code = "print(1)";
        r.tests = {TestCase{name, "", "1\n", {}, std::nullopt, std::nullopt}};
        try {
            api::parse_submission_body(api::submission_body(r, api::Encoding::Utf8), test::repo_registry(), maxima);
        } catch (const api::ApiError& e) {
            return e.field() + ": " + e.what();
        }
        return std::string();
    };
    for (const auto& name : accepted) {
        INFO("'" << name << "'");
        CHECK(is_valid_test_name(name));
        CHECK(api_refusal(name).empty());
        TempDir d;
        d.write(name + ".in", "");
        d.write(name + ".out", "1\n");
        d.write("tests.toml", "[tests.\"" + name + "\"]\ntime_ms = 500\n");  // a quoted key takes any of them
        const TestSuite suite = load_test_dir(d.path(), test::repo_registry());
        REQUIRE(names_of(suite) == std::vector<std::string>{name});
        CHECK(suite.tests[0].time_ms == 500);
    }
    for (const auto& name : refused) {
        INFO("'" << name << "'");
        CHECK_FALSE(is_valid_test_name(name));
        CHECK(api_refusal(name) == "tests[0].name: a test name must be 1 to 200 printable characters");
        TempDir d;
        d.write(name + ".in", "");
        CHECK(refusal(d) == d.path() + "/" + name + ".in: a test name must be 1 to 200 printable characters");
    }
    // Not UTF-8 at all: no JSON can carry it to the API; the CLI refuses it as a name.
    CHECK_FALSE(is_valid_test_name("bad\xff"));
    CHECK_FALSE(is_valid_test_name(""));
}

TEST_CASE("tests.toml: settings, checker and per-test overrides", "[unit]") {
    TempDir dir;
    dir.write("1.in", "1");
    dir.write("1.out", "1");
    dir.write("2.in", "2");
    dir.write("big.in", "3");
    dir.write("tests.toml", R"(
stop_on_failure = true

[limits]
time_ms = 2000
memory_mb = 64
output_bytes = 100000

[checker]
type = "float"
abs_tolerance = 1e-4
rel_tolerance = 0

[tests.big]
time_ms = 5000
memory_mb = 512
args = ["--big", "yes"]

[tests."2"]
args = []
)");
    const TestSuite suite = load_test_dir(dir.path(), test::repo_registry());
    REQUIRE(names_of(suite) == std::vector<std::string>{"1", "2", "big"});
    CHECK(suite.stop_on_failure);
    CHECK(suite.limits.time_ms == 2000);
    CHECK(suite.limits.memory_mb == 64);
    CHECK(suite.limits.output_bytes == 100000);
    CHECK_FALSE(suite.limits.cpu_ms);
    CHECK(suite.checker.kind == CheckerKind::Float);
    CHECK(suite.checker.abs_tolerance == Approx(1e-4));
    CHECK(suite.checker.rel_tolerance == 0.0);
    CHECK(suite.tests[2].time_ms == 5000);
    CHECK(suite.tests[2].memory_mb == 512);
    CHECK(suite.tests[2].args == std::vector<std::string>{"--big", "yes"});
    CHECK_FALSE(suite.tests[0].time_ms);
    CHECK(suite.tests[1].args.empty());
}

TEST_CASE("tests.toml: a checker program is read in with its language", "[unit]") {
    TempDir dir;
    dir.write("1.in", "1");
    std::filesystem::create_directory(dir.path() + "/checkers");
    dir.write("checkers/check.py", "import sys\nsys.exit(0)\n");
    dir.write("check.txt", "print('hi')\n");

    SECTION("language from the extension") {
        dir.write("tests.toml",
                  "[checker]\ntype = \"program\"\nfile = \"checkers/check.py\"\nlimits = { time_ms = 3000 }\n");
        const TestSuite suite = load_test_dir(dir.path(), test::repo_registry());
        CHECK(suite.checker.kind == CheckerKind::Program);
        CHECK(suite.checker.language == "python");
        CHECK(suite.checker.code == "import sys\nsys.exit(0)\n");
        CHECK(suite.checker.limits.time_ms == 3000);
    }
    SECTION("language named, by alias") {
        dir.write("tests.toml", "[checker]\ntype = \"program\"\nfile = \"check.txt\"\nlanguage = \"py\"\n");
        const TestSuite suite = load_test_dir(dir.path(), test::repo_registry());
        CHECK(suite.checker.language == "python");
        CHECK(suite.checker.code == "print('hi')\n");
    }
    SECTION("no language for the extension") {
        dir.write("tests.toml", "[checker]\ntype = \"program\"\nfile = \"check.txt\"\n");
        CHECK_THAT(refusal(dir), Contains("tests.toml:3: [checker]: cannot tell the language of 'check.txt'"));
    }
    SECTION("unknown language") {
        dir.write("tests.toml", "[checker]\ntype = \"program\"\nfile = \"check.txt\"\nlanguage = \"nope\"\n");
        CHECK_THAT(refusal(dir), Contains("tests.toml:4: [checker]: unknown language 'nope'"));
    }
    SECTION("missing file") {
        dir.write("tests.toml", "[checker]\ntype = \"program\"\nfile = \"gone.py\"\n");
        CHECK_THAT(refusal(dir), Contains(dir.path() + "/gone.py: cannot read"));
    }
    SECTION("no file") {
        dir.write("tests.toml", "[checker]\ntype = \"program\"\n");
        CHECK_THAT(refusal(dir), Contains("[checker]: type = \"program\" needs 'file'"));
    }
    SECTION("a file outside the directory") {
        for (const char* path : {"../check.py", "/etc/passwd", "checkers/../../x.py", "./check.py", ""}) {
            dir.write("tests.toml", std::string("[checker]\ntype = \"program\"\nfile = \"") + path + "\"\n");
            CHECK_THAT(refusal(dir),
                       Contains("tests.toml:3: [checker]: 'file' must be a path inside the test directory"));
        }
    }
}

TEST_CASE("tests.toml refusals name file, line and key", "[unit]") {
    TempDir dir;
    dir.write("1.in", "1");
    const std::string origin = dir.path() + "/tests.toml";
    auto refused = [&](const std::string& toml) {
        dir.write("tests.toml", toml);
        return refusal(dir);
    };
    CHECK_THAT(refused("stop_on_failure = true\nstop_on_falure = true\n"),
               Contains(origin + ":2: top level: unknown key 'stop_on_falure'"));
    CHECK_THAT(refused("\n[limits]\ntime_ms = 1\ntime = 5\n"), Contains(origin + ":4: [limits]: unknown key 'time'"));
    CHECK_THAT(refused("[limits]\ntime_ms = 0\n"), Contains(origin + ":2: [limits]: 'time_ms' must be between 1 and"));
    CHECK_THAT(refused("[limits]\nmemory_mb = \"64\"\n"),
               Contains(origin + ":2: [limits]: 'memory_mb' must be an integer"));
    CHECK_THAT(refused("stop_on_failure = 1\n"),
               Contains(origin + ":1: top level: 'stop_on_failure' must be true or false"));
    CHECK_THAT(refused("[checker]\ntype = \"fuzzy\"\n"), Contains(origin + ":2: [checker]: unknown type 'fuzzy'"));
    CHECK_THAT(refused("[checker]\ntolerance = 1\n"), Contains(origin + ":2: [checker]: unknown key 'tolerance'"));
    CHECK_THAT(refused("[checker]\ntype = \"lines\"\nabs_tolerance = 0.1\n"),
               Contains(origin + ":3: [checker]: 'abs_tolerance' applies only to type = \"float\""));
    CHECK_THAT(refused("[checker]\ntype = \"float\"\nrel_tolerance = -1.0\n"),
               Contains(origin + ":3: [checker]: 'rel_tolerance' must be a finite number >= 0"));
    CHECK_THAT(refused("[checker]\ntype = \"float\"\nabs_tolerance = nan\n"), Contains("must be a finite number"));
    CHECK_THAT(refused("[checker]\nfile = \"check.py\"\n"),
               Contains(origin + ":2: [checker]: 'file' applies only to type = \"program\""));
    CHECK_THAT(refused("[checker]\ntype = \"program\"\nfile = \"c.py\"\nlimits = { time = 1 }\n"),
               Contains(origin + ":4: [checker] limits: unknown key 'time'"));
    CHECK_THAT(refused("[tests.1]\ntime_ms = 5\nmemory = 5\n"),
               Contains(origin + ":3: [tests.1]: unknown key 'memory'"));
    CHECK_THAT(refused("[tests.1]\nargs = [1]\n"), Contains(origin + ":2: [tests.1]: 'args' must hold only strings"));
    CHECK_THAT(refused("[tests.1]\ntime_ms = 5\n\n[tests.2]\ntime_ms = 5\n"),
               Contains(origin + ":4: [tests.2]: no test named '2' (2.in is missing)"));
    CHECK_THAT(refused("tests = 3\n"), Contains(origin + ":1: 'tests' must hold [tests.NAME] tables"));
    CHECK_THAT(refused("[limits]\ntime_ms = = 5\n"), Contains(origin + ":2: syntax error"));
    // Not UTF-8: refused before the TOML parser sees it (toml11 read outside
    // its buffer on a bad byte in a literal string: tests/fuzz found it).
    CHECK_THAT(refused("[checker]\n'N[F\xff\xff' = 1\n"),
               Contains(origin + ":2: not UTF-8 (byte 0xFF at column 5); a TOML file must be UTF-8"));
    CHECK_THAT(refused("# caf\xc3\xa9\n[tests.1]\nargs = ['\xe2\x82']\n"),
               Contains(origin + ":3: not UTF-8 (byte 0xE2 at column 10)"));
}

TEST_CASE("links that lead out of a test directory are refused, naming the file", "[unit]") {
    // An untrusted repository's tests: nothing outside the directory may be
    // read through a link (1.in -> /root/.ssh/id_rsa would be fed to the
    // program, which prints it).
    TempDir outside;
    outside.write("secret", "TOP-SECRET\n");
    std::filesystem::create_directory(outside.path() + "/checkers");
    outside.write("checkers/check.py", "print('TOP-SECRET')\n");
    TempDir dir;
    dir.write("1.in", "1\n");
    auto link = [&](const std::string& target, const std::string& name) {
        REQUIRE(symlink(target.c_str(), (dir.path() + "/" + name).c_str()) == 0);
    };
    auto refused = [&] {
        std::string why = refusal(dir);
        CHECK(why.find("TOP-SECRET") == std::string::npos);
        return why;
    };

    SECTION("an absolute link as a test's input") {
        link(outside.path() + "/secret", "2.in");
        CHECK_THAT(refused(), Contains(dir.path() + "/2.in") && Contains("leads out of"));
    }
    SECTION("a relative link climbing out as an expected output") {
        link("../" + std::filesystem::path(outside.path()).filename().string() + "/secret", "1.out");
        CHECK_THAT(refused(), Contains(dir.path() + "/1.out") && Contains("leads out of"));
    }
    SECTION("tests.toml itself") {
        outside.write("tests.toml", "stop_on_failure = true\n");
        link(outside.path() + "/tests.toml", "tests.toml");
        CHECK_THAT(refused(), Contains(dir.path() + "/tests.toml") && Contains("leads out of"));
    }
    SECTION("a checker program below a linked directory") {
        link(outside.path() + "/checkers", "checkers");
        dir.write("tests.toml", "[checker]\ntype = \"program\"\nfile = \"checkers/check.py\"\n");
        CHECK_THAT(refused(), Contains(dir.path() + "/checkers/check.py") && Contains("leads out of"));
    }
    SECTION("links that stay inside are followed") {
        dir.write("1.out", "2\n");
        link("1.in", "2.in");
        link("1.out", "2.out");
        const TestSuite suite = load_test_dir(dir.path(), test::repo_registry());
        REQUIRE(names_of(suite) == std::vector<std::string>{"1", "2"});
        CHECK(suite.tests[1].stdin_data == "1\n");
        CHECK(suite.tests[1].expected_output == std::optional<std::string>("2\n"));
    }
    SECTION("a FIFO named like a test is refused, not waited on") {
        REQUIRE(mkfifo((dir.path() + "/3.in").c_str(), 0644) == 0);
        CHECK_THAT(refused(), Contains(dir.path() + "/3.in: not a regular file"));
    }
}
