// execd: the daemon. Wires configuration, the job store (Redis), the HTTP
// API and the workers; main() then waits for signals.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "api/result.h"
#include "core/version.h"
#include "daemon/config.h"
#include "daemon/failure_streak.h"
#include "daemon/flags.h"
#include "daemon/http_server.h"
#include "daemon/logging.h"
#include "daemon/redis_supervisor.h"
#include "daemon/store.h"
#include "daemon/worker.h"

using namespace execd;
using namespace execd::daemon;

namespace {

// systemd's notify protocol: one datagram to $NOTIFY_SOCKET.
void sd_notify(const char* state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return;
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(path));
    ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
    ::close(fd);
}

std::string internal_error_json(const std::string& message) {
    JobResult r;
    r.run.verdict = Verdict::InternalError;
    r.run.message = message;
    return api::stringify(api::completed_job_json(r, api::Encoding::Utf8));
}

class RegistryHolder {
public:
    explicit RegistryHolder(std::string path) : path_(std::move(path)) { current_ = load(); }
    std::shared_ptr<const Registry> get() {
        std::lock_guard lock(mutex_);
        return current_;
    }
    // SIGHUP: a new registry, or the old one kept when the new one is invalid.
    void reload() {
        try {
            auto fresh = load();
            std::lock_guard lock(mutex_);
            if (fresh->sandbox_binds() != current_->sandbox_binds())
                spdlog::warn("languages reloaded, but changed [sandbox] binds apply only after a restart");
            current_ = std::move(fresh);
            spdlog::info("languages reloaded from {} ({} languages)", current_->origin(), current_->languages().size());
        } catch (const std::exception& e) {
            spdlog::error("languages not reloaded, keeping the old ones: {}", e.what());
        }
    }

private:
    std::shared_ptr<const Registry> load() {
        if (!path_.empty()) return std::make_shared<Registry>(Registry::load_file(path_));
        if (const std::string file = default_languages_file(); !file.empty())
            return std::make_shared<Registry>(Registry::load_file(file));
        return std::make_shared<Registry>(Registry::embedded());
    }
    std::string path_;
    std::mutex mutex_;
    std::shared_ptr<const Registry> current_;
};

// SIGHUP: the configuration read anew, put in force but for what needs a
// restart (which is said in the log); a configuration that is refused
// leaves the running one alone.
template <class Read>
void reload(ConfigSource& configs, const Config& configured, Read& read_configuration, JobStore& store,
            const std::string& node) {
    Config fresh;
    std::vector<std::string> warnings;
    try {
        warnings = read_configuration(fresh);
    } catch (const std::exception& e) {
        spdlog::error("configuration not reloaded, keeping the running one: {}", e.what());
        return;
    }
    for (const auto& w : warnings) spdlog::warn("{}", w);
    const auto running = configs.get();
    const auto changes = settle_reload(configured, *running, fresh);
    // Checked again as it will be in force: the new tokens with the running
    // listen address (no tokens on a public address is refused here too).
    try {
        validate_config(fresh);
    } catch (const std::exception& e) {
        spdlog::error("configuration not reloaded, keeping the running one: {}", e.what());
        return;
    }
    for (const auto& line : changes) spdlog::info("configuration: {}", line);
    auto next = std::make_shared<const Config>(std::move(fresh));
    configs.set(next);
    store.update(StoreSettings(*next));
    setup_logging(next->log_format, node);
    spdlog::info("configuration reloaded ({} changed)", changes.size());
}

}  // namespace

int main(int argc, char** argv) {
    setup_logging(LogFormat::Text);

    CLI::App app{"execd: the code-execution daemon (HTTP API, Redis queue, sandboxed workers)", "execd"};
    // Printed and exit 0 while parsing, before anything is started or root is needed.
    app.set_version_flag("--version", std::string("execd ") + kVersion);
    Config config;
    std::string config_file = kDefaultConfigFile, port_file, node_name;
    bool config_given = false;
    app.add_option_function<std::string>(
        "-c,--config",
        [&](const std::string& f) {
            config_file = f;
            config_given = true;
        },
        std::string("Configuration file (default ") + kDefaultConfigFile + ", if present)");
    SettingFlags flags(app);
    app.add_option("--port-file", port_file, "Write the bound TCP port to this file once listening");
    app.add_option("--node-name", node_name, "Name of this node in logs and leases (default host:pid)");
    app.footer(
        "Each setting is, from weakest to strongest: its default, execd.toml, the environment variable "
        "EXECD_<SECTION>_<KEY> (every key, flag or not), the flag. See execd.toml(5).");
    CLI11_PARSE(app, argc, argv);

    // The defaults, the file, the environment, the flags: at start-up and
    // again on SIGHUP. Throws std::runtime_error naming the problem; returns
    // warnings for the log, written once the log has its format.
    auto read_configuration = [&](Config& into) {
        std::vector<std::string> warnings;
        if (config_given || ::access(config_file.c_str(), R_OK) == 0) warnings = load_config_file(config_file, into);
        load_environment(into, environ);
        flags.apply(into);
        for (auto& w : load_token_sources(into)) warnings.push_back(std::move(w));
        validate_config(into);
        return warnings;
    };
    // A setting read below may ask for JSON lines: every line but a
    // refused configuration's comes after it, in the format asked for.
    std::vector<std::string> warnings;
    try {
        warnings = read_configuration(config);
    } catch (const std::exception& e) {
        spdlog::critical("configuration: {}", e.what());
        return 2;
    }
    const Config configured = config;  // as read, before execd fills in its private Redis's URL
    if (node_name.empty()) {
        char host[256] = {0};
        ::gethostname(host, sizeof host - 1);
        node_name = std::string(host) + ":" + std::to_string(::getpid());
    }
    setup_logging(config.log_format, node_name);
    for (const auto& w : warnings) spdlog::warn("{}", w);

    // Signals are taken synchronously by main(); every thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    std::unique_ptr<RegistryHolder> registry_holder;
    try {
        registry_holder = std::make_unique<RegistryHolder>(config.languages);
    } catch (const std::exception& e) {
        spdlog::critical("languages: {}", e.what());
        return 2;
    }
    try {
        RegistryHolder& registry = *registry_holder;
        const bool runs_workers = config.role != Role::Api;
        // The sandbox first, while this is the only thread: it moves the
        // process into a private mount namespace, which threads made later share.
        std::unique_ptr<Sandbox> sandbox;
        std::unique_ptr<CompileCache> cache;
        if (runs_workers) {
            SandboxConfig sc = sandbox_config(config);
            sc.binds = registry.get()->sandbox_binds();
            sandbox = std::make_unique<Sandbox>(sc);
            spdlog::info("{}", sandbox->describe());
            if (config.cache_max_mb > 0) {
                CompileCacheConfig cc;
                cc.dir = config.cache_dir.empty() ? config.sandbox_dir + "/cache" : config.cache_dir;
                cc.max_bytes = config.cache_max_mb << 20;
                cache = std::make_unique<CompileCache>(cc);
                spdlog::info("compile cache: {} (up to {} MB)", cc.dir, config.cache_max_mb);
            }
        }
        std::unique_ptr<RedisSupervisor> private_redis;
        if (config.redis_url.empty()) {
            private_redis = std::make_unique<RedisSupervisor>(config.redis_server, config.state_dir,
                                                              config.redis_maxmemory_mb << 20);
            private_redis->start();
            config.redis_url = private_redis->url();
        }
        RedisPool pool(config.redis_url);
        JobStore store(pool, StoreSettings(config));
        if (!private_redis) {
            // Eviction would silently drop queued jobs; full must mean 507.
            try {
                if (std::string policy = store.eviction_policy(); !policy.empty() && policy != "noeviction")
                    spdlog::warn(
                        "Redis evicts keys when full (maxmemory-policy {}): queued jobs and results can be "
                        "lost; set maxmemory-policy noeviction",
                        policy);
            } catch (const std::exception& e) {
                spdlog::warn("cannot ask Redis for its maxmemory-policy: {}", e.what());
            }
        }
        Metrics metrics;
        std::atomic<bool> draining{false};
        auto registry_fn = [&registry] { return registry.get(); };

        std::unique_ptr<WorkerPool> workers;
        if (runs_workers) {
            int n = config.workers > 0 ? static_cast<int>(config.workers)
                                       : static_cast<int>(std::thread::hardware_concurrency());
            workers = std::make_unique<WorkerPool>(store, *sandbox, cache.get(), registry_fn, metrics, node_name,
                                                   std::max(1, n));
            workers->start();
            spdlog::info("{} workers started", workers->size());
        }
        ConfigSource configs(config);
        ServerContext ctx{configs, store, registry_fn, metrics, draining, nullptr, nullptr, cache.get(), {}, {}, {}};
        if (workers) {
            ctx.workers_busy = [&workers] { return workers->busy(); };
            ctx.workers_total = [&workers] { return workers->size(); };
        }
        std::unique_ptr<HttpServer> http;
        if (config.role != Role::Worker || !config.monitor_listen.empty()) {
            http = std::make_unique<HttpServer>(ctx);
            http->start();
            if (config.role != Role::Worker) spdlog::info("listening on {} (port {})", config.listen, http->port());
            if (!config.monitor_listen.empty())
                spdlog::info("monitoring (/healthz, /readyz, /metrics) on {} (port {})", config.monitor_listen,
                             http->monitor_port());
            // The API's port; a worker node's monitor port.
            if (!port_file.empty())
                std::ofstream(port_file) << (config.role == Role::Worker ? http->monitor_port() : http->port()) << "\n";
        }
        sd_notify("READY=1\nSTATUS=accepting jobs");

        int64_t watchdog_us = 0;
        if (const char* w = std::getenv("WATCHDOG_USEC")) watchdog_us = std::atoll(w);
        const std::string lost = internal_error_json("the job lost its worker on every attempt");
        FailureStreak reap_failures;
        for (;;) {
            timespec tick{0, 500'000'000};
            int sig = ::sigtimedwait(&signals, nullptr, &tick);
            if (watchdog_us > 0) sd_notify("WATCHDOG=1");
            if (sig == SIGHUP) {
                reload(configs, configured, read_configuration, store, node_name);
                registry.reload();
                continue;
            }
            if (sig == SIGTERM || sig == SIGINT) break;
            try {
                const int n = store.reap(lost);
                if (auto streak = reap_failures.succeeded())
                    spdlog::info("reaper: works again, after {:.1f} s and {} failed tries", streak->seconds,
                                 streak->tries);
                if (n > 0) spdlog::info("{} expired leases or retries returned to the queue", n);
            } catch (const std::exception& e) {
                const auto failure = reap_failures.failed();
                if (failure.say == FailureStreak::Say::First)
                    spdlog::warn("reaper: {}", e.what());
                else if (failure.say == FailureStreak::Say::Again)
                    spdlog::warn("reaper: still failing, {} tries in {:.0f} s: {}", failure.tries, failure.seconds,
                                 e.what());
            }
        }
        const int64_t drain_ms = configs.get()->drain_timeout_ms;
        spdlog::info("draining: no new jobs; waiting up to {} ms for running ones", drain_ms);
        sd_notify("STOPPING=1");
        draining = true;
        if (workers) {
            int abandoned = workers->drain(drain_ms);
            if (abandoned > 0) spdlog::warn("{} jobs still running were left to other nodes", abandoned);
        }
        if (http) http->stop();
        spdlog::info("stopped");
        return 0;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}
