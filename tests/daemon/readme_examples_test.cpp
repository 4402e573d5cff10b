// The client examples of README.md's HTTP API section, run as they are
// printed (curl in bash, Python, JavaScript in Node.js) against a real execd:
// each block marked `<!-- example: NAME -->` is taken from the README, its
// base URL pointed at the test's execd, and its output checked.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;

namespace {

const char* kDocumentedBase = "http://127.0.0.1:3001";

// The fenced block after each `<!-- example: NAME -->` line, by NAME.
std::map<std::string, std::string> examples(const std::string& markdown) {
    std::map<std::string, std::string> out;
    std::istringstream in(markdown);
    std::string line, name;
    bool inside = false;
    std::string block;
    while (std::getline(in, line)) {
        if (inside) {
            if (line.rfind("```", 0) == 0) {
                out[name] = block;
                inside = false;
                name.clear();
            } else {
                block += line + "\n";
            }
        } else if (line.rfind("<!-- example: ", 0) == 0) {
            const auto end = line.find(" -->");
            name = line.substr(14, end == std::string::npos ? std::string::npos : end - 14);
        } else if (!name.empty() && line.rfind("```", 0) == 0) {
            inside = true;
            block.clear();
        }
    }
    return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
        text.replace(at, from.size(), to);
    return text;
}

}  // namespace

TEST_CASE("README's curl, Python and JavaScript examples submit a job and print its result", "[daemon]") {
    const auto blocks = examples(read_text(EXECD_SOURCE_DIR "/README.md"));
    REQUIRE(blocks.count("curl") == 1);
    REQUIRE(blocks.count("python") == 1);
    REQUIRE(blocks.count("javascript") == 1);

    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "2"});
    const std::string base = "http://127.0.0.1:" + std::to_string(execd.port());
    const std::string dir = make_temp_dir("execd-readme");

    struct Run {
        std::string name, file;
        std::vector<std::string> interpreter;
        std::vector<std::string> wanted;  // in its stdout
    };
    const std::vector<Run> runs{
        {"curl",
         "example.sh",
         {"/bin/bash"},
         {R"J("status":"completed")J", R"J("verdict":"OK")J", R"J("output":"42")J"}},
        {"python", "example.py", {"/usr/bin/python3"}, {"OK 42\n"}},
        {"javascript", "example.mjs", {"/usr/bin/node"}, {"OK 42\n"}},
    };
    for (const auto& run : runs) {
        INFO("the " << run.name << " example");
        const std::string& text = blocks.at(run.name);
        // It talks to the documented address, which is the test's execd here.
        REQUIRE_THAT(text, Contains(kDocumentedBase));
        const std::string file = dir + "/" + run.file;
        std::ofstream(file) << replace_all(text, kDocumentedBase, base);
        // Loopback only: no proxy a CI machine's environment may name.
        std::vector<std::string> argv{"/usr/bin/env", "-u", "http_proxy", "-u", "HTTP_PROXY", "-u", "https_proxy", "-u",
                                      "HTTPS_PROXY",  "-u", "all_proxy",  "-u", "ALL_PROXY"};
        argv.insert(argv.end(), run.interpreter.begin(), run.interpreter.end());
        argv.push_back(file);
        const Process p = run_process(argv);
        INFO("stdout: " << p.out << "\nstderr: " << p.err);
        CHECK(p.exit_code == 0);
        for (const auto& w : run.wanted) CHECK_THAT(p.out, Contains(w));
    }
    CHECK(execd.stop(SIGTERM) == 0);
}
