// One version, project(VERSION) of the top-level CMakeLists.txt: what the
// built `exec --version` and `execd --version` print, and the version in the
// .TH line of every man page in man/.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace execd::test;

namespace {

// tests/CMakeLists.txt passes ${PROJECT_VERSION}, not the generated header,
// so a header that stopped following project(VERSION) would be caught too.
const std::string kProjectVersion = EXECD_PROJECT_VERSION;

}  // namespace

TEST_CASE("exec --version and execd --version print the project version", "[cli]") {
    REQUIRE(std::regex_match(kProjectVersion, std::regex(R"(\d+\.\d+\.\d+)")));

    auto exec = run_process({EXECD_EXEC_BINARY, "--version"});
    CHECK(exec.exit_code == 0);
    CHECK(exec.out == "exec " + kProjectVersion + "\n");
    CHECK(exec.err.empty());

    auto daemon = run_process({EXECD_DAEMON_BINARY, "--version"});
    CHECK(daemon.exit_code == 0);
    CHECK(daemon.out == "execd " + kProjectVersion + "\n");
    CHECK(daemon.err.empty());  // nothing logged: nothing was started
}

TEST_CASE("execd --version needs no root and starts nothing", "[cli]") {
    // As nobody (uid 65534), execd would fail to set up its sandbox and exit 1
    // had it gone past its options. It runs from a copy in a directory every
    // user may enter, since the build tree may not be one.
    const std::string dir = make_temp_dir("execd-version");
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    const std::string copy = dir + "/execd";
    std::filesystem::copy_file(EXECD_DAEMON_BINARY, copy);
    auto nobody =
        run_process({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", copy, "--version"});
    std::filesystem::remove_all(dir);
    INFO(nobody.err);
    CHECK(nobody.exit_code == 0);
    CHECK(nobody.out == "execd " + kProjectVersion + "\n");
    CHECK(nobody.err.empty());
}

TEST_CASE("the man pages carry the project version", "[cli]") {
    // Every page in man/ (exec.1, execd.8, execd.toml.5, languages.toml.5);
    // they stay plain roff so that `man ./man/exec.1` reads the source tree.
    std::vector<std::string> pages;
    for (const auto& entry : std::filesystem::directory_iterator(EXECD_SOURCE_DIR "/man"))
        if (std::regex_match(entry.path().filename().string(), std::regex(R"(.+\.[1-8])")))
            pages.push_back(entry.path());
    CHECK(pages.size() >= 4);
    for (const auto& page : pages) {
        INFO(page);
        std::istringstream text(read_text(page));
        std::string line, th;
        while (std::getline(text, line))
            if (line.rfind(".TH ", 0) == 0) {
                th = line;
                break;
            }
        // .TH TITLE SECTION DATE SOURCE MANUAL: the source is "execd VERSION".
        const auto args = execd::test::roff_arguments(th.empty() ? th : th.substr(4));
        REQUIRE(args.size() == 5);
        CHECK(args[3] == "execd " + kProjectVersion);
    }
}
