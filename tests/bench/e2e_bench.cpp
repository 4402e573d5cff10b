// End-to-end benchmark of the daemon: Python hello submitted over HTTP and
// waited for (long-poll), against bare `python3 -c` in the same run; and
// jobs per second with 2 workers against two bare loops.
//
//   build/tests/bench/execd_e2e_bench [--runs N] [--jobs M]
//
// Starts its own redis-server on a free loopback port and execd on
// 127.0.0.1:0 (the fixture of the daemon tests).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/daemon/daemon_fixture.h"

using namespace execd::test;
using Clock = std::chrono::steady_clock;

namespace {

const char* kPython = "/usr/bin/python3";
const char* kHelloJson = R"J({"language":"python","code":"print(\"hello\")"})J";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

void bare_hello() {
    char* argv[] = {const_cast<char*>(kPython), const_cast<char*>("-c"), const_cast<char*>("print(\"hello\")"),
                    nullptr};
    char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>("HOME=/tmp"),
                    const_cast<char*>("LANG=C.UTF-8"), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    if (posix_spawn(&pid, kPython, &fa, nullptr, argv, envp) != 0) {
        std::fprintf(stderr, "posix_spawn failed\n");
        std::exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "bare python failed\n");
        std::exit(1);
    }
}

void execd_hello(int port) {
    auto r = http(port, "POST", "/v1/jobs", kHelloJson);
    const std::string id = json_field(r.body, "jobId");
    for (;;) {
        auto g = http(port, "GET", "/v1/jobs/" + id + "?wait=10000");
        const std::string status = json_field(g.body, "status");
        if (status == "completed") {
            if (json_field(g.body, "output") != "hello") {
                std::fprintf(stderr, "execd job failed: %s\n", g.body.c_str());
                std::exit(1);
            }
            return;
        }
        if (status != "queued" && status != "running") {
            std::fprintf(stderr, "execd job failed: %s\n", g.body.c_str());
            std::exit(1);
        }
    }
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double p90(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() * 9 / 10];
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 100, jobs = 200;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--runs"))
            runs = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--jobs"))
            jobs = std::atoi(argv[++i]);
    }
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "2"});
    std::printf("execd_e2e_bench: execd with 2 workers on 127.0.0.1:%d, redis-server on %s\n", execd.port(),
                redis.url().c_str());

    for (int i = 0; i < 10; ++i) {  // warm-up: page cache, connections
        bare_hello();
        execd_hello(execd.port());
    }
    std::vector<double> bare, served;
    for (int i = 0; i < runs; ++i) {
        auto t = Clock::now();
        bare_hello();
        bare.push_back(ms_since(t));
        t = Clock::now();
        execd_hello(execd.port());
        served.push_back(ms_since(t));
    }
    std::printf("\nlatency of Python hello, %d runs each, interleaved (ms)\n", runs);
    std::printf("%-28s %10s %10s\n", "variant", "median", "p90");
    std::printf("%-28s %10.2f %10.2f\n", "bare python3 -c", median(bare), p90(bare));
    std::printf("%-28s %10.2f %10.2f\n", "execd submit + wait (HTTP)", median(served), p90(served));
    const double latency_ratio = median(served) / median(bare);
    std::printf("ratio execd/bare: %.2fx (target <= 1.10x)\n", latency_ratio);

    // Throughput: two bare loops vs 2 workers fed by 8 clients.
    auto t = Clock::now();
    std::vector<std::thread> loops;
    for (int l = 0; l < 2; ++l)
        loops.emplace_back([&] {
            for (int i = 0; i < jobs / 2; ++i) bare_hello();
        });
    for (auto& l : loops) l.join();
    const double bare_rate = jobs / (ms_since(t) / 1000.0);

    t = Clock::now();
    std::vector<std::thread> clients;
    // Each client waits for its job before sending the next; eight of them
    // keep both workers fed while others are between round trips.
    constexpr int kClients = 8;
    for (int c = 0; c < kClients; ++c)
        clients.emplace_back([&] {
            for (int i = 0; i < jobs / kClients; ++i) execd_hello(execd.port());
        });
    for (auto& c : clients) c.join();
    const double served_rate = jobs / (ms_since(t) / 1000.0);
    std::printf("\nthroughput, %d Python hello jobs\n", jobs);
    std::printf("%-28s %10.1f jobs/s\n", "two bare loops", bare_rate);
    std::printf("%-28s %10.1f jobs/s\n", "execd, 2 workers", served_rate);
    std::printf("ratio execd/bare: %.0f%% (target >= 95%%)\n", 100.0 * served_rate / bare_rate);
    execd.stop(15);
    return 0;
}
