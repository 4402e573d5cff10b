// Grading in the real sandbox: compile once and run many tests, checkers
// (built-in and a program in its own box), multi-file submissions, and the
// compile cache with its read-only artifacts.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/compile_cache.h"
#include "tests/support.h"

using namespace execd;
using namespace execd::test;

namespace {

// Doubles its input; loops forever on 5.
const char* kDoubler = R"(#include <iostream>
int main() {
    long n;
    std::cin >> n;
    if (n == 5) for (volatile long i = 0;; ++i) {}
    std::cout << n * 2 << "\n";
}
)";

TestCase test_case(std::string name, std::string in, std::optional<std::string> expected) {
    TestCase t;
    t.name = std::move(name);
    t.stdin_data = std::move(in);
    t.expected_output = std::move(expected);
    return t;
}

// Five tests: 3 expects a wrong answer, 5 never ends.
JobRequest five_tests() {
    JobRequest r;
    r.language = "cpp";
    r.code = kDoubler;
    r.limits.time_ms = 1000;
    r.tests = {test_case("one", "1\n", "2\n"), test_case("two", "2\n", "4\n"), test_case("three", "3\n", "7\n"),
               test_case("four", "4\n", "8\n"), test_case("five", "5\n", "10\n")};
    return r;
}

}  // namespace

TEST_CASE("a C++ solution is compiled once and judged per test", "[sandbox]") {
    Runner runner(shared_sandbox(), repo_registry());

    SECTION("run all: every test has its own verdict") {
        JobResult r = runner.run(five_tests());
        INFO(r.run.message);
        REQUIRE(runner.compile_steps() == 1);
        REQUIRE(r.tests.size() == 5);
        CHECK(r.run.verdict == Verdict::WrongAnswer);
        CHECK(r.failed_test == "three");
        CHECK(r.run.message.find("three") != std::string::npos);
        CHECK(r.tests[0].result.verdict == Verdict::OK);
        CHECK(r.tests[1].result.verdict == Verdict::OK);
        CHECK(r.tests[2].result.verdict == Verdict::WrongAnswer);
        CHECK(r.tests[2].result.stdout_data == "6\n");
        CHECK(r.tests[2].result.exit_code == 0);
        CHECK(r.tests[3].result.verdict == Verdict::OK);
        CHECK(r.tests[4].result.verdict == Verdict::TimeLimitExceeded);
        CHECK(r.tests[4].result.exit_code == kExitTimeLimit);
        CHECK(r.tests[4].result.time_ms >= 1000);
        // Totals over the tests.
        CHECK(r.run.time_ms >= r.tests[4].result.time_ms);
    }

    SECTION("stop at the first failure: the rest are skipped") {
        JobRequest req = five_tests();
        req.stop_on_failure = true;
        std::vector<std::string> seen;
        req.on_test = [&](const TestResult& t, size_t, size_t total) {
            CHECK(total == 5);
            seen.push_back(t.name);
        };
        JobResult r = runner.run(req);
        REQUIRE(r.tests.size() == 5);
        CHECK(r.run.verdict == Verdict::WrongAnswer);
        CHECK(r.failed_test == "three");
        CHECK(r.tests[3].result.verdict == Verdict::Skipped);
        CHECK(r.tests[4].result.verdict == Verdict::Skipped);
        CHECK(seen == std::vector<std::string>{"one", "two", "three"});
        // Well under the 1 s the looping test would have taken.
        CHECK(r.run.time_ms < 1000);
    }

    SECTION("all pass: OK, and no test output kept beyond the cap") {
        JobRequest req = five_tests();
        req.tests.resize(2);
        JobResult r = runner.run(req);
        CHECK(r.run.verdict == Verdict::OK);
        CHECK(r.failed_test.empty());
        CHECK(r.run.exit_code == 0);
    }

    SECTION("a test's own limits and args") {
        JobRequest req;
        req.language = "python";
        req.code = "import sys, time\ntime.sleep(float(sys.argv[1]))\nprint(sys.argv[1])\n";
        TestCase quick = test_case("quick", "", "0.01\n");
        quick.args = {"0.01"};
        TestCase slow = test_case("slow", "", "1.5\n");
        slow.args = {"1.5"};
        slow.time_ms = 500;
        req.tests = {quick, slow};
        JobResult r = runner.run(req);
        REQUIRE(r.tests.size() == 2);
        CHECK(r.tests[0].result.verdict == Verdict::OK);
        CHECK(r.tests[1].result.verdict == Verdict::TimeLimitExceeded);
    }
}

TEST_CASE("the output limit grows with a test's expected output unless set", "[sandbox]") {
    Runner runner(shared_sandbox(), repo_registry());
    JobRequest req;
    req.language = "python";
    req.code = "print('x' * 20000)\n";
    req.tests = {test_case("big", "", std::string(20000, 'x') + "\n")};
    JobResult r = runner.run(req);
    CHECK(r.run.verdict == Verdict::OK);
    CHECK(r.tests[0].output_truncated);
    CHECK(r.tests[0].result.stdout_data.size() == kTestOutputKeepBytes);

    req.limits.output_bytes = 4096;  // an explicit limit is kept
    r = runner.run(req);
    CHECK(r.run.verdict == Verdict::OutputLimitExceeded);
}

TEST_CASE("built-in checkers through the runner", "[sandbox]") {
    Runner runner(shared_sandbox(), repo_registry());
    JobRequest req;
    req.language = "python";
    req.code = "import sys\nprint(f'{float(sys.stdin.read()) / 3:.7f}   ')\n";
    req.tests = {test_case("third", "1", "0.333333\n")};

    req.checker.kind = CheckerKind::Float;
    req.checker.abs_tolerance = 1e-6;
    req.checker.rel_tolerance = 1e-6;
    CHECK(runner.run(req).run.verdict == Verdict::OK);  // 0.3333333 vs 0.333333: off by 3.3e-7

    req.tests = {test_case("third", "1", "0.333330\n")};  // off by 3.3e-6
    JobResult r = runner.run(req);
    CHECK(r.run.verdict == Verdict::WrongAnswer);
    CHECK_FALSE(r.tests[0].result.message.empty());

    req.checker.kind = CheckerKind::Lines;
    req.tests = {test_case("third", "1", "0.3333333\n\n")};  // trailing spaces and lines do not matter
    CHECK(runner.run(req).run.verdict == Verdict::OK);
    req.checker.kind = CheckerKind::Exact;
    CHECK(runner.run(req).run.verdict == Verdict::WrongAnswer);
    req.tests = {test_case("third", "1", "0.3333333   \n")};
    CHECK(runner.run(req).run.verdict == Verdict::OK);
}

TEST_CASE("a checker program in its own box decides", "[sandbox]") {
    Runner runner(shared_sandbox(), repo_registry());
    JobRequest req;
    req.language = "python";
    // Prints some permutation of its input's numbers.
    req.code = "import sys\nprint(*sorted(sys.stdin.read().split(), reverse=True))\n";
    req.tests = {test_case("ok", "3 1 2", "1 2 3"), test_case("wrong", "3 1 2 9", "1 2 3 4")};
    req.checker.kind = CheckerKind::Program;
    req.checker.language = "python";
    // Accepts any permutation: a judge's special checker. It also proves it
    // cannot see the program's files and the program cannot see the answer.
    req.checker.code = R"(import os, sys
inp, out, ans = (open(p).read() for p in sys.argv[1:4])
assert sorted(os.listdir('/box')) == ['actual.txt', 'expected.txt', 'input.txt', 'main.py'], os.listdir('/box')
if sorted(out.split()) == sorted(ans.split()):
    print('a permutation of the answer')
    sys.exit(0)
print('not a permutation: ' + out.strip())
sys.exit(1)
)";
    JobResult r = runner.run(req);
    INFO(r.run.message);
    REQUIRE(r.tests.size() == 2);
    CHECK(r.tests[0].result.verdict == Verdict::OK);
    CHECK(r.tests[0].result.message == "a permutation of the answer");
    CHECK(r.tests[1].result.verdict == Verdict::WrongAnswer);
    CHECK(r.tests[1].result.message == "not a permutation: 9 3 2 1");
    CHECK(r.run.verdict == Verdict::WrongAnswer);

    SECTION("the program cannot read the expected output") {
        req.code = "import os\nprint(sorted(os.listdir('/box')))\n";
        req.tests = {test_case("look", "", "['main.py']\n")};
        req.checker.kind = CheckerKind::Lines;
        CHECK(runner.run(req).run.verdict == Verdict::OK);
    }

    SECTION("a checker that loops forever is a CheckerError, not the program's fault") {
        req.checker.code = "while True:\n    pass\n";
        req.checker.limits.time_ms = 500;
        JobResult bad = runner.run(req);
        REQUIRE(bad.tests.size() == 2);
        CHECK(bad.tests[0].result.verdict == Verdict::CheckerError);
        CHECK(bad.tests[0].result.message.find("time limit") != std::string::npos);
        CHECK(bad.run.verdict == Verdict::CheckerError);
    }

    SECTION("a checker that crashes or exits 3 is a CheckerError") {
        req.checker.code = "import sys\nprint('internal checker trouble')\nsys.exit(3)\n";
        JobResult bad = runner.run(req);
        CHECK(bad.tests[0].result.verdict == Verdict::CheckerError);
        CHECK(bad.tests[0].result.message.find("internal checker trouble") != std::string::npos);
    }

    SECTION("a compiled checker that does not compile") {
        req.checker.language = "c";
        req.checker.code = "int main( { return 0; }\n";
        JobResult bad = runner.run(req);
        CHECK(bad.run.verdict == Verdict::CheckerError);
        CHECK(bad.run.message.find("did not compile") != std::string::npos);
        REQUIRE(bad.tests.size() == 2);
        CHECK(bad.tests[0].result.verdict == Verdict::Skipped);
    }

    SECTION("a checker named for a reserved data file is refused") {
        req.checker.files = {SourceFile{"main.py", "pass\n"}, SourceFile{"expected.txt", "x"}};
        CHECK_THROWS_AS(runner.run(req), BadRequest);
    }
}

TEST_CASE("multi-file submissions compile together", "[sandbox]") {
    Runner runner(shared_sandbox(), repo_registry());

    SECTION("a C project of three .c files, one in a subdirectory") {
        JobRequest req;
        req.language = "c";
        req.files = {SourceFile{"main.c",
                                "#include \"lib/add.h\"\n#include <stdio.h>\nint twice(int);\n"
                                "int main(void) { printf(\"%d\\n\", add(twice(20), 2)); return 0; }\n"},
                     SourceFile{"twice.c", "int twice(int x) { return 2 * x; }\n"},
                     SourceFile{"lib/add.c", "#include \"add.h\"\nint add(int a, int b) { return a + b; }\n"},
                     SourceFile{"lib/add.h", "int add(int a, int b);\n"}};
        JobResult r = runner.run(req);
        INFO(r.run.message);
        CHECK(r.run.verdict == Verdict::OK);
        CHECK(r.run.stdout_data == "42\n");
    }

    SECTION("a Java submission of several classes, one in a package") {
        JobRequest req;
        req.language = "java";
        req.limits.time_ms = 10000;
        req.files = {SourceFile{"Main.java",
                                "import util.Greeter;\npublic class Main {\n"
                                "  public static void main(String[] a) {\n"
                                "    System.out.println(new Greeter(Names.first()).greet());\n  }\n}\n"},
                     SourceFile{"Names.java", "class Names { static String first() { return \"Ada\"; } }\n"},
                     SourceFile{"util/Greeter.java",
                                "package util;\npublic class Greeter {\n"
                                "  private final String n;\n"
                                "  public Greeter(String n) { this.n = n; }\n"
                                "  public String greet() { return \"hello \" + n; }\n}\n"}};
        JobResult r = runner.run(req);
        INFO(r.run.message << r.run.stderr_data);
        CHECK(r.run.verdict == Verdict::OK);
        CHECK(r.run.stdout_data == "hello Ada\n");
    }

    SECTION("names that would leave the box are refused") {
        for (const char* name : {"../x.c", "a/b/c.c", "/etc/x.c", "a/../b.c", "lib/", ".."}) {
            JobRequest req;
            req.language = "c";
            req.files = {SourceFile{"main.c", "int main(void){return 0;}\n"}, SourceFile{name, "x"}};
            CHECK_THROWS_AS(runner.run(req), BadRequest);
        }
    }
}

TEST_CASE("the compile cache reuses artifacts that programs cannot alter", "[sandbox]") {
    const std::string dir = make_temp_dir("execd-cache");
    ::chmod(dir.c_str(), 0700);
    CompileCacheConfig cc;
    cc.dir = dir + "/cache";
    CompileCache cache(cc);

    // Tries to change its own binary, the directory and another file; prints
    // what happened, then its answer.
    const char* hostile = R"(#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
int main(void) {
    int fd = open("main", O_WRONLY);
    printf("open-write:%s\n", fd < 0 ? "refused" : "allowed");
    printf("chmod:%s\n", chmod("main", 04777) != 0 ? "refused" : "allowed");
    printf("unlink:%s\n", unlink("main.c") != 0 ? "refused" : "allowed");
    printf("create:%s\n", open("planted", O_WRONLY | O_CREAT, 0644) < 0 ? "refused" : "allowed");
    printf("answer:42\n");
    return 0;
}
)";
    const std::string expected = "open-write:refused\nchmod:refused\nunlink:refused\ncreate:refused\nanswer:42\n";
    JobRequest req;
    req.language = "c";
    req.code = hostile;

    Runner first(shared_sandbox(), repo_registry(), &cache);
    JobResult a = first.run(req);
    INFO(a.run.message);
    CHECK(a.run.verdict == Verdict::OK);
    CHECK(a.run.stdout_data == expected);
    CHECK_FALSE(a.cached);
    CHECK(first.compile_steps() == 1);
    CHECK(cache.size_bytes() > 0);

    Runner second(shared_sandbox(), repo_registry(), &cache);
    JobResult b = second.run(req);
    CHECK(b.cached);
    CHECK(second.compile_steps() == 0);
    CHECK(b.run.verdict == Verdict::OK);
    CHECK(b.run.stdout_data == expected);
    REQUIRE(b.compile.has_value());
    CHECK(b.compile->verdict == Verdict::OK);

    // The entry on the host: root's, nothing writable by others, no set-id bits.
    for (const auto& e : std::filesystem::recursive_directory_iterator(cc.dir)) {
        struct stat st {};
        REQUIRE(::lstat(e.path().c_str(), &st) == 0);
        CHECK(st.st_uid == 0);
        CHECK((st.st_mode & 07022) == 0);
        CHECK(e.path().filename() != "planted");
    }

    SECTION("a different source or a different test does not share the entry") {
        JobRequest other = req;
        other.code += "/* changed */\n";
        Runner third(shared_sandbox(), repo_registry(), &cache);
        JobResult c = third.run(other);
        CHECK_FALSE(c.cached);
        CHECK(third.compile_steps() == 1);

        JobRequest graded = req;
        graded.tests = {test_case("t1", "", expected), test_case("t2", "", expected)};
        Runner fourth(shared_sandbox(), repo_registry(), &cache);
        JobResult d = fourth.run(graded);
        CHECK(d.cached);
        CHECK(d.run.verdict == Verdict::OK);
        CHECK(fourth.compile_steps() == 0);
    }

    SECTION("a failed compile is not kept") {
        JobRequest bad;
        bad.language = "c";
        bad.code = "int main( {\n";
        Runner r1(shared_sandbox(), repo_registry(), &cache);
        CHECK(r1.run(bad).run.verdict == Verdict::CompileError);
        Runner r2(shared_sandbox(), repo_registry(), &cache);
        JobResult again = r2.run(bad);
        CHECK(again.run.verdict == Verdict::CompileError);
        CHECK_FALSE(again.cached);
        CHECK(r2.compile_steps() == 1);
    }

    SECTION("least recently used entries go when the cap is passed") {
        CompileCacheConfig lru;
        lru.dir = dir + "/lru";
        int64_t one_entry = 0;
        {
            CompileCache fill(lru);
            Runner r0(shared_sandbox(), repo_registry(), &fill);
            CHECK_FALSE(r0.run(req).cached);
            one_entry = fill.size_bytes();
        }
        REQUIRE(one_entry > 0);
        lru.max_bytes = one_entry * 3 / 2;  // room for one entry, not two
        CompileCache tight(lru);
        JobRequest other = req;
        other.code += "/* another */\n";
        Runner r1(shared_sandbox(), repo_registry(), &tight);
        CHECK_FALSE(r1.run(other).cached);
        CHECK(tight.size_bytes() <= lru.max_bytes);
        Runner r2(shared_sandbox(), repo_registry(), &tight);
        CHECK(r2.run(other).cached);  // the newest stayed
        Runner r3(shared_sandbox(), repo_registry(), &tight);
        CHECK_FALSE(r3.run(req).cached);  // the oldest went
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("hostile test sets end in clear verdicts", "[sandbox]") {
    Runner runner(shared_sandbox(), repo_registry());

    SECTION("64 MB of stdin and 64 MB of expected output") {
        JobRequest req;
        req.language = "c";
        // Copies stdin to stdout.
        req.code =
            "#include <stdio.h>\nint main(void){char b[65536];size_t n;"
            "while((n=fread(b,1,sizeof b,stdin))>0)fwrite(b,1,n,stdout);return 0;}\n";
        req.limits.time_ms = 20000;
        std::string big(64u << 20, 'a');
        for (size_t i = 80; i < big.size(); i += 81) big[i] = '\n';
        req.tests = {test_case("same", big, big)};
        JobResult r = runner.run(req);
        INFO(r.run.message);
        CHECK(r.run.verdict == Verdict::OK);
        CHECK(r.tests[0].output_truncated);

        std::string almost = big;
        almost[almost.size() / 2] = 'b';
        req.tests = {test_case("differs", big, almost)};
        r = runner.run(req);
        CHECK(r.run.verdict == Verdict::WrongAnswer);
    }

    SECTION("1,000 tests in one job") {
        JobRequest req;
        req.language = "c";
        req.code =
            "#include <stdio.h>\nint main(void){long n;if(scanf(\"%ld\",&n)!=1)return 1;"
            "printf(\"%ld\\n\",n*n);return 0;}\n";
        for (int i = 0; i < 1000; ++i)
            req.tests.push_back(test_case("t" + std::to_string(i), std::to_string(i), std::to_string(i * i) + "\n"));
        req.tests[777].expected_output = "0\n";
        JobResult r = runner.run(req);
        REQUIRE(r.tests.size() == 1000);
        CHECK(runner.compile_steps() == 1);
        CHECK(r.run.verdict == Verdict::WrongAnswer);
        CHECK(r.failed_test == "t777");
        int ok = 0;
        for (const auto& t : r.tests) ok += t.result.verdict == Verdict::OK;
        CHECK(ok == 999);
    }
}

TEST_CASE("a compiled program's own files never count against its memory limit", "[sandbox]") {
    // A 60 MB binary (initialised data) that also allocates 40 MB: within
    // 80 MB whether it was just compiled, comes from the cache, or runs with
    // no cache at all. (On cgroup v1 the compiler's pages stay charged to
    // the box; the run must not inherit them.)
    JobRequest req;
    req.language = "c";
    req.code =
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nchar big[60 << 20] = {1};\n"
        "int main(int c, char** v) { volatile char* p = big; char* q = malloc(40 << 20);\n"
        "memset(q, 1, 40 << 20); printf(\"%d %d\\n\", p[c * 1000], q[c]); return 0; }\n";
    req.limits.memory_mb = 80;
    const std::string dir = make_temp_dir("execd-cache");
    CompileCacheConfig cc;
    cc.dir = dir + "/cache";
    CompileCache cache(cc);
    for (int round = 0; round < 3; ++round) {
        Runner runner(shared_sandbox(), repo_registry(), round < 2 ? &cache : nullptr);
        JobResult r = runner.run(req);
        INFO("round " << round << ": " << r.run.message);
        CHECK(r.run.verdict == Verdict::OK);
        CHECK(r.run.stdout_data == "0 1\n");
        CHECK(r.cached == (round == 1));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("file names that would be compiler options are refused", "[sandbox]") {
    Runner runner(shared_sandbox(), repo_registry());
    for (const char* name : {"-wrapper.c", "@o.c", "lib/-x.c", "lib/@x.c"}) {
        JobRequest req;
        req.language = "c";
        req.files = {SourceFile{"main.c", "int main(void){return 0;}\n"}, SourceFile{name, "int x;\n"}};
        CHECK_THROWS_AS(runner.run(req), BadRequest);
    }
}
