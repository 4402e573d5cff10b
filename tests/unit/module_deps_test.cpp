// Which way the modules depend, read from the sources' #include lines: core
// includes nothing of api/, daemon/ or cmd/; api/ nothing of daemon/ or cmd/
// and not the runner; cmd/ nothing of daemon/ (exec talks to a daemon only
// over HTTP). Each quoted include is resolved the way the compiler does for
// that module's target: the including file's directory, then the target's
// include directories in order; then the other modules' directories, so an
// include that only another module could satisfy is reported as that
// module's instead of going unnoticed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = EXECD_SOURCE_DIR;

struct Include {
    fs::path file;        // the including file
    std::string written;  // as written between the quotes
    fs::path resolved;    // the file it names; empty when generated at build time
};

// Every quoted include of the sources below `module`, resolved against
// `search` (the target's include directories, in order).
std::vector<Include> includes_of(const std::string& module, const std::vector<fs::path>& search) {
    static const std::regex quoted(R"(^\s*#\s*include\s*"([^"]+)\")");
    std::vector<Include> out;
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / module)) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
        std::ifstream in(entry.path());
        std::string line;
        while (std::getline(in, line)) {
            std::smatch m;
            if (!std::regex_search(line, m, quoted)) continue;
            Include inc{entry.path(), m[1], {}};
            std::vector<fs::path> dirs{entry.path().parent_path()};
            dirs.insert(dirs.end(), search.begin(), search.end());
            for (const auto& dir : dirs)
                if (fs::exists(dir / inc.written)) {
                    inc.resolved = fs::weakly_canonical(dir / inc.written);
                    break;
                }
            out.push_back(std::move(inc));
        }
    }
    return out;
}

// The top-level directory `path` is in ("core", "api", ...).
std::string module_of(const fs::path& path) {
    const fs::path rel = fs::relative(path, fs::weakly_canonical(kRoot));
    return rel.begin()->string();
}

}  // namespace

TEST_CASE("includes point one way: core <- api <- daemon, and cmd never includes daemon", "[unit]") {
    // As in the CMakeLists: execd_core exports core/ (and the generated
    // version.h); execd_api the source root; execd_cli cmd/; execd_daemon daemon/.
    const fs::path core = kRoot / "core", root = kRoot, cmd = kRoot / "cmd", daemon = kRoot / "daemon";

    for (const auto& inc : includes_of("core", {core, root, daemon, cmd})) {
        INFO(inc.file << ": \"" << inc.written << "\"");
        if (inc.resolved.empty()) {
            CHECK(inc.written == "version.h");  // generated from core/version.h.in
            continue;
        }
        CHECK(module_of(inc.resolved) == "core");
    }

    size_t api_includes = 0;
    for (const auto& inc : includes_of("api", {root, core, daemon, cmd})) {
        INFO(inc.file << ": \"" << inc.written << "\"");
        REQUIRE_FALSE(inc.resolved.empty());
        const std::string module = module_of(inc.resolved);
        CHECK((module == "api" || module == "core"));
        if (module == "api") CHECK(inc.written.rfind("api/", 0) == 0);  // module-qualified
        CHECK(inc.resolved.filename() != "runner.h");
        CHECK(inc.resolved.parent_path().filename() != "sandbox");
        ++api_includes;
    }
    CHECK(api_includes > 0);

    for (const auto& inc : includes_of("cmd", {cmd, core, root, daemon})) {
        INFO(inc.file << ": \"" << inc.written << "\"");
        if (inc.resolved.empty()) {
            CHECK(inc.written == "version.h");
            continue;
        }
        const std::string module = module_of(inc.resolved);
        CHECK((module == "cmd" || module == "core" || module == "api"));
        if (module == "api") CHECK(inc.written.rfind("api/", 0) == 0);
    }

    // The daemon reaches the wire format by its module's name too.
    for (const auto& inc : includes_of("daemon", {daemon, core, root, cmd})) {
        INFO(inc.file << ": \"" << inc.written << "\"");
        if (inc.resolved.empty()) continue;  // version.h
        const std::string module = module_of(inc.resolved);
        CHECK((module == "daemon" || module == "core" || module == "api"));
        if (module == "api") CHECK(inc.written.rfind("api/", 0) == 0);
    }
}
