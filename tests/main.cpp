// The test runner. Every `exec` the tests start runs as an engine instance of
// this test process (EXECD_INSTANCE): its own box cgroups and a uid range no
// other engine's boxes are using, so a daemon or another test run on the
// same host is neither disturbed nor mistaken for something a test left
// behind. It first removes the temporary
// roots of test processes that were killed before they could (support.h).
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "tests/support.h"

namespace {

// "test-<pid>", or a variant of it, whose uid range no live process uses:
// names map to 60 ranges, and two test runs side by side that shared one
// would each take the other's boxes for their own leftovers.
std::string pick_instance() {
    const std::string base = "test-" + std::to_string(::getpid());
    for (int i = 0; i < 20; ++i) {
        const std::string name = i == 0 ? base : base + "-" + std::to_string(i);
        const int first_uid = static_cast<int>(execd::instance_uid_base(name));
        if (execd::test::box_uid_processes(first_uid, /*prepared_too=*/true).empty()) return name;
    }
    return base;
}

}  // namespace

int main(int argc, char* argv[]) {
    execd::test::remove_roots_of_dead_runs();
    if (const char* set = std::getenv("EXECD_INSTANCE"); !set || !*set)
        ::setenv("EXECD_INSTANCE", pick_instance().c_str(), 1);
    return Catch::Session().run(argc, argv);
}
