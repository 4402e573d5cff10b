#include "cmd/warm.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "cmd/server.h"
#include "core/job_wire.h"
#include "core/util/files.h"
#include "core/util/sha256.h"
#include "core/util/sys_error.h"
#include "core/util/wire.h"
#include "core/version.h"

namespace execd::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDefaultWarmSeconds = 300;
constexpr const char* kLockDir = "/run/execd/locks";  // SandboxConfig's, the keeper's Sandbox's
// A request or a result larger than this is refused (the keeper holds it in memory).
constexpr uint64_t kMaxFrameBytes = uint64_t{1} << 30;
// While a job runs, the keeper says so this often; a client that hears
// nothing for silence_limit() stops waiting and runs the job itself.
constexpr auto kAliveEvery = std::chrono::seconds(5);

// $name as a number of seconds from `low` to `high`, else `otherwise`.
// Throws BadRequest naming the variable when it is something else.
int env_seconds(const char* name, int low, int high, int otherwise) {
    const char* env = std::getenv(name);
    if (!env || !*env) return otherwise;
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (*end == '\0' && v >= low && v <= high) return static_cast<int>(v);
    throw BadRequest("warm", std::string(name) + "='" + env + "': use a number of seconds from " + std::to_string(low) +
                                 " to " + std::to_string(high));
}

// $EXEC_WARM_SILENCE, else 30.
int silence_limit() { return env_seconds("EXEC_WARM_SILENCE", 10, 3600, 30); }

// ---------------------------------------------------------------- frames
//
// On the socket, each message is a 16-byte header (its kind, 0, its size)
// and that many bytes. The client sends one Run (or Stop, or Status); the
// keeper answers with Progress frames and one Result, BadRequest, Error or
// Mismatch (or a Status).

enum class Kind : uint32_t {
    Run = 1,          // the configuration's identity, then the request (core/job_wire.h)
    Stop = 2,         // end when the jobs now running are done
    Status = 3,       // what are you?
    Progress = 10,    // a finished test
    Result = 11,      // the job's result
    BadRequest = 12,  // field, message: the request cannot run (as Runner::run throws)
    Error = 13,       // message: the keeper could not run the job
    Mismatch = 14,    // the client's configuration is not this keeper's
    StatusReply = 15,
    Stopping = 16,
    Alive = 17,  // a job is still running (every kAliveEvery while it does)
};

struct Header {
    uint32_t kind;
    uint32_t zero;
    uint64_t size;
};

bool write_all(int fd, const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

bool read_all_of(int fd, void* data, size_t size) {
    char* p = static_cast<char*>(data);
    while (size > 0) {
        const ssize_t n = ::recv(fd, p, size, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

bool send_frame(int fd, Kind kind, std::string_view body) {
    const Header h{static_cast<uint32_t>(kind), 0, body.size()};
    return write_all(fd, &h, sizeof h) && write_all(fd, body.data(), body.size());
}

// The next frame, or nullopt when the peer closed or sent something that is
// not a frame.
std::optional<std::pair<Kind, std::string>> read_frame(int fd) {
    Header h{};
    if (!read_all_of(fd, &h, sizeof h) || h.zero != 0 || h.size > kMaxFrameBytes) return std::nullopt;
    // Grown as the bytes arrive, not allocated at the size the header claims.
    std::string body;
    for (char chunk[65536]; body.size() < h.size;) {
        const size_t want = std::min<uint64_t>(sizeof chunk, h.size - body.size());
        if (!read_all_of(fd, chunk, want)) return std::nullopt;
        body.append(chunk, want);
    }
    return std::make_pair(static_cast<Kind>(h.kind), std::move(body));
}

// ---------------------------------------------------------------- identity

// What makes a keeper able to serve a client: the same build of exec (its
// version and the binary itself), the same registry text, and the same
// sandbox settings. Hex, for the socket's name.
std::string identity_of(const GlobalOptions& o) {
    std::string exe = "?";
    struct stat st {};
    if (::stat("/proc/self/exe", &st) == 0)
        exe = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
              std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    Sha256 h;
    h.field("exec warm sandbox 1");
    h.field(kVersion);
    h.field(exe);
    h.field(loaded_registry_key());
    h.field(state_dir_of(o));
    h.field(instance_of(o));
    h.field(o.no_cache ? "no-cache" : "cache");
    return h.hex().substr(0, 24);
}

// "<lock dir>/warm.<identity>[.<instance>].sock": the instance last, so
// `exec warm` finds an instance's keepers by the name alone ('.' is in no
// instance name).
std::string socket_path(const std::string& identity, const std::string& instance) {
    return std::string(kLockDir) + "/warm." + identity + (instance.empty() ? "" : "." + instance) + ".sock";
}

// ---------------------------------------------------------------- keeper

struct StatusInfo {
    int64_t pid = 0;
    std::string instance, state_dir, registry;
    int64_t idle_boxes = 0, busy = 0, served = 0, idle_seconds = 0, idle_limit = 0;
};

std::string encode_status(const StatusInfo& s) {
    wire::Writer w("execd-warm-status 2\n");
    w.integer(s.pid);
    for (const auto* t : {&s.instance, &s.state_dir, &s.registry}) w.text(*t);
    for (int64_t v : {s.idle_boxes, s.busy, s.served, s.idle_seconds, s.idle_limit}) w.integer(v);
    return w.take();
}

std::optional<StatusInfo> decode_status(std::string_view bytes) {
    wire::Reader r(bytes);
    if (!r.expect("execd-warm-status 2\n")) return std::nullopt;
    StatusInfo s;
    s.pid = r.integer();
    for (auto* t : {&s.instance, &s.state_dir, &s.registry}) *t = r.text();
    for (int64_t* v : {&s.idle_boxes, &s.busy, &s.served, &s.idle_seconds, &s.idle_limit}) *v = r.integer();
    if (!r.at_end()) return std::nullopt;
    return s;
}

class Keeper {
public:
    Keeper(const GlobalOptions& options, int idle_seconds)
        : options_(options),
          idle_limit_(idle_seconds),
          keep_boxes_(std::max(2u, std::thread::hardware_concurrency())) {}

    // Serves until idle or stopped. Says "ok" (or what failed) on ready_fd
    // once it listens. Returns the process's exit status.
    int serve(int ready_fd);

private:
    // A job's connection, watched by the main loop while the job runs.
    struct Watched {
        std::atomic<bool>* cancel;
        std::mutex* sending;  // held while a frame goes out on the connection
        uint64_t generation;
        bool cancelled = false;  // told already: no longer polled
        Clock::time_point last_alive;
    };
    void add_worker();  // mutex_ held
    void work();
    void handle(Fd conn);
    void run_job(int conn, std::string_view body);
    void wake();
    void watch(int conn, std::atomic<bool>* cancel, std::mutex* sending);
    void say_alive();
    void unwatch(int conn);
    void cancel_gone(const std::vector<pollfd>& polled, const std::vector<uint64_t>& generations);
    std::unique_ptr<Box> take_box();
    void job_done();  // counted before the answer goes out, so `exec warm` after it sees it
    void give_back(std::unique_ptr<Box> box);
    StatusInfo status();

    const GlobalOptions& options_;
    const int idle_limit_;
    const size_t keep_boxes_;  // ready boxes kept between jobs
    std::string identity_, path_, lock_path_;
    std::optional<Registry> registry_;
    LocalEngine engine_;
    Fd wake_;  // eventfd: the watched connections changed, or the keeper is stopping
    Fd listener_;

    std::mutex mutex_;
    std::condition_variable changed_;
    int workers_ = 0, accepting_ = 0, handling_ = 0;
    bool closing_ = false;  // workers end
    std::map<int, Watched> watched_;
    uint64_t generation_ = 0;
    std::vector<std::unique_ptr<Box>> idle_boxes_;
    int busy_ = 0;
    int64_t served_ = 0;
    Clock::time_point last_job_ = Clock::now();
    std::atomic<bool> stopping_{false};
};

// What the first client's context would otherwise give every later client's
// jobs: its nice value, its CPU affinity, signals it blocked or ignored.
void reset_inherited_context() {
    ::setpriority(PRIO_PROCESS, 0, 0);
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
    ::sched_setaffinity(0, sizeof all, &all);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < 32; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGPIPE) continue;
        struct sigaction old {};
        if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) ::signal(sig, SIG_DFL);
    }
}

int Keeper::serve(int ready_fd) {
    reset_inherited_context();
    // Nothing this process starts (the spawner) may hold it open; and it
    // must be the pipe exec gave us, not whatever fd 3 happens to be.
    if (ready_fd >= 0) {
        struct stat st {};
        if (::fstat(ready_fd, &st) != 0 || !S_ISFIFO(st.st_mode))
            ready_fd = -1;
        else
            ::fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
    }
    auto say = [&](const std::string& text) {
        if (ready_fd < 0) return;
        while (::write(ready_fd, text.data(), text.size()) < 0 && errno == EINTR) {
        }
        ::close(ready_fd);
        ready_fd = -1;
    };
    Fd listener, lock;
    try {
        registry_.emplace(load_registry(options_));
        identity_ = identity_of(options_);
        path_ = socket_path(identity_, instance_of(options_));
        open_lock_dir(kLockDir);  // made if missing; refused unless root's, 0700
        // One keeper per configuration: the lock beside its socket, removed
        // by the keeper that ends. A lock taken on a file that was removed
        // meanwhile is no lock: then again, on the file there now.
        lock_path_ = path_.substr(0, path_.size() - 5) + ".lock";
        for (;;) {
            lock = Fd(::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!lock) throw_errno("open", lock_path_);
            if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
                if (errno != EWOULDBLOCK) throw_errno("flock", lock_path_);
                say("ok another keeper serves " + path_ + "\n");  // it won a race with us; the client uses it
                return 0;
            }
            struct stat held {};
            struct stat there {};
            if (::fstat(lock.get(), &held) == 0 && ::stat(lock_path_.c_str(), &there) == 0 &&
                held.st_ino == there.st_ino && held.st_dev == there.st_dev)
                break;
        }
        wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!wake_) throw_errno("eventfd", "");
        engine_ = make_local_engine(options_, *registry_);
        // A box ready before the first job.
        idle_boxes_.push_back(engine_.sandbox->acquire_box());

        listener = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!listener) throw_errno("socket", "AF_UNIX");
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (path_.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path_);
        std::memcpy(addr.sun_path, path_.c_str(), path_.size());
        ::unlink(path_.c_str());  // a dead keeper's; we hold the lock
        if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
            throw_errno("bind", path_);
        if (::chmod(path_.c_str(), 0600) != 0) throw_errno("chmod", path_);
        if (::listen(listener.get(), 128) != 0) throw_errno("listen", path_);
    } catch (const std::exception& e) {
        say(std::string("error ") + e.what() + "\n");
        return 1;
    }
    say("ok " + path_ + "\n");

    // Workers wait in accept() (one more is started whenever none is left
    // waiting); the main loop watches the connections of running jobs, and
    // cancels a job whose client went away.
    listener_ = std::move(listener);
    {
        std::lock_guard guard(mutex_);
        add_worker();
        if (workers_ == 0) return 1;  // not one thread: nothing could be served
    }
    std::vector<pollfd> polled;
    std::vector<uint64_t> generations;
    for (;;) {
        polled.assign({{wake_.get(), POLLIN, 0}});
        generations.assign(1, 0);
        {
            std::lock_guard guard(mutex_);
            const bool idle = handling_ == 0 && Clock::now() - last_job_ > std::chrono::seconds(idle_limit_);
            if (stopping_ || idle) break;
            for (const auto& [fd, w] : watched_) {
                if (w.cancelled) continue;
                polled.push_back({fd, POLLRDHUP, 0});
                generations.push_back(w.generation);
            }
        }
        if (::poll(polled.data(), polled.size(), 500) > 0) {
            if (polled[0].revents) {
                uint64_t count = 0;
                while (::read(wake_.get(), &count, sizeof count) < 0 && errno == EINTR) {
                }
            }
            cancel_gone(polled, generations);
        }
        say_alive();  // on every pass: a quiet job is the one that needs it
    }
    // No new client finds us; connections accepted are served, and the jobs
    // running finish and are answered.
    ::unlink(path_.c_str());
    ::unlink(lock_path_.c_str());
    std::unique_lock guard(mutex_);
    closing_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);  // wakes the workers in accept()
    changed_.wait(guard, [&] { return workers_ == 0; });
    listener_.reset();
    idle_boxes_.clear();
    return 0;
}

void Keeper::add_worker() {
    try {
        std::thread([this] { work(); }).detach();
    } catch (const std::system_error&) {
        return;  // no thread to be had: the workers there are carry on
    }
    ++workers_;
    ++accepting_;
}

void Keeper::work() {
    std::unique_lock guard(mutex_, std::defer_lock);
    for (;;) {
        Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        const int accept_error = conn ? 0 : errno;
        guard.lock();
        if (closing_) break;
        if (!conn || peer_uid(conn.get()) != 0) {
            // The directory already keeps everyone but root out; the uid
            // check says so again. Out of descriptors or memory: not a loop
            // that spins meanwhile.
            guard.unlock();
            if (!conn && accept_error != EINTR && accept_error != ECONNABORTED)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        --accepting_;
        ++handling_;
        if (accepting_ == 0) add_worker();
        guard.unlock();
        handle(std::move(conn));
        guard.lock();
        --handling_;
        ++accepting_;
        guard.unlock();
    }
    // Still holding the lock: the counts, and the wake-up, are seen whole.
    --accepting_;
    --workers_;
    changed_.notify_all();
}

void Keeper::cancel_gone(const std::vector<pollfd>& polled, const std::vector<uint64_t>& generations) {
    std::lock_guard guard(mutex_);
    for (size_t i = 1; i < polled.size(); ++i) {
        if (!(polled[i].revents & (POLLRDHUP | POLLHUP | POLLERR))) continue;
        // The same job still (not a later one that got the same fd number).
        auto it = watched_.find(polled[i].fd);
        if (it != watched_.end() && it->second.generation == generations[i]) {
            *it->second.cancel = true;
            it->second.cancelled = true;
        }
    }
}

void Keeper::wake() {
    const uint64_t one = 1;
    while (::write(wake_.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
}

void Keeper::watch(int conn, std::atomic<bool>* cancel, std::mutex* sending) {
    {
        std::lock_guard guard(mutex_);
        watched_[conn] = Watched{cancel, sending, ++generation_, false, Clock::now()};
    }
    wake();
}

void Keeper::say_alive() {
    const auto now = Clock::now();
    std::lock_guard guard(mutex_);
    for (auto& [fd, w] : watched_) {
        if (w.cancelled || now - w.last_alive < kAliveEvery) continue;
        // Never in the middle of the job's own frame, and never waiting for it.
        std::unique_lock sending(*w.sending, std::try_to_lock);
        if (!sending) continue;
        // A bare header: one small write, whole or not at all, that never
        // waits for a client that stopped reading.
        const Header h{static_cast<uint32_t>(Kind::Alive), 0, 0};
        if (::send(fd, &h, sizeof h, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(sizeof h)) w.last_alive = now;
    }
}

void Keeper::unwatch(int conn) {
    std::lock_guard guard(mutex_);
    watched_.erase(conn);
}

void Keeper::handle(Fd conn) {
    // A client that connects and says nothing, or stops reading what we
    // send, is not waited for long.
    const timeval ten{10, 0}, thirty{30, 0};
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof ten);
    ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &thirty, sizeof thirty);
    auto frame = read_frame(conn.get());
    if (!frame) return;
    switch (frame->first) {
        case Kind::Run: run_job(conn.get(), frame->second); break;
        case Kind::Status: send_frame(conn.get(), Kind::StatusReply, encode_status(status())); break;
        case Kind::Stop:
            stopping_ = true;
            send_frame(conn.get(), Kind::Stopping, encode_status(status()));
            wake();
            break;
        default: send_frame(conn.get(), Kind::Error, "unknown request"); break;
    }
}

StatusInfo Keeper::status() {
    StatusInfo s;
    s.pid = ::getpid();
    s.instance = instance_of(options_);
    s.state_dir = state_dir_of(options_);
    s.registry = registry_ ? registry_->origin() : "";
    std::lock_guard guard(mutex_);
    s.idle_boxes = static_cast<int64_t>(idle_boxes_.size());
    s.busy = busy_;
    s.served = served_;
    s.idle_seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - last_job_).count();
    s.idle_limit = idle_limit_;
    return s;
}

std::unique_ptr<Box> Keeper::take_box() {
    {
        std::lock_guard guard(mutex_);
        ++busy_;
        if (!idle_boxes_.empty()) {
            auto box = std::move(idle_boxes_.back());
            idle_boxes_.pop_back();
            return box;
        }
    }
    try {
        return engine_.sandbox->acquire_box();
    } catch (...) {
        std::lock_guard guard(mutex_);
        --busy_;
        throw;
    }
}

void Keeper::job_done() {
    std::lock_guard guard(mutex_);
    --busy_;
    ++served_;
    last_job_ = Clock::now();
}

void Keeper::give_back(std::unique_ptr<Box> box) {
    std::unique_ptr<Box> extra;
    std::lock_guard guard(mutex_);
    if (box && !box->broken() && idle_boxes_.size() < keep_boxes_)
        idle_boxes_.push_back(std::move(box));
    else
        extra = std::move(box);  // destroyed after the lock is let go
}

void Keeper::run_job(int conn, std::string_view body) {
    wire::Reader r(body);
    const std::string identity = r.text();
    const std::string request_bytes = r.text();
    if (!r.at_end()) {
        send_frame(conn, Kind::Error, "malformed run request");
        return;
    }
    if (identity != identity_) {
        send_frame(conn, Kind::Mismatch, identity_);
        return;
    }
    std::optional<JobRequest> request = decode_request(request_bytes);
    if (!request) {
        send_frame(conn, Kind::Error, "malformed job request");
        return;
    }
    std::unique_ptr<Box> box;
    try {
        box = take_box();
    } catch (const std::exception& e) {
        send_frame(conn, Kind::Error, e.what());
        return;
    }
    // The client going away (Ctrl-C, kill -9) cancels the job; meanwhile
    // the main loop tells the client the job is alive, between our frames.
    std::atomic<bool> cancel{false};
    std::mutex sending;
    watch(conn, &cancel, &sending);
    request->cancel = &cancel;
    request->on_test = [conn, &sending](const TestResult& t, size_t index, size_t total) {
        const std::string frame = encode_test_progress(t, index, total);
        std::lock_guard guard(sending);
        send_frame(conn, Kind::Progress, frame);
    };
    Kind kind = Kind::Result;
    std::string reply;
    try {
        Runner runner(*engine_.sandbox, *registry_, engine_.cache);
        runner.defer_standby(true);
        reply = encode_result(runner.run(*request, box.get()));
    } catch (const BadRequest& e) {
        wire::Writer w("");
        w.text(e.field());
        w.text(e.what());
        kind = Kind::BadRequest;
        reply = w.take();
    } catch (const std::exception& e) {
        kind = Kind::Error;
        reply = e.what();
    }
    unwatch(conn);
    job_done();
    // The answer first; then the box's next init prepares itself.
    {
        std::lock_guard guard(sending);
        send_frame(conn, kind, reply);
    }
    box->prepare_next();
    give_back(std::move(box));
}

// ---------------------------------------------------------------- client

// Starts a keeper for this configuration in a session of its own and waits
// until it listens. "" when it does, else why not.
std::string start_keeper(const GlobalOptions& o, int idle_seconds) {
    std::vector<std::string> args{"exec", "--state-dir", state_dir_of(o)};
    if (std::string inst = instance_of(o); !inst.empty()) args.insert(args.end(), {"--instance", inst});
    if (std::string reg = registry_path_of(o); !reg.empty()) args.insert(args.end(), {"--languages", reg});
    if (o.no_cache) args.push_back("--no-cache");
    args.insert(args.end(), {"warm", "--serve", "--idle", std::to_string(idle_seconds), "--ready-fd", "3"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char path_var[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char* envp[] = {path_var, nullptr};

    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
    Fd ready_read(ready[0]), ready_write(ready[1]);
    const pid_t child = ::fork();
    if (child < 0) return std::string("fork: ") + std::strerror(errno);
    if (child == 0) {
        // A session of its own, and not our child: it outlives this exec,
        // and no terminal's signal or process group kill meant for us hits it.
        ::setsid();
        if (::fork() != 0) ::_exit(0);
        // The ready pipe to fd 3 by way of a number above every one we set
        // (it may itself be 0 to 3 when our stdio was closed).
        const int ready_fd = ::fcntl(ready_write.get(), F_DUPFD_CLOEXEC, 10);
        const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (ready_fd < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0 ||
            ::dup2(ready_fd, 3) < 0 || ::chdir("/") != 0)
            ::_exit(127);
        ::close_range(4, ~0U, 0);
        ::umask(022);
        ::execve("/proc/self/exe", argv.data(), envp);
        const std::string error = std::string("error execve /proc/self/exe: ") + std::strerror(errno) + "\n";
        (void)!::write(3, error.data(), error.size());
        ::_exit(127);
    }
    ready_write.reset();
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    std::string said;
    const auto give_up = Clock::now() + std::chrono::seconds(20);
    for (char buf[512];;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()).count();
        pollfd p{ready_read.get(), POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) return "it did not say it was ready within 20 s";
        const ssize_t n = ::read(ready_read.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        said.append(buf, static_cast<size_t>(n));
    }
    if (said.rfind("ok", 0) == 0) return "";
    if (said.rfind("error ", 0) == 0) return said.substr(6, said.find_last_not_of('\n') - 5);
    return "it ended before it was ready";
}

// A connection to the keeper at `path` when one listens there and is root.
Fd connect_keeper(const std::string& path) {
    Fd fd = connect_unix(path);
    if (fd && peer_uid(fd.get()) != 0) return {};
    return fd;
}

}  // namespace

int warm_seconds(const GlobalOptions& o) {
    return o.warm ? *o.warm : env_seconds("EXEC_WARM", 0, 86400, kDefaultWarmSeconds);
}

std::optional<JobResult> run_warm(const GlobalOptions& o, const JobRequest& request, std::string* why) {
    why->clear();
    if (::geteuid() != 0) return std::nullopt;  // the sandbox in-process says what root is for
    const int idle = warm_seconds(o);
    if (idle == 0) return std::nullopt;
    const int silence_s = silence_limit();
    // A name that is no instance's is refused by the sandbox, in-process.
    if (!instance_name_problem(instance_of(o)).empty()) return std::nullopt;
    const std::string identity = identity_of(o);
    const std::string path = socket_path(identity, instance_of(o));
    Fd conn = connect_keeper(path);
    if (!conn) {
        if (std::string error = start_keeper(o, idle); !error.empty()) {
            *why = "the warm sandbox did not start: " + error;
            return std::nullopt;
        }
        conn = connect_keeper(path);
        if (!conn) {
            *why = "the warm sandbox started but does not answer on " + path;
            return std::nullopt;
        }
    }
    wire::Writer w("");
    w.text(identity);
    w.text(encode_request(request));
    if (!send_frame(conn.get(), Kind::Run, w.take())) {
        *why = std::string("the warm sandbox did not take the job: ") + std::strerror(errno);
        return std::nullopt;
    }
    // A keeper that says nothing for this long (it says the job is alive
    // every few seconds) is not waited for any longer.
    const timeval silence{silence_s, 0};
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &silence, sizeof silence);
    for (;;) {
        errno = 0;
        auto frame = read_frame(conn.get());
        if (!frame) {
            *why = errno == EAGAIN || errno == EWOULDBLOCK
                       ? "the warm sandbox said nothing for " + std::to_string(silence_s) + " s"
                       : std::string("the warm sandbox ended during the job");
            return std::nullopt;
        }
        auto& [kind, body] = *frame;
        switch (kind) {
            case Kind::Alive: break;
            case Kind::Progress:
                if (auto p = decode_test_progress(body); p && request.on_test)
                    request.on_test(p->test, p->index, p->total);
                break;
            case Kind::Result:
                if (auto result = decode_result(body)) return result;
                *why = "the warm sandbox sent a malformed result";
                return std::nullopt;
            case Kind::BadRequest: {
                wire::Reader r(body);
                std::string field = r.text(), message = r.text();
                if (!r.at_end()) {
                    *why = "the warm sandbox sent a malformed refusal";
                    return std::nullopt;
                }
                throw BadRequest(field, message);
            }
            case Kind::Error: *why = "the warm sandbox could not run the job: " + body; return std::nullopt;
            case Kind::Mismatch: *why = "the warm sandbox serves another configuration"; return std::nullopt;
            default: *why = "the warm sandbox sent an unexpected reply"; return std::nullopt;
        }
    }
}

namespace {

// The sockets of this instance's keepers, whatever their configuration.
std::vector<std::string> instance_sockets(const std::string& instance) {
    std::vector<std::string> out;
    Fd dir(::open(kLockDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return out;
    for (const std::string& name : list_names_at(dir.get())) {
        // warm.<identity>.sock or warm.<identity>.<instance>.sock
        if (name.rfind("warm.", 0) != 0 || name.size() < 10 || name.substr(name.size() - 5) != ".sock") continue;
        const std::string middle = name.substr(5, name.size() - 10);
        const auto dot = middle.find('.');
        const std::string inst = dot == std::string::npos ? "" : middle.substr(dot + 1);
        if (inst == instance) out.push_back(std::string(kLockDir) + "/" + name);
    }
    return out;
}

int warm_command(const GlobalOptions& o, bool stop) {
    if (::geteuid() != 0) throw std::runtime_error("exec warm needs root (warm sandboxes are root's)");
    const std::string instance = instance_of(o);
    if (std::string problem = instance_name_problem(instance); !problem.empty()) throw BadRequest("instance", problem);
    int found = 0;
    for (const std::string& path : instance_sockets(instance)) {
        Fd conn = connect_keeper(path);
        if (!conn) continue;  // a socket left behind
        std::optional<std::pair<Kind, std::string>> reply;
        if (send_frame(conn.get(), stop ? Kind::Stop : Kind::Status, "")) reply = read_frame(conn.get());
        std::optional<StatusInfo> s = reply ? decode_status(reply->second) : std::nullopt;
        if (!s) continue;
        ++found;
        const std::string name = s->instance.empty() ? "the default engine" : "instance " + s->instance;
        if (stop) {
            // It ends once the jobs it runs have; wait for that (a minute
            // at most), so what it held is gone when we return.
            Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(s->pid), 0)));
            pollfd p{pidfd.get(), POLLIN, 0};
            const bool ended = !pidfd || ::poll(&p, 1, 60'000) == 1;
            std::cout << (ended ? "stopped" : "stopping") << " the warm sandbox of " << name << " (pid " << s->pid
                      << ")" << (ended ? "" : ": its jobs are still running") << "\n";
            continue;
        }
        std::cout << "warm sandbox of " << name << ": pid " << s->pid << ", " << s->served << " jobs, " << s->busy
                  << " running, " << s->idle_boxes << " boxes ready, idle " << s->idle_seconds << " s of "
                  << s->idle_limit << " s\n"
                  << "  registry " << s->registry << ", state " << s->state_dir << ", socket " << path << "\n";
    }
    if (found == 0)
        std::cout << "no warm sandbox is running" << (instance.empty() ? "" : " for instance " + instance) << "\n";
    return 0;
}

}  // namespace

void add_warm_command(CLI::App& app, GlobalOptions& global) {
    struct Options {
        bool stop = false, serve = false;
        int idle = kDefaultWarmSeconds, ready_fd = -1;
    };
    auto opts = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand("warm", "Show the warm sandboxes exec keeps between runs, or --stop them");
    cmd->add_flag("--stop", opts->stop, "End them (jobs running now finish first)");
    // The keeper itself, as `exec run` starts it.
    cmd->add_flag("--serve", opts->serve)->group("");
    cmd->add_option("--idle", opts->idle)->group("")->check(CLI::Range(1, 86400));
    cmd->add_option("--ready-fd", opts->ready_fd)->group("");
    cmd->callback([&global, opts]() {
        if (!opts->serve) throw CLI::RuntimeError(warm_command(global, opts->stop));
        ::signal(SIGPIPE, SIG_IGN);
        Keeper keeper(global, opts->idle);
        throw CLI::RuntimeError(keeper.serve(opts->ready_fd));
    });
}

}  // namespace execd::cli
