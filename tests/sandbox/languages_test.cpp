// Every registered language: hello world, stdin echo, a runtime error, a
// busy loop stopped at the time limit, 1 GB held stopped at the memory limit,
// and for compiled ones a compile error with the compiler's message. A
// language whose toolchain is missing fails here: CI installs every one.
#include <catch2/catch.hpp>

#include "tests/support.h"

using namespace execd;
using namespace execd::test;

namespace {

// The sample `kind` of a language (language_sample); every language has each.
std::string sample(const Language& lang, const std::string& kind) {
    const std::string path = language_sample(lang, kind);
    if (path.empty()) FAIL("no sample " << kind << " for " << lang.id << " in tests/langs/" << lang.id);
    return read_text(path);
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

            // A busy loop ends at the time limit, however the runtime starts.
            LimitOverrides short_limit;
            short_limit.time_ms = 1500;
            auto busy = run_code(lang.id, sample(lang, "loop"), {}, short_limit);
            INFO(busy.run.message << (busy.compile ? busy.compile->stderr_data : "") << busy.run.stderr_data);
            CHECK(busy.run.verdict == Verdict::TimeLimitExceeded);

            // 1 GB held, each page written, is stopped by the limit, not by a
            // flag or a fixed heap of the runtime's own (the JVM's -Xmx, GNU
            // Prolog's stacks: the registry sizes them from the limit).
            auto big = run_code(lang.id, sample(lang, "memory"), {}, generous);
            INFO(big.run.message << (big.compile ? big.compile->stderr_data : "") << big.run.stderr_data);
            CHECK(big.run.verdict == Verdict::MemoryLimitExceeded);
            CHECK(big.run.stdout_data.empty());

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

TEST_CASE("D collects on the program's own thread: no marking threads per CPU, arguments untouched", "[languages]") {
    // druntime would start a marking thread for each logical CPU that CPUID
    // reports (254 on an EPYC host), well past the box's pids limit.
    const char* program = R"D(
import core.memory, std.algorithm, std.file, std.stdio, std.string;
void main(string[] args) {
    ubyte[][] kept;
    foreach (i; 0 .. 64) kept ~= new ubyte[1 << 20];
    GC.collect();
    foreach (line; readText("/proc/self/status").splitLines)
        if (line.startsWith("Threads:")) writeln(line.split()[1]);
    writeln(args[1 .. $]);
}
)D";
    for (const char* id : {"d", "ldc"}) {
        DYNAMIC_SECTION(id) {
            Runner runner(shared_sandbox(), repo_registry());
            JobRequest req;
            req.language = id;
            req.code = program;
            req.args = {"--flag", "x"};
            req.limits.time_ms = 10000;
            auto r = runner.run(req);
            INFO(r.run.message << (r.compile ? r.compile->stderr_data : "") << r.run.stderr_data);
            CHECK(r.run.verdict == Verdict::OK);
            CHECK(r.run.stdout_data == "1\n[\"--flag\", \"x\"]\n");
        }
    }
}

TEST_CASE("C and C++ take GNU dialects: POSIX and GNU extensions compile without flags; cpp20 is C++20",
          "[languages]") {
    // MAP_ANONYMOUS, strdup and getline are declared only outside strict ISO
    // modes (-std=c17 hides them).
    const char* c_program = R"C(
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
int main(void) {
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 1;
    char *line = NULL;
    size_t size = 0;
    ssize_t n = getline(&line, &size, stdin);
    char *copy = strdup(n > 0 ? line : "");
    strcpy(page, copy);
    printf("%s", page);
    free(copy);
    free(line);
    return 0;
}
)C";
    auto c = run_code("c", c_program, "gnu extensions\n");
    INFO(c.run.message << (c.compile ? c.compile->stderr_data : ""));
    CHECK(c.run.verdict == Verdict::OK);
    CHECK(c.run.stdout_data == "gnu extensions\n");

    // The same in C++ (g++'s own default is a GNU dialect too), and typeof.
    const char* cpp_program = R"C(
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <sys/mman.h>
int main() {
    void *page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *copy = strdup("gnu++");
    __typeof__(copy) same = copy;
    std::printf("%s %d\n", same, page != MAP_FAILED);
    std::free(copy);
    return 0;
}
)C";
    for (const char* id : {"cpp", "cpp20"}) {
        auto cpp = run_code(id, cpp_program);
        INFO(id << ": " << cpp.run.message << (cpp.compile ? cpp.compile->stderr_data : ""));
        CHECK(cpp.run.verdict == Verdict::OK);
        CHECK(cpp.run.stdout_data == "gnu++ 1\n");
    }

    // cpp20 compiles C++20 (its hello sample needs it), and cpp does not.
    const std::string cxx20 = read_text(EXECD_SOURCE_DIR "/tests/langs/cpp20/hello.cpp");
    auto modern = run_code("cpp20", cxx20);
    CHECK(modern.run.verdict == Verdict::OK);
    CHECK(run_code("cpp", cxx20).run.verdict == Verdict::CompileError);

    // A variant is chosen by its id and aliases, never by extension.
    const Registry& registry = repo_registry();
    REQUIRE(registry.by_extension("cpp") != nullptr);
    CHECK(registry.by_extension("cpp")->id == "cpp");
    REQUIRE(registry.find("c++20") != nullptr);
    CHECK(registry.find("c++20")->id == "cpp20");
}

TEST_CASE("one language of every runtime family runs and is stopped by its limits, on cgroup v1 and v2",
          "[languages][v2]") {
    // Native code (GCC, LLVM, GHC's RTS, OCaml), the JVM, Mono, V8, the
    // Erlang VM, CPython and PyPy, Ruby, SBCL and Racket (Chez Scheme).
    // In the cgroup v2 run (QEMU, its CPU emulated) compilers and runtimes
    // are several times slower: test_time_scale() stretches the compile
    // steps and the generous limits, never the short one under test.
    Runner runner(shared_sandbox(), scaled_registry());
    auto run = [&](const char* id, const std::string& code, LimitOverrides limits) {
        JobRequest req;
        req.language = id;
        req.code = code;
        req.limits = limits;
        return runner.run(req);
    };
    for (const char* id : {"c", "rust", "haskell", "ocaml", "java", "csharp", "javascript", "go", "erlang", "python",
                           "pypy", "ruby", "commonlisp", "racket"}) {
        const Language* lang = repo_registry().find(id);
        REQUIRE(lang != nullptr);
        DYNAMIC_SECTION(id) {
            LimitOverrides generous;
            generous.time_ms = std::max<int64_t>(lang->limits.time_ms.value_or(3000), 10000) * test_time_scale();
            auto hello = run(id, sample(*lang, "hello"), generous);
            INFO(hello.run.message << (hello.compile ? hello.compile->stderr_data : "") << hello.run.stderr_data);
            CHECK(hello.run.verdict == Verdict::OK);
            CHECK(hello.run.stdout_data == "hello\n");
            CHECK(hello.run.memory_kb > 0);

            LimitOverrides short_limit;
            short_limit.time_ms = 1500;
            CHECK(run(id, sample(*lang, "loop"), short_limit).run.verdict == Verdict::TimeLimitExceeded);

            auto big = run(id, sample(*lang, "memory"), generous);
            INFO(big.run.message << (big.compile ? big.compile->stderr_data : "") << big.run.stderr_data);
            CHECK(big.run.verdict == Verdict::MemoryLimitExceeded);
        }
    }
}
