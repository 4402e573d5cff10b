// LastingThread: the work runs on one thread of its own, the same every
// time, with every signal blocked; errors come back to the caller.
#include "core/util/lasting_thread.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

using execd::LastingThread;

namespace {
pid_t thread_id() { return static_cast<pid_t>(::syscall(SYS_gettid)); }
}  // namespace

TEST_CASE("a lasting thread runs each piece of work on one thread of its own, which outlives its callers", "[unit]") {
    LastingThread lasting;
    pid_t first = 0;
    lasting.run([&] { first = thread_id(); });
    CHECK(first != 0);
    CHECK(first != thread_id());

    // Called from a thread that then ends: the same thread runs the next one.
    pid_t from_other = 0;
    std::thread([&] { lasting.run([&] { from_other = thread_id(); }); }).join();
    CHECK(from_other == first);
    pid_t again = 0;
    lasting.run([&] { again = thread_id(); });
    CHECK(again == first);
    // Still running after its callers are gone.
    CHECK(::syscall(SYS_tgkill, getpid(), first, 0) == 0);
}

TEST_CASE("a lasting thread has every signal blocked, whatever its first caller had", "[unit]") {
    sigset_t none, old;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, &old);
    LastingThread lasting;
    sigset_t seen;
    sigemptyset(&seen);
    lasting.run([&] { pthread_sigmask(SIG_SETMASK, nullptr, &seen); });
    sigset_t mine;
    pthread_sigmask(SIG_SETMASK, &old, &mine);
    for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGCHLD, SIGUSR1, SIGPIPE}) {
        INFO("signal " << sig);
        CHECK(sigismember(&seen, sig) == 1);
        CHECK(sigismember(&mine, sig) == 0);  // the caller's mask is its own again
    }
}

TEST_CASE("a lasting thread hands back what the work threw, and goes on serving", "[unit]") {
    LastingThread lasting;
    CHECK_THROWS_WITH(lasting.run([] { throw std::runtime_error("spawner failed"); }), "spawner failed");
    int ran = 0;
    lasting.run([&] { ++ran; });
    CHECK(ran == 1);

    // Callers from several threads at once are served one at a time.
    std::atomic<int> inside{0}, most{0}, total{0};
    std::vector<std::thread> callers;
    for (int i = 0; i < 8; ++i)
        callers.emplace_back([&] {
            for (int k = 0; k < 50; ++k)
                lasting.run([&] {
                    const int now = ++inside;
                    int seen = most.load();
                    while (now > seen && !most.compare_exchange_weak(seen, now)) {
                    }
                    ++total;
                    --inside;
                });
        });
    for (auto& t : callers) t.join();
    CHECK(total == 400);
    CHECK(most == 1);
}
