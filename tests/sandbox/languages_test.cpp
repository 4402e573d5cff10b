// Every registered language: hello world, stdin echo, a runtime error, and
// for compiled ones a compile error with the compiler's message. A language
// whose toolchain is missing fails here: CI installs every one.
#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support.h"

using namespace execd;
using namespace execd::test;

namespace {

std::string sample(const Language& lang, const std::string& kind) {
    const std::string dir = std::string(EXECD_SOURCE_DIR) + "/tests/langs/" + lang.id + "/";
    for (const auto& ext : lang.extensions) {
        std::string path = dir + kind + "." + ext;
        if (std::filesystem::exists(path)) return read_text(path);
    }
    FAIL("no sample " << kind << " for " << lang.id << " in " << dir);
    return {};
}

}  // namespace

TEST_CASE("every registered language runs its samples", "[languages]") {
    for (const Language& lang : repo_registry().languages()) {
        DYNAMIC_SECTION(lang.id) {
            REQUIRE(lang.usable());
            LimitOverrides generous;  // a loaded CI machine is slow to start JVMs
            generous.time_ms = std::max<int64_t>(lang.limits.time_ms.value_or(3000), 10000);

            auto hello = run_code(lang.id, sample(lang, "hello"), {}, generous);
            INFO(hello.run.message << (hello.compile ? hello.compile->stderr_data : "") << hello.run.stderr_data);
            CHECK(hello.run.verdict == Verdict::OK);
            CHECK(hello.run.stdout_data == "hello\n");

            const std::string input = "first line\nsecond line\nno newline at the end";
            auto echo = run_code(lang.id, sample(lang, "echo"), input, generous);
            INFO(echo.run.message << echo.run.stderr_data);
            CHECK(echo.run.verdict == Verdict::OK);
            CHECK(echo.run.stdout_data == input);

            auto error = run_code(lang.id, sample(lang, "error"), {}, generous);
            CHECK(error.run.verdict == Verdict::RuntimeError);
            CHECK(error.run.exit_code == 3);
            CHECK_FALSE(error.run.stderr_data.empty());

            if (lang.compiled()) {
                auto bad = run_code(lang.id, sample(lang, "compile_error"), {}, generous);
                CHECK(bad.run.verdict == Verdict::CompileError);
                CHECK_FALSE(bad.run.message.empty());
                REQUIRE(bad.compile.has_value());
                CHECK(bad.compile->verdict != Verdict::OK);
            }
        }
    }
}
