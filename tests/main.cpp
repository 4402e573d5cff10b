// The test runner. Every `exec` the tests start runs as an engine instance of
// this test process (EXECD_INSTANCE): its own box cgroups and a uid range no
// other engine's boxes are using, so a daemon or another test run on the
// same host is neither disturbed nor mistaken for something a test left
// behind. It first removes the temporary
// roots of test processes that were killed before they could (support.h),
// and stops the warm sandboxes (cmd/warm.h) such processes left; its own
// `exec`s keep theirs for a minute at most, and it stops them when it ends.
#define CATCH_CONFIG_RUNNER
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "core/util/fd.h"
#include "core/util/files.h"
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

// Stops the warm sandboxes of `instance` (`exec warm --stop` waits until
// they are gone).
void stop_warm_sandboxes(const std::string& instance) {
    execd::test::run_process({EXECD_EXEC_BINARY, "--instance", instance, "warm", "--stop"});
}

// The instances of test processes that are gone and left a warm sandbox:
// warm.<identity>.test-<pid>[-N].sock in the slot lock directory.
std::vector<std::string> instances_of_dead_runs() {
    std::vector<std::string> out;
    const execd::Fd dir(::open("/run/execd/locks", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return out;
    for (const std::string& name : execd::list_names_at(dir.get())) {
        const auto at = name.find(".test-");
        if (name.rfind("warm.", 0) != 0 || at == std::string::npos || name.size() < 5 ||
            name.substr(name.size() - 5) != ".sock")
            continue;
        const std::string instance = name.substr(at + 1, name.size() - 5 - at - 1);
        const long pid = std::strtol(instance.c_str() + 5, nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) out.push_back(instance);
    }
    return out;
}

}  // namespace

int main(int argc, char* argv[]) {
    execd::test::remove_roots_of_dead_runs();
    for (const std::string& instance : instances_of_dead_runs()) stop_warm_sandboxes(instance);
    if (const char* set = std::getenv("EXECD_INSTANCE"); !set || !*set)
        ::setenv("EXECD_INSTANCE", pick_instance().c_str(), 1);
    // Warm sandboxes the tests' exec start end a minute after their last
    // job, however this process ends; normally it stops them first.
    ::setenv("EXEC_WARM", "60", 0);
    const int failed = Catch::Session().run(argc, argv);
    stop_warm_sandboxes(std::getenv("EXECD_INSTANCE"));
    return failed;
}
