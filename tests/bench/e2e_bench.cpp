// End-to-end benchmark of the daemon: Python hello submitted over HTTP and
// waited for, against bare `python3 -c` in the same run, both ways a client
// can (a submit and a long-poll, or one submit that waits); and jobs per
// second with 2 workers against two bare loops.
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

void execd_hello_waiting(int port, const std::string& id) {
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

// Submit and wait in one request (POST /v1/jobs?wait=MS).
void execd_hello_one_request(int port) {
    auto r = http(port, "POST", "/v1/jobs?wait=10000", kHelloJson);
    if (r.status == 200 && json_field(r.body, "output") == "hello") return;
    if (r.status == 202) return execd_hello_waiting(port, json_field(r.body, "jobId"));
    std::fprintf(stderr, "execd job failed: %d %s\n", r.status, r.body.c_str());
    std::exit(1);
}

// Submit, then long-poll (POST /v1/jobs, GET /v1/jobs/{id}?wait=MS).
void execd_hello(int port) {
    auto r = http(port, "POST", "/v1/jobs", kHelloJson);
    execd_hello_waiting(port, json_field(r.body, "jobId"));
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
        execd_hello_one_request(execd.port());
    }
    std::vector<double> bare, served, one;
    for (int i = 0; i < runs; ++i) {
        auto t = Clock::now();
        bare_hello();
        bare.push_back(ms_since(t));
        t = Clock::now();
        execd_hello(execd.port());
        served.push_back(ms_since(t));
        t = Clock::now();
        execd_hello_one_request(execd.port());
        one.push_back(ms_since(t));
    }
    std::printf("\nlatency of Python hello, %d runs each, interleaved (ms)\n", runs);
    std::printf("%-34s %10s %10s %8s\n", "variant", "median", "p90", "ratio");
    std::printf("%-34s %10.2f %10.2f\n", "bare python3 -c", median(bare), p90(bare));
    std::printf("%-34s %10.2f %10.2f %7.2fx\n", "execd POST, GET ?wait (HTTP)", median(served), p90(served),
                median(served) / median(bare));
    std::printf("%-34s %10.2f %10.2f %7.2fx\n", "execd POST ?wait (HTTP)", median(one), p90(one),
                median(one) / median(bare));
    std::printf("target: <= 1.10x\n");

    // Throughput: two bare loops vs 2 workers fed by 8 clients, each of
    // which waits for its job before sending the next; eight of them keep
    // both workers fed while others are between round trips.
    auto rate = [&](auto&& one_job) {
        const auto t = Clock::now();
        std::vector<std::thread> loops;
        for (int l = 0; l < 8; ++l)
            loops.emplace_back([&] {
                for (int i = 0; i < jobs / 8; ++i) one_job();
            });
        for (auto& l : loops) l.join();
        return (jobs / 8 * 8) / (ms_since(t) / 1000.0);
    };
    auto t = Clock::now();
    std::vector<std::thread> loops;
    for (int l = 0; l < 2; ++l)
        loops.emplace_back([&] {
            for (int i = 0; i < jobs / 2; ++i) bare_hello();
        });
    for (auto& l : loops) l.join();
    const double bare_rate = (jobs / 2 * 2) / (ms_since(t) / 1000.0);
    const double served_rate = rate([&] { execd_hello(execd.port()); });
    const double one_rate = rate([&] { execd_hello_one_request(execd.port()); });
    std::printf("\nthroughput, %d Python hello jobs each\n", jobs);
    std::printf("%-34s %10.1f jobs/s\n", "two bare loops", bare_rate);
    std::printf("%-34s %10.1f jobs/s %5.0f%%\n", "execd POST, GET ?wait, 2 workers", served_rate,
                100.0 * served_rate / bare_rate);
    std::printf("%-34s %10.1f jobs/s %5.0f%%\n", "execd POST ?wait, 2 workers", one_rate, 100.0 * one_rate / bare_rate);
    std::printf("target: >= 95%%\n");
    execd.stop(15);
    return 0;
}
