#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "sandbox/contain.h"
#include "util/files.h"
#include "util/sys_error.h"

namespace execd {
namespace {

using Clock = std::chrono::steady_clock;

// struct clone_args of clone3(2); spelled out here because <linux/sched.h>
// and glibc's <sched.h> do not mix.
struct CloneArgs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
        cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

// AddressSanitizer cannot follow a child that shares its memory on a stack
// of its own; sanitizer builds take the fork-like path everywhere.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// An empty network namespace for one box slot: made once per Box, kept by an
// fd, joined by every run of that box. Joining with setns costs
// microseconds; a new one per run costs about half a millisecond and
// serialises on a kernel lock. One per box, not one for all: abstract unix
// sockets live in the network namespace, and two boxes running at the same
// time must not be able to talk.

Fd make_empty_netns() {
    Fd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!original) throw_errno("open", "/proc/thread-self/ns/net");
    if (::unshare(CLONE_NEWNET) != 0) throw_errno("unshare", "CLONE_NEWNET", "is execd running as root?");
    Fd empty(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    int err = empty ? 0 : errno;
    if (::setns(original.get(), CLONE_NEWNET) != 0) throw_errno("setns", "original network namespace");
    if (err != 0) {
        errno = err;
        throw_errno("open", "new network namespace");
    }
    return empty;
}


struct Pipe {
    Fd read, write;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2", "O_CLOEXEC");
    return Pipe{Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::string mount_stage_name(int stage) {
    static const char* names[] = {"bind work dir", "remount work dir", "mount proc", "mount tmpfs",
                                  "chdir root",    "pivot_root",       "detach old root", "chdir /box"};
    return stage >= 0 && stage < 8 ? names[stage] : "mount";
}

}  // namespace

// ---------------------------------------------------------------- WorkDir

WorkDir::WorkDir(int parent_fd, std::string name, std::string path, uid_t owner)
    : parent_fd_(parent_fd), name_(std::move(name)), path_(std::move(path)), owner_(owner) {
    if (::mkdirat(parent_fd_, name_.c_str(), 0700) != 0) throw_errno("mkdir", path_);
    dir_ = open_dir_at(parent_fd_, name_);
    if (::fchown(dir_.get(), owner, owner) != 0) throw_errno("fchown", path_);
}

WorkDir::~WorkDir() {
    if (parent_fd_ >= 0 && !name_.empty() && dir_) {
        dir_.reset();
        remove_tree_at(parent_fd_, name_);
    }
}

void WorkDir::add_file(const std::string& name, std::string_view content, unsigned mode) {
    const auto slash = name.find('/');
    if (slash == std::string::npos) {
        if (!is_safe_file_name(name)) throw std::invalid_argument("unsafe file name: " + name);
        create_file_at(dir_.get(), name, content, mode);
        return;
    }
    const std::string sub = name.substr(0, slash), leaf = name.substr(slash + 1);
    if (!is_safe_file_name(sub) || !is_safe_file_name(leaf))
        throw std::invalid_argument("unsafe file name: " + name);
    const bool made = ::mkdirat(dir_.get(), sub.c_str(), 0755) == 0;
    if (!made && errno != EEXIST) throw_errno("mkdirat", sub);
    Fd subdir = open_dir_at(dir_.get(), sub);
    // The compile step writes its output next to the sources (javac puts
    // util/Greeter.class beside util/Greeter.java): the box owns the directory.
    if (made && ::fchown(subdir.get(), owner_, owner_) != 0) throw_errno("fchown", sub);
    create_file_at(subdir.get(), leaf, content, mode);
}

void WorkDir::replace_file(const std::string& name, std::string_view content, unsigned mode) {
    if (!is_safe_file_name(name)) throw std::invalid_argument("unsafe file name: " + name);
    if (int err = remove_tree_at(dir_.get(), name); err != 0) {
        errno = err;
        throw_errno("unlinkat", name);
    }
    create_file_at(dir_.get(), name, content, mode);
}

std::string WorkDir::read_file(const std::string& name, size_t max_bytes) const {
    if (!is_safe_file_name(name)) throw std::invalid_argument("unsafe file name: " + name);
    Fd fd(::openat(dir_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) throw_errno("openat", name);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("fstat", name);
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        throw_errno("open", name, "not a regular file");
    }
    std::string out(std::min<size_t>(max_bytes, static_cast<size_t>(st.st_size)), '\0');
    ssize_t n = ::pread(fd.get(), out.data(), out.size(), 0);
    if (n < 0) throw_errno("pread", name);
    out.resize(static_cast<size_t>(n));
    return out;
}

// ---------------------------------------------------------------- Sandbox

Sandbox::Sandbox(SandboxConfig config)
    : config_(std::move(config)), seccomp_(SeccompProgram::build()) {
    // The supervisor writes stdin into pipes whose reader may exit at any time.
    ::signal(SIGPIPE, SIG_IGN);
    if (::geteuid() != 0) {
        errno = EPERM;
        throw_errno("geteuid", "", "the native sandbox needs root (or use a running execd daemon)");
    }
    cgroups_ = CgroupManager::detect();
    remove_stale_boxes();
    layout_ = prepare_root(config_.state_dir, config_.binds);
    work_area_ = Fd(::open(layout_.work_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!work_area_) throw_errno("open", layout_.work_dir);
    try {
        cap_last_cap_ = std::stoi(read_file("/proc/sys/kernel/cap_last_cap"));
    } catch (const std::exception&) {
        cap_last_cap_ = CAP_LAST_CAP;
    }
}

Sandbox::~Sandbox() = default;

Fd Sandbox::lock_slot(int slot) {
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("socket", "AF_UNIX");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string name = "execd-box-" + std::to_string(config_.uid_base) + "-" + std::to_string(slot);
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        if (errno == EADDRINUSE) return Fd();
        throw_errno("bind", "@" + name);
    }
    return sock;
}

void Sandbox::remove_stale_boxes() {
    // A box whose slot nobody holds was left by a process that died without
    // cleaning up (kill -9): empty and remove it, so nothing outlives a crash.
    for (int id : cgroups_->existing_boxes()) {
        const int slot = id - static_cast<int>(config_.uid_base);
        if (slot < 0 || slot >= config_.max_slots) continue;
        Fd lock = lock_slot(slot);
        if (lock) cgroups_->remove_box(id);
    }
}

std::string Sandbox::describe() const {
    return "native sandbox, " + cgroups_->describe() + ", root " + layout_.root_dir;
}

WorkDir Sandbox::make_work_dir(uid_t owner) {
    std::string name = random_hex(12);
    return WorkDir(work_area_.get(), name, layout_.work_dir + "/" + name, owner);
}

std::unique_ptr<Box> Sandbox::acquire_box() {
    for (int slot = 0; slot < config_.max_slots; ++slot) {
        // An abstract unix socket name is a lock the kernel drops when its
        // holder dies, and it leaves no file behind.
        Fd sock = lock_slot(slot);
        if (!sock) continue;
        // Cgroups are named by uid, which is unique per box across processes.
        return std::unique_ptr<Box>(
            new Box(*this, slot, std::move(sock), cgroups_->make_box(static_cast<int>(config_.uid_base) + slot),
                    make_empty_netns()));
    }
    errno = EBUSY;
    throw_errno("acquire box", std::to_string(config_.max_slots) + " slots", "all box slots are in use");
}

// ---------------------------------------------------------------- Box

Box::Box(Sandbox& sandbox, int slot, Fd lock, std::unique_ptr<BoxCgroup> cgroup, Fd netns)
    : sandbox_(sandbox), slot_(slot), uid_(sandbox.config_.uid_base + static_cast<uid_t>(slot)),
      lock_(std::move(lock)), cgroup_(std::move(cgroup)), netns_(std::move(netns)) {}

Box::~Box() {
    if (init_stack_) ::munmap(init_stack_, kInitStackSize);
}

int Box::init_entry(void* plan) { run_box_init(*static_cast<const ChildPlan*>(plan)); }

void* Box::init_stack_top() {
    if (!init_stack_) {
        void* mem = ::mmap(nullptr, kInitStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                           -1, 0);
        if (mem == MAP_FAILED) return nullptr;  // clone then fails with EINVAL, reported as an internal error
        init_stack_ = mem;
    }
    return static_cast<char*>(init_stack_) + kInitStackSize;
}

RunOutcome Box::run(const RunPolicy& policy) {
    RunOutcome out;
    auto internal = [&](std::string message) {
        out.internal_error = true;
        out.internal_message = std::move(message);
        return out;
    };
    if (broken_) return internal("box slot " + std::to_string(slot_) + " could not be emptied by an earlier run");
    if (policy.argv.empty()) return internal("empty argv");

    Pipe in, outp, errp, status;
    std::string tmp_options;
    try {
        cgroup_->prepare(policy.limits);
        in = make_pipe();
        outp = make_pipe();
        errp = make_pipe();
        status = make_pipe();
    } catch (const std::exception& e) {
        return internal(e.what());
    }

    // Everything the child reads is laid out now: it must not allocate.
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : policy.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (const auto& a : policy.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string box_target = sandbox_.layout_.root_dir + "/box";
    const std::string proc_target = sandbox_.layout_.root_dir + "/proc";
    const std::string tmp_target = sandbox_.layout_.root_dir + "/tmp";
    if (policy.tmpfs_mb > 0)
        tmp_options = "size=" + std::to_string(policy.tmpfs_mb) + "m,mode=1777,nr_inodes=4096";

    const Limits& lim = policy.limits;
    ChildPlan plan{};
    plan.cgroup = cgroup_->join_plan();
    plan.netns_fd = netns_.get();
    plan.mounts = ChildMounts{sandbox_.layout_.root_dir.c_str(), policy.work_dir.c_str(), box_target.c_str(),
                              proc_target.c_str(),  tmp_target.c_str(),
                              tmp_options.empty() ? nullptr : tmp_options.c_str(),
                              policy.work_access == WorkDirAccess::Writable};
    plan.stdin_fd = in.read.get();
    plan.stdout_fd = outp.write.get();
    plan.stderr_fd = errp.write.get();
    plan.status_fd = status.write.get();
    const rlim_t mb = 1024 * 1024;
    const rlim_t cpu_seconds = static_cast<rlim_t>((lim.cpu_ms + 999) / 1000 + 1);
    plan.rlimits[0] = {RLIMIT_CORE, 0};
    plan.rlimits[1] = {RLIMIT_FSIZE, static_cast<rlim_t>(lim.file_size_mb) * mb};
    plan.rlimits[2] = {RLIMIT_NOFILE, static_cast<rlim_t>(lim.open_files)};
    plan.rlimits[3] = {RLIMIT_STACK, static_cast<rlim_t>(lim.memory_mb) * mb};  // the memory cgroup still bounds it
    plan.rlimits[4] = {RLIMIT_CPU, cpu_seconds};  // backstop for the cgroup-based CPU check
    plan.rlimits[5] = {RLIMIT_MEMLOCK, 64 * 1024};
    plan.rlimits[6] = {RLIMIT_MSGQUEUE, 0};
    plan.n_rlimits = 7;
    plan.cap_last_cap = sandbox_.cap_last_cap_;
    plan.uid = uid_;
    plan.gid = uid_;
    plan.seccomp = sandbox_.seccomp_.get();
    plan.path = argv[0];
    plan.argv = argv.data();
    plan.envp = envp.data();

    CloneArgs args{};
    args.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    args.exit_signal = SIGCHLD;
    if (plan.cgroup.clone_into_fd >= 0) {
        args.flags |= kCloneIntoCgroup;
        args.cgroup = static_cast<uint64_t>(plan.cgroup.clone_into_fd);
    }

    // The box's pipe ends belong to its uid, so a program can reopen them
    // (/dev/stdin, /proc/self/fd/1) as it could outside a sandbox.
    for (const Fd* end : {&in.read, &outp.write, &errp.write})
        if (::fchown(end->get(), uid_, uid_) != 0)
            return internal(SysError{"fchown", "box pipe", errno, {}}.message());

    const auto start = Clock::now();
    long raw = 0;
    if (plan.cgroup.clone_into_fd >= 0 || kSanitized) {
        // v2: born inside the box's cgroup. clone3 has no "run this function
        // on that stack" form in glibc, so this one copies our page tables.
        raw = ::syscall(SYS_clone3, &args, sizeof args);
        if (raw == 0) run_box_init(plan);
    } else {
        // v1: init shares our memory (CLONE_VM) on a stack of its own, so no
        // page table is copied and no copy-on-write fault is taken, which is
        // most of what a fork costs. It is safe because init reads only the
        // plan, which stays untouched until it has exited, never allocates,
        // and touches errno only on the failure path that ends it.
        raw = ::clone(&Box::init_entry, init_stack_top(), static_cast<int>(args.flags) | CLONE_VM | SIGCHLD, &plan);
    }
    if (raw < 0) return internal(SysError{"clone", "CLONE_NEWPID|CLONE_NEWNS|…", errno, {}}.message());
    const pid_t pid = static_cast<pid_t>(raw);

    in.read.reset();
    outp.write.reset();
    errp.write.reset();
    status.write.reset();
    set_nonblocking(in.write.get());
    set_nonblocking(outp.read.get());
    set_nonblocking(errp.read.get());
    set_nonblocking(status.read.get());
    if (policy.stdin_data.empty()) in.write.reset();

    // ---- supervise: feed stdin, collect output, watch the clock and counters
    enum class Kill { None, Wall, Cpu, Output, Pids, Cancel };
    Kill kill_reason = Kill::None;
    const auto deadline = start + std::chrono::milliseconds(lim.time_ms);
    const int64_t cpu_limit_ns = lim.cpu_ms * 1'000'000;
    const size_t output_cap = static_cast<size_t>(lim.output_bytes);
    constexpr auto kTick = std::chrono::milliseconds(10);
    auto next_tick = start + kTick;
    size_t stdin_off = 0;
    std::vector<ChildReport> reports;
    std::string status_buf;
    std::string poll_error;
    bool status_eof = false, out_eof = false, err_eof = false;
    auto end = start;
    char buf[65536];

    auto read_output = [&](Fd& fd, std::string& sink, bool& eof) {
        for (;;) {
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                if (n == 0 || errno != EAGAIN) {
                    eof = true;
                    fd.reset();
                }
                return;
            }
            size_t used = out.stdout_data.size() + out.stderr_data.size();
            size_t room = output_cap > used ? output_cap - used : 0;
            sink.append(buf, std::min(room, static_cast<size_t>(n)));
            if (static_cast<size_t>(n) > room) {
                kill_reason = Kill::Output;
                return;
            }
        }
    };

    while (kill_reason == Kill::None && !(status_eof && out_eof && err_eof)) {
        auto now = Clock::now();
        if (now >= deadline) {
            kill_reason = Kill::Wall;
            break;
        }
        if (now >= next_tick) {
            next_tick = now + kTick;
            if (cgroup_->cpu_ns() > cpu_limit_ns) {
                kill_reason = Kill::Cpu;
                break;
            }
            if (cgroup_->pids_limit_hit()) {
                kill_reason = Kill::Pids;
                break;
            }
            if (policy.cancel && policy.cancel->load()) {
                kill_reason = Kill::Cancel;
                break;
            }
        }
        pollfd fds[4];
        int nfds = 0;
        auto add = [&](const Fd& fd, short events) {
            if (fd) fds[nfds++] = pollfd{fd.get(), events, 0};
        };
        add(status.read, POLLIN);
        add(outp.read, POLLIN);
        add(errp.read, POLLIN);
        add(in.write, POLLOUT);
        auto wake = std::min(deadline, next_tick);
        int timeout = static_cast<int>(
            std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
        int rc = ::poll(fds, static_cast<nfds_t>(nfds), std::max(timeout, 0));
        if (rc < 0 && errno != EINTR) {
            // Still kill, reap and empty the box below; report afterwards.
            poll_error = SysError{"poll", "box pipes", errno, {}}.message();
            kill_reason = Kill::Wall;
            break;
        }
        if (rc <= 0) continue;

        if (status.read) {
            for (;;) {
                ssize_t n = ::read(status.read.get(), buf, sizeof buf);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && errno == EAGAIN) break;
                if (n <= 0) {
                    status_eof = true;
                    end = Clock::now();
                    status.read.reset();
                    break;
                }
                status_buf.append(buf, static_cast<size_t>(n));
            }
        }
        if (outp.read) read_output(outp.read, out.stdout_data, out_eof);
        if (errp.read) read_output(errp.read, out.stderr_data, err_eof);
        if (in.write) {
            ssize_t n = ::write(in.write.get(), policy.stdin_data.data() + stdin_off,
                                std::min<size_t>(policy.stdin_data.size() - stdin_off, 1 << 16));
            if (n > 0) stdin_off += static_cast<size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_off == policy.stdin_data.size())
                in.write.reset();  // done, or the program closed its stdin (EPIPE)
        }
    }

    // ---- finish: kill what is left, reap, read the counters
    if (kill_reason != Kill::None) end = Clock::now();
    if (kill_reason != Kill::None || !status_eof) ::kill(pid, SIGKILL);  // takes the PID namespace down
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, __WALL) < 0 && errno == EINTR) {
    }
    if (status.read) {
        // init has exited, so the write end is closed: take any last record.
        for (ssize_t n; (n = ::read(status.read.get(), buf, sizeof buf)) > 0;)
            status_buf.append(buf, static_cast<size_t>(n));
        status.read.reset();
    }
    const bool emptied = cgroup_->kill_all();
    CgroupUsage usage;
    try {
        usage = cgroup_->finish();
    } catch (const std::exception& e) {
        broken_ = true;
        return internal(e.what());
    }
    if (!emptied) {
        broken_ = true;
        return internal("could not empty the cgroup of box slot " + std::to_string(slot_));
    }

    if (!poll_error.empty()) return internal(poll_error);
    for (size_t off = 0; off + sizeof(ChildReport) <= status_buf.size(); off += sizeof(ChildReport)) {
        ChildReport r;
        std::memcpy(&r, status_buf.data() + off, sizeof r);
        reports.push_back(r);
    }
    for (const auto& r : reports) {
        if (r.kind != ChildReport::Failure) continue;
        auto stage = static_cast<ChildStage>(r.stage);
        std::string what = child_stage_name(stage);
        if (stage == ChildStage::Mounts) what += " (" + mount_stage_name(r.detail) + ")";
        if (stage == ChildStage::Exec) what += " " + policy.argv[0];
        return internal("sandbox setup failed: " + what + ": " + errno_name(r.err) + " (" +
                        std::strerror(r.err) + ")");
    }

    out.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(end - start).count();
    out.cpu_ms = usage.cpu_ns / 1'000'000;
    out.memory_kb = usage.memory_peak_bytes / 1024;
    out.oom_killed = usage.oom_kills > 0;
    out.pids_limit_hit = usage.pids_limit_hits > 0 || kill_reason == Kill::Pids;
    out.output_exceeded = kill_reason == Kill::Output;
    out.wall_timeout = kill_reason == Kill::Wall;
    out.cancelled = kill_reason == Kill::Cancel;
    for (const auto& r : reports) {
        if (r.kind != ChildReport::Exit) continue;
        out.exited = true;
        if (WIFEXITED(r.detail)) out.exit_code = WEXITSTATUS(r.detail);
        if (WIFSIGNALED(r.detail)) out.term_signal = WTERMSIG(r.detail);
    }
    if (!out.exited) {
        if (kill_reason == Kill::None && !out.oom_killed)
            return internal("box init ended without reporting the program's status");
        out.term_signal = SIGKILL;
    }
    out.cpu_timeout = kill_reason == Kill::Cpu || usage.cpu_ns > cpu_limit_ns || out.term_signal == SIGXCPU;
    return out;
}

}  // namespace execd
