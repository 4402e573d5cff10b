// The test runner. Every `exec` the tests start runs as an engine instance of
// this test process (EXECD_INSTANCE): its own box cgroups and uid range, so a
// daemon or another test run on the same host is neither disturbed nor
// mistaken for something a test left behind. It first removes the temporary
// roots of test processes that were killed before they could (support.h).
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "tests/support.h"

int main(int argc, char* argv[]) {
    execd::test::remove_roots_of_dead_runs();
    if (const char* set = std::getenv("EXECD_INSTANCE"); !set || !*set)
        ::setenv("EXECD_INSTANCE", ("test-" + std::to_string(::getpid())).c_str(), 1);
    return Catch::Session().run(argc, argv);
}
