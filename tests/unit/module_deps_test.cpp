// Which way the modules depend, read from the sources' #include lines. Every
// quoted include names its module from the source root ("core/runner.h",
// "api/codec.h"), the only include directory the targets export, so the
// first component of what is written is the module it depends on: core
// includes nothing of api/, daemon/ or cmd/ and no Poco header; api/ nothing
// of daemon/ or cmd/ and neither the runner nor the sandbox; cmd/ nothing of
// daemon/ (exec talks to a daemon only over HTTP).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = EXECD_SOURCE_DIR;

struct Include {
    fs::path file;        // the including file
    std::string written;  // as written between the quotes or angle brackets
    bool quoted;
};

std::vector<Include> includes_of(const std::string& module) {
    static const std::regex include(R"(^\s*#\s*include\s*([<"])([^">]+)[">])");
    std::vector<Include> out;
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / module)) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
        std::ifstream in(entry.path());
        std::string line;
        while (std::getline(in, line)) {
            std::smatch m;
            if (std::regex_search(line, m, include)) out.push_back({entry.path(), m[2], m[1] == "\""});
        }
    }
    return out;
}

// The module a quoted include names: its first path component. The file
// must exist there (from the source root), or be a header CMake generates
// from the template there (core/version.h from core/version.h.in).
std::string module_named(const Include& inc) {
    INFO(inc.written << " is not a path from the source root");
    CHECK((fs::is_regular_file(kRoot / inc.written) || fs::is_regular_file(kRoot / (inc.written + ".in"))));
    const auto slash = inc.written.find('/');
    return slash == std::string::npos ? "" : inc.written.substr(0, slash);
}

}  // namespace

TEST_CASE("includes name their module and point one way: core <- api <- daemon, cmd never includes daemon", "[unit]") {
    size_t seen = 0;
    for (const auto& inc : includes_of("core")) {
        INFO(inc.file << ": " << inc.written);
        if (inc.quoted) {
            CHECK(module_named(inc) == "core");
            ++seen;
        } else {
            CHECK(inc.written.rfind("Poco/", 0) != 0);
        }
    }
    for (const auto& inc : includes_of("api")) {
        if (!inc.quoted) continue;
        INFO(inc.file << ": " << inc.written);
        const std::string module = module_named(inc);
        CHECK((module == "api" || module == "core"));
        CHECK(inc.written != "core/runner.h");
        CHECK(inc.written.rfind("core/sandbox/", 0) != 0);
        ++seen;
    }
    // cmd/ reaches a daemon only over HTTP; the daemon is above both.
    const std::map<std::string, std::set<std::string>> may_include{
        {"cmd", {"cmd", "core", "api"}},
        {"daemon", {"daemon", "core", "api"}},
    };
    for (const auto& [module, allowed] : may_include)
        for (const auto& inc : includes_of(module)) {
            if (!inc.quoted) continue;
            INFO(inc.file << ": " << inc.written);
            CHECK(allowed.count(module_named(inc)) == 1);
            ++seen;
        }
    // Tests may include any module, by its name too.
    for (const auto& inc : includes_of("tests")) {
        if (!inc.quoted) continue;
        INFO(inc.file << ": " << inc.written);
        CHECK_FALSE(module_named(inc).empty());
        ++seen;
    }
    CHECK(seen > 200);
}
