// execd_cache_bench: what the compile cache saves on a C++ submission run
// twice. Each round submits a source no earlier round has seen (so the first
// job compiles), then the same source again (so the second is served from
// the cache), and a third time through a runner without a cache as the
// baseline measured alongside. All three are whole jobs: compile (or cache
// lookup), then five tests in fresh boxes.
//
//   build/tests/bench/execd_cache_bench [--rounds N]
//
// Needs root (the native sandbox does). Not a ctest test: run it by hand.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/compile_cache.h"
#include "core/registry.h"
#include "core/runner.h"

namespace {

using Clock = std::chrono::steady_clock;

// A typical contest submission: the usual headers, a little STL.
const char* const kSolution = R"(#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

int main() {
    int n;
    std::cin >> n;
    std::vector<long long> v(n);
    for (auto& x : v) std::cin >> x;
    std::sort(v.begin(), v.end());
    std::map<long long, int> count;
    for (auto x : v) ++count[x];
    long long best = 0;
    for (const auto& [value, c] : count) best = std::max(best, value * c);
    std::cout << best << "\n";
}
)";

execd::JobRequest job(const std::string& salt) {
    execd::JobRequest r;
    r.language = "cpp";
    r.code = std::string(kSolution) + "// " + salt + "\n";
    for (int i = 1; i <= 5; ++i) {
        execd::TestCase t;
        t.name = std::to_string(i);
        t.stdin_data = "4\n" + std::to_string(i) + " " + std::to_string(i) + " 1 2\n";
        // i, i, 1, 2: the best value * count is 3 (three 1s), 6 (three 2s), else 2i.
        const int best = i == 1 ? 3 : i == 2 ? 6 : 2 * i;
        t.expected_output = std::to_string(best) + "\n";
        r.tests.push_back(t);
    }
    return r;
}

double run_ms(execd::Runner& runner, const execd::JobRequest& request, bool expect_cached) {
    const auto start = Clock::now();
    execd::JobResult r = runner.run(request);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (r.run.verdict != execd::Verdict::OK)
        throw std::runtime_error("the benchmark job failed: " + std::string(execd::verdict_name(r.run.verdict)) + " " +
                                 r.run.message);
    if (r.cached != expect_cached)
        throw std::runtime_error(std::string("expected a cache ") + (expect_cached ? "hit" : "miss"));
    return ms;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 7;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) {
            rounds = std::atoi(argv[++i]);
        } else {
            std::cerr << "usage: execd_cache_bench [--rounds N]\n";
            return a == "-h" || a == "--help" ? 0 : 2;
        }
    }
    if (rounds < 1) return 2;

    const std::string cache_dir =
        std::filesystem::temp_directory_path() / ("execd-cache-bench-" + std::to_string(::getpid()));
    try {
        execd::Registry registry = execd::Registry::load_file(EXECD_SOURCE_DIR "/languages.toml");
        execd::SandboxConfig config;
        config.binds = registry.sandbox_binds();
        execd::Sandbox sandbox(config);
        execd::CompileCacheConfig cc;
        cc.dir = cache_dir;
        execd::CompileCache cache(cc);
        std::mt19937_64 rng{std::random_device{}()};

        // One unmeasured job warms the page cache for the compiler and headers.
        {
            execd::Runner warm(sandbox, registry, &cache);
            run_ms(warm, job("warm-up " + std::to_string(rng())), false);
        }
        std::vector<double> cold, cached, uncached;
        for (int round = 0; round < rounds; ++round) {
            const execd::JobRequest request = job("round " + std::to_string(round) + " " + std::to_string(rng()));
            execd::Runner first(sandbox, registry, &cache);
            cold.push_back(run_ms(first, request, false));
            execd::Runner second(sandbox, registry, &cache);
            cached.push_back(run_ms(second, request, true));
            execd::Runner baseline(sandbox, registry, nullptr);
            uncached.push_back(run_ms(baseline, request, false));
            std::fprintf(stderr, "round %d: first %.0f ms, again (cached) %.0f ms, again without cache %.0f ms\n",
                         round + 1, cold.back(), cached.back(), uncached.back());
        }
        const double c = median(cold), h = median(cached), u = median(uncached);
        std::printf("C++ submission, 5 tests, %d rounds (medians):\n", rounds);
        std::printf("  first submission (compiles, stores)   %8.1f ms\n", c);
        std::printf("  same again, without a cache (baseline) %7.1f ms\n", u);
        std::printf("  same again, from the compile cache     %7.1f ms\n", h);
        std::printf("  saved per repeated submission          %7.1f ms (cached/baseline = %.3fx)\n", u - h, h / u);
        std::printf("  cost of storing on a miss              %7.1f ms (first/baseline = %.3fx)\n", c - u, c / u);
    } catch (const std::exception& e) {
        std::cerr << "execd_cache_bench: " << e.what() << "\n";
        std::filesystem::remove_all(cache_dir);
        return 1;
    }
    std::filesystem::remove_all(cache_dir);
    return 0;
}
