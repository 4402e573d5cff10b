// `exec test` as CI runs it: the sample folder in examples/grading, exit
// statuses, a JUnit report that validates against the JUnit schema, and the
// same report whether the engine is in-process or a server.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;

namespace {

const std::string kExec = EXECD_EXEC_BINARY;
const std::string kSamples = EXECD_SOURCE_DIR "/examples/grading";

Process exec(std::vector<std::string> args) {
    args.insert(args.begin(), kExec);
    return run_process(args);
}

// xmllint's exit status validating `path` against the JUnit schema.
int validate_junit(const std::string& path) {
    auto p = run_process({"/usr/bin/xmllint", "--noout", "--schema", EXECD_SOURCE_DIR "/tests/data/junit.xsd", path});
    INFO(p.err);
    return p.exit_code;
}

// A report with its measurements (times, memory, compile time or cache)
// blanked, so two runs of the same job compare equal.
std::string without_measurements(std::string text) {
    text = std::regex_replace(text, std::regex(R"(time="[0-9.]+")"), R"(time="T")");
    text = std::regex_replace(text, std::regex(R"(<property name="compile[^/]*/>)"), "<property compile/>");
    text = std::regex_replace(text, std::regex(R"((time_ms|memory_kb): [0-9]+)"), "$1: N");
    text = std::regex_replace(text, std::regex(R"(compiled in [0-9]+ ms|compile cached)"), "compile");
    return text;
}

}  // namespace

TEST_CASE("exec test grades a folder and writes JUnit that validates", "[cli]") {
    const std::string dir = make_temp_dir("execd-grade");

    // Adds in int: test 3 overflows.
    auto failing = exec(
        {"test", kSamples + "/submissions/sum_int.c", "--tests", kSamples + "/tests", "--junit", dir + "/int.xml"});
    INFO(failing.out << failing.err);
    CHECK(failing.exit_code == 1);
    CHECK_THAT(failing.out, Contains("WrongAnswer") && Contains("3/4 passed"));
    CHECK(validate_junit(dir + "/int.xml") == 0);
    const std::string xml = read_text(dir + "/int.xml");
    CHECK_THAT(xml,
               Contains(R"(tests="4" failures="1")") && Contains(R"(type="WrongAnswer")") && Contains("4000000000"));

    for (const char* good : {"sum.cpp", "sum.py"}) {
        auto passing = exec(
            {"test", kSamples + "/submissions/" + good, "--tests", kSamples + "/tests", "--junit", dir + "/good.xml"});
        INFO(good << passing.out << passing.err);
        CHECK(passing.exit_code == 0);
        CHECK_THAT(passing.out, Contains("4/4 passed"));
        CHECK(validate_junit(dir + "/good.xml") == 0);
    }

    // `exec run FILE --tests DIR` is the same grading.
    auto run = exec({"run", kSamples + "/submissions/sum_int.c", "--tests", kSamples + "/tests"});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.out, Contains("3/4 passed"));

    // TAP and JSON on stdout.
    auto tap = exec({"test", kSamples + "/submissions/sum_int.c", "--tests", kSamples + "/tests", "--tap"});
    CHECK(tap.exit_code == 1);
    CHECK_THAT(tap.out, Contains("1..4") && Contains("not ok 3 - 3") && Contains("ok 4 - 4"));
    auto json = exec({"test", kSamples + "/submissions/sum_int.c", "--tests", kSamples + "/tests", "--json"});
    CHECK(json.exit_code == 1);
    CHECK_THAT(json.out, Contains(R"("failedTest":"3")") && Contains(R"("testsPassed":3)"));
}

TEST_CASE("exec test with a checker program, per-test limits and a compile error", "[cli]") {
    const std::string dir = make_temp_dir("execd-grade");
    std::ofstream(dir + "/a.in") << "3\n";
    std::ofstream(dir + "/a.out") << "any two numbers summing to 3\n";
    std::ofstream(dir + "/b.in") << "10\n";
    std::ofstream(dir + "/b.out") << "any two numbers summing to 10\n";
    std::ofstream(dir + "/slow.in") << "-1\n";
    std::ofstream(dir + "/tests.toml") << "[checker]\ntype = \"program\"\nfile = \"check.py\"\n"
                                          "[tests.slow]\ntime_ms = 300\n";
    // Accepts any pair summing to the input.
    std::ofstream(dir + "/check.py") << "import sys\nn = int(open(sys.argv[1]).read())\n"
                                        "a, b = map(int, open(sys.argv[2]).read().split())\n"
                                        "print(f'{a} + {b}')\nsys.exit(0 if a + b == n else 1)\n";
    const std::string solution = dir + "/pair.py";
    std::ofstream(solution) << "import time\nn = int(input())\nif n < 0: time.sleep(5)\n"
                               "print(1, n - 1 if n < 10 else n)\n";
    auto p = exec({"test", solution, "--tests", dir, "--tap"});
    INFO(p.out << p.err);
    CHECK(p.exit_code == 1);
    CHECK_THAT(p.out, Contains("ok 1 - a") && Contains("not ok 2 - b") && Contains("not ok 3 - slow") &&
                          Contains("TimeLimitExceeded") && Contains("WrongAnswer"));

    std::ofstream(dir + "/broken.c") << "int main( {\n";
    std::ofstream(dir + "/tests.toml", std::ios::trunc) << "";
    auto c = exec({"test", dir + "/broken.c", "--tests", dir, "--junit", dir + "/broken.xml"});
    CHECK(c.exit_code == 1);
    CHECK_THAT(c.out, Contains("CompileError"));
    CHECK(validate_junit(dir + "/broken.xml") == 0);
    CHECK_THAT(read_text(dir + "/broken.xml"), Contains(R"(type="CompileError")"));

    auto missing = exec({"test", solution, "--tests", dir + "/nowhere"});
    CHECK(missing.exit_code == 2);
}

TEST_CASE("exec test through a server gives the report it gives in-process", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1"});
    const std::string server = "http://127.0.0.1:" + std::to_string(execd.port());
    const std::string dir = make_temp_dir("execd-grade");

    for (const char* solution : {"sum_int.c", "sum.py"}) {
        const std::string path = kSamples + "/submissions/" + solution;
        auto local = exec({"--local", "test", path, "--tests", kSamples + "/tests", "--junit", dir + "/local.xml"});
        auto remote =
            exec({"--server", server, "test", path, "--tests", kSamples + "/tests", "--junit", dir + "/remote.xml"});
        INFO(solution << "\n" << local.out << local.err << "\n" << remote.out << remote.err);
        CHECK(local.exit_code == remote.exit_code);
        CHECK(validate_junit(dir + "/remote.xml") == 0);
        CHECK(without_measurements(read_text(dir + "/local.xml")) ==
              without_measurements(read_text(dir + "/remote.xml")));

        auto local_tap = exec({"--local", "test", path, "--tests", kSamples + "/tests", "--tap"});
        auto remote_tap = exec({"--server", server, "test", path, "--tests", kSamples + "/tests", "--tap"});
        CHECK(without_measurements(local_tap.out) == without_measurements(remote_tap.out));
    }
}
