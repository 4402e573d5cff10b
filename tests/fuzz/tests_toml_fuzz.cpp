// tests.toml, through the loader `exec test --tests DIR` uses: a directory
// with two tests and a checker program, whose tests.toml is the input. Any
// text gives a test suite or a TestDirError naming a file; no other
// exception, no crash.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cmd/testdir.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;

namespace {

constexpr const char* kFiles[] = {"1.in", "1.out", "sample 2.in", "check.py", "tests.toml"};

// Made once per process, removed when it exits (the path is never freed:
// the exit handler runs after static objects are destroyed).
const std::string& test_dir() {
    static const std::string* const dir = [] {
        std::string path = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/execd-fuzz-XXXXXX");
        if (!::mkdtemp(path.data())) std::abort();
        for (const char* name : kFiles) std::ofstream(path + "/" + name) << "1\n";
        std::atexit([] {
            for (const char* name : kFiles) ::unlink((test_dir() + "/" + name).c_str());
            ::rmdir(test_dir().c_str());
        });
        return new std::string(path);
    }();
    return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& dir = test_dir();
    {
        std::ofstream out(dir + "/tests.toml", std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    try {
        const cli::TestSuite suite = cli::load_test_dir(dir, fuzz::registry());
        FUZZ_REQUIRE(suite.tests.size() == 2);
        if (suite.checker.kind == CheckerKind::Program) FUZZ_REQUIRE(suite.checker.code == "1\n");
    } catch (const cli::TestDirError& e) {
        FUZZ_REQUIRE(std::string(e.what()).rfind(dir + "/", 0) == 0);  // names tests.toml or the checker file
    }
    return 0;
}
