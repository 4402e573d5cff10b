#include "core/sandbox/sandbox.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/sandbox/plan.h"
#include "core/sandbox/supervise.h"
#include "core/util/files.h"
#include "core/util/sys_error.h"

namespace execd {
namespace {

using Clock = std::chrono::steady_clock;

// struct clone_args of clone3(2); spelled out here because <linux/sched.h>
// and glibc's <sched.h> do not mix.
struct CloneArgs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

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

RunOutcome internal_error(std::string message) {
    RunOutcome out;
    out.internal_error = true;
    out.internal_message = std::move(message);
    return out;
}

// MountStage's names, in its order.
std::string mount_stage_name(int stage) {
    static const char* names[] = {
        "setns box root", "unshare mount namespace", "move_mount /box", "mount proc", "mount tmpfs", "chdir /box"};
    return stage >= 0 && stage < static_cast<int>(std::size(names)) ? names[stage] : "mount";
}

const char* child_stage_name(ChildStage s) noexcept {
    switch (s) {
        case ChildStage::ExecInit: return "execute box init";
        case ChildStage::ReadPlan: return "read plan";
        case ChildStage::CgroupJoin: return "join cgroup";
        case ChildStage::CgroupNamespace: return "unshare cgroup namespace";
        case ChildStage::NetNamespace: return "setns network namespace";
        case ChildStage::Hostname: return "sethostname";
        case ChildStage::Mounts: return "mount box filesystem";
        case ChildStage::Signals: return "reset signals";
        case ChildStage::CloseFds: return "close inherited fds";
        case ChildStage::Fork: return "start program";
        case ChildStage::Stdio: return "dup2 stdio";
        case ChildStage::Rlimits: return "setrlimit";
        case ChildStage::Groups: return "setgroups";
        case ChildStage::Gid: return "setresgid";
        case ChildStage::Uid: return "setresuid";
        case ChildStage::Capabilities: return "drop capabilities";
        case ChildStage::NoNewPrivs: return "prctl(PR_SET_NO_NEW_PRIVS)";
        case ChildStage::Seccomp: return "load seccomp filter";
        case ChildStage::Exec: return "execve";
        case ChildStage::Spawn: return "fork box init";
    }
    return "unknown stage";
}

// "execve /usr/bin/x: ENOENT (No such file or directory)" for a failure report.
std::string describe_failure(const ChildReport& r, const std::string& program) {
    const auto stage = static_cast<ChildStage>(r.stage);
    std::string what = child_stage_name(stage);
    if (stage == ChildStage::Mounts) what += " (" + mount_stage_name(r.detail) + ")";
    if (stage == ChildStage::Exec) what += " " + program;
    if (stage == ChildStage::Rlimits) what += " (resource " + std::to_string(r.detail) + ")";
    return what + ": " + errno_name(r.err) + " (" + std::strerror(r.err) + ")";
}

// A message for the box init (plan.h): a header, then strings and arrays
// addressed by their offset from the start.
template <typename Header>
class PlanWriter {
public:
    PlanWriter() : buf_(sizeof(Header), '\0') {}

    Header& header() { return *reinterpret_cast<Header*>(buf_.data()); }

    uint32_t add_string(std::string_view text) {
        const uint32_t off = static_cast<uint32_t>(buf_.size());
        buf_.append(text);
        buf_.push_back('\0');
        return off;
    }

    uint32_t add_strings(const std::vector<std::string_view>& items) {
        std::vector<uint32_t> offs;
        for (auto item : items) offs.push_back(add_string(item));
        return add_bytes(offs.data(), offs.size() * sizeof(uint32_t));
    }

    // 8-aligned, so the init can read the array in place.
    uint32_t add_bytes(const void* data, size_t n) {
        while (buf_.size() % 8 != 0) buf_.push_back('\0');
        const uint32_t off = static_cast<uint32_t>(buf_.size());
        buf_.append(static_cast<const char*>(data), n);
        return off;
    }

    // The finished message, its size written in.
    std::string finish() {
        header().size = static_cast<uint32_t>(buf_.size());
        return std::move(buf_);
    }

private:
    std::string buf_;
};

// sendmsg of `data` with `n_fds` descriptors (SCM_RIGHTS) on the first byte.
// Returns the bytes sent or -1 with errno.
ssize_t send_with_fds(int sock, const void* data, size_t size, const int* fds, int n_fds) {
    iovec iov{const_cast<void*>(data), size};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (n_fds > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * static_cast<size_t>(n_fds));
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * static_cast<size_t>(n_fds));
        std::memcpy(CMSG_DATA(c), fds, sizeof(int) * static_cast<size_t>(n_fds));
    }
    ssize_t n;
    do {
        n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

// What the short-lived child between clone and the box init's execve needs;
// all prepared before clone, since the child shares our memory.
struct ExecInitArgs {
    int init_fd;
    int status_fd;
    const int* keep;  // fds whose CLOEXEC the child clears (its own fd table)
    int n_keep;
    char* const* argv;
    char* const* envp;
};

// Runs in the child of clone(CLONE_VM|CLONE_VFORK): only async-signal-safe
// system calls, then execve of the box init, after which the supervisor
// resumes and the child has a memory of its own.
int exec_box_init(void* raw) {
    const auto& a = *static_cast<const ExecInitArgs*>(raw);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int err = 0;
    for (int i = 0; i < a.n_keep && err == 0; ++i)
        if (a.keep[i] >= 0 && ::fcntl(a.keep[i], F_SETFD, 0) != 0) err = errno;
    if (err == 0) {
        ::syscall(SYS_execveat, a.init_fd, "", a.argv, a.envp, AT_EMPTY_PATH);
        err = errno;
    }
    ChildReport r{ChildReport::Failure, static_cast<int32_t>(ChildStage::ExecInit), err, 0};
    ssize_t ignored = ::write(a.status_fd, &r, sizeof r);
    (void)ignored;
    ::_exit(127);
}

extern "C" const unsigned char execd_box_init_begin[];
extern "C" const unsigned char execd_box_init_end[];

// The box init's executable, once per Sandbox: a memfd holding the embedded
// binary, sealed so nothing can change it. Where memfds may not be executed
// (vm.memfd_noexec = 2), a root-only file in the private tmpfs instead.
Fd make_box_init_executable(const std::string& ns_dir) {
    const std::string_view bytes(reinterpret_cast<const char*>(execd_box_init_begin),
                                 static_cast<size_t>(execd_box_init_end - execd_box_init_begin));
    constexpr unsigned kMfdExec = 0x10;  // MFD_EXEC, Linux 6.3; older kernels refuse unknown flags
    int raw = ::memfd_create("execd-box-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | kMfdExec);
    if (raw < 0 && errno == EINVAL) raw = ::memfd_create("execd-box-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (raw >= 0) {
        Fd fd(raw);
        for (size_t off = 0; off < bytes.size();) {
            ssize_t n = ::write(fd.get(), bytes.data() + off, bytes.size() - off);
            if (n <= 0) throw_errno("write", "box init memfd");
            off += static_cast<size_t>(n);
        }
        if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
            throw_errno("fcntl", "F_ADD_SEALS on the box init memfd");
        return fd;
    }
    const std::string path = ns_dir + "/box-init";
    write_file(path, bytes);
    if (::chmod(path.c_str(), 0500) != 0) throw_errno("chmod", path);
    Fd fd(::open(path.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw_errno("open", path);
    return fd;
}

// The mount namespace every box starts from, once per Sandbox: a copy of
// ours pivoted into the box root, with the host's tree detached, so it holds
// the root's own mounts and nothing else. Each run's init enters a fresh copy
// of it (a few mounts, no pivot_root, nothing to detach), where a copy of
// the whole host tree and its detach per run cost about 0.1 ms and had a
// millisecond-long tail. Made on a thread of its own, whose mount namespace
// and root it may change; kept by fd, so it ends with the process.
Fd make_box_mount_ns(const std::string& root_dir) {
    Fd ns;
    std::optional<SysError> error;
    std::thread maker([&] {
        auto step = [&](bool ok, const char* op, const std::string& arg) {
            if (!ok && !error) error = SysError{op, arg, errno, "is execd running as root?"};
            return ok && !error;
        };
        if (!step(::unshare(CLONE_NEWNS) == 0, "unshare", "CLONE_NEWNS")) return;
        Fd fd(::open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC));
        if (step(bool(fd), "open", "/proc/thread-self/ns/mnt") &&
            step(::chdir(root_dir.c_str()) == 0, "chdir", root_dir) &&
            step(::syscall(SYS_pivot_root, ".", ".") == 0, "pivot_root", root_dir) &&
            step(::umount2(".", MNT_DETACH) == 0, "umount2", "old root of " + root_dir))
            ns = std::move(fd);
    });
    maker.join();
    if (error) throw SystemFailure(*error);
    return ns;
}

}  // namespace

Fd open_lock_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        if (errno != ENOENT) throw_errno("mkdir", dir);
        const std::string parent = dir.substr(0, dir.find_last_of('/'));
        if (parent.empty() || (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)) throw_errno("mkdir", parent);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("mkdir", dir);
    }
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("open", dir);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("fstat", dir);
    if (st.st_uid != 0 || (st.st_mode & 077) != 0) {
        errno = EPERM;
        throw_errno("check", dir, "the slot lock directory must be owned by root with mode 0700");
    }
    return fd;
}

uid_t instance_uid_base(const std::string& instance) {
    if (instance.empty()) return 61000;
    uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : instance) h = (h ^ c) * 16777619u;
    return 61000 + 256 * (1 + h % 60);
}

std::string instance_name_problem(const std::string& instance) {
    if (instance.size() <= 32 &&
        instance.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
            std::string::npos)
        return "";
    return "'" + instance.substr(0, 64) + "' is not an instance name: use letters, digits, '-' and '_', at most 32";
}

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
    if (!is_safe_file_name(sub) || !is_safe_file_name(leaf)) throw std::invalid_argument("unsafe file name: " + name);
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

Sandbox::Sandbox(SandboxConfig config) : config_(std::move(config)), seccomp_(SeccompProgram::build()) {
    // The supervisor writes stdin into pipes whose reader may exit at any time.
    ::signal(SIGPIPE, SIG_IGN);
    if (::geteuid() != 0) {
        errno = EPERM;
        throw_errno("geteuid", "", "the native sandbox needs root (or use a running execd daemon)");
    }
    if (std::string problem = instance_name_problem(config_.instance); !problem.empty())
        throw std::invalid_argument(problem);
    cgroups_ = CgroupManager::detect(config_.instance.empty() ? "execd" : "execd-" + config_.instance);
    lock_dir_ = open_lock_dir(config_.lock_dir);
    remove_stale_boxes();
    layout_ = prepare_root(config_.state_dir, config_.binds, config_.work_tmpfs_mb);
    work_area_ = Fd(::open(layout_.work_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!work_area_) throw_errno("open", layout_.work_dir);
    box_init_ = make_box_init_executable(layout_.ns_dir);
    box_mntns_ = make_box_mount_ns(layout_.root_dir);
    int cap_last_cap = CAP_LAST_CAP;
    try {
        cap_last_cap = std::stoi(read_file("/proc/sys/kernel/cap_last_cap"));
    } catch (const std::exception&) {
    }

    // What every box shares, sent once to each spawner. Every resource is
    // set, none inherited from whoever started us: the same program gets the
    // same verdict under a shell, systemd with LimitAS= or a CI runner.
    // Memory, processes and CPU are bounded by the cgroup; the address
    // space, data and process count are not limited here, or they would end
    // a program before the cgroup could give the verdict that names the real
    // cause. The three a run chooses (CPU, file size, open files) start at
    // their highest and each RunPlan lowers them. (A hard limit the caller
    // lowered can only be raised with CAP_SYS_RESOURCE; without it the box
    // gets the caller's hard limit, the closest it can.)
    PlanWriter<SpawnerPlan> w;
    {
        const uint64_t inf = RLIM_INFINITY;
        const PlanRlimit limits[kPlanRlimits] = {
            {RLIMIT_CPU, 0, inf},
            {RLIMIT_FSIZE, 0, inf},
            {RLIMIT_DATA, 0, inf},
            // Unlimited: the main thread's stack may grow as far as the
            // memory cgroup allows, and glibc then gives new threads 2 MiB
            // stacks. (A stack limit as large as the memory limit made each
            // thread reserve that much address space, so a thread bomb under
            // an inherited RLIMIT_AS ran out of it before the pids limit.)
            {RLIMIT_STACK, 0, inf},
            {RLIMIT_CORE, 0, 0},
            {RLIMIT_RSS, 0, inf},
            {RLIMIT_NPROC, 0, inf},   // pids.max counts the box; the uid is the slot's own
            {RLIMIT_NOFILE, 0, inf},  // clamped to the hard limit (and fs.nr_open)
            {RLIMIT_MEMLOCK, 0, 64 * 1024},
            {RLIMIT_AS, 0, inf},
            {RLIMIT_LOCKS, 0, 1024},
            {RLIMIT_SIGPENDING, 0, 1024},
            {RLIMIT_MSGQUEUE, 0, 0},
            {RLIMIT_NICE, 0, 0},
            {RLIMIT_RTPRIO, 0, 0},
            {RLIMIT_RTTIME, 0, 0},
        };
        SpawnerPlan& h = w.header();
        h.magic = kSpawnerMagic;
        h.cap_last_cap = cap_last_cap;
        h.n_rlimits = kPlanRlimits;
        std::copy(std::begin(limits), std::end(limits), h.rlimits);
    }
    const sock_fprog* filter = seccomp_.get();
    const uint32_t off_seccomp = w.add_bytes(filter->filter, filter->len * sizeof(sock_filter));
    w.header().seccomp = off_seccomp;
    w.header().seccomp_len = filter->len;
    spawner_plan_ = w.finish();
    std::lock_guard lock(spawner_mutex_);
    spawner_thread_.run([this] { start_spawner(); });
}

Sandbox::~Sandbox() {
    // The spawner exits when its socket closes; the box inits it made die
    // with it (their parent-death signal).
    spawner_.reset();
    if (spawner_pid_ > 0)
        while (::waitpid(spawner_pid_, nullptr, __WALL) < 0 && errno == EINTR) {
        }
}

void Sandbox::start_spawner() {
    if (spawner_pid_ > 0) {
        // The old one is gone (its socket failed); reap it.
        spawner_.reset();
        while (::waitpid(spawner_pid_, nullptr, __WALL) < 0 && errno == EINTR) {
        }
        spawner_pid_ = -1;
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair", "spawner");
    Fd ours(sv[0]), theirs(sv[1]);

    char fd_text[16];
    std::snprintf(fd_text, sizeof fd_text, "%d", theirs.get());
    char init_name[] = "execd-box-init";
    char* const init_argv[] = {init_name, fd_text, nullptr};
    char* const init_envp[] = {nullptr};
    const int keep[1] = {theirs.get()};
    ExecInitArgs exec_args{box_init_.get(), theirs.get(), keep, 1, init_argv, init_envp};

    long raw = 0;
    if (kSanitized) {
        // Sanitizer builds cannot follow a child that shares their memory on
        // a stack of its own: a plain fork-like clone3, then the same steps.
        CloneArgs args{};
        args.exit_signal = SIGCHLD;
        raw = ::syscall(SYS_clone3, &args, sizeof args);
        if (raw == 0) exec_box_init(&exec_args);
    } else {
        // CLONE_VM|CLONE_VFORK: no page table is copied however large the
        // supervisor is, and we resume once the child has executed the
        // spawner, which has a memory of its own from then on.
        constexpr size_t kStackSize = 64 * 1024;
        void* stack =
            ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED) throw_errno("mmap", "spawner stack");
        raw = ::clone(&exec_box_init, static_cast<char*>(stack) + kStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD,
                      &exec_args);
        ::munmap(stack, kStackSize);
    }
    if (raw < 0) throw_errno("clone", "spawner");
    spawner_pid_ = static_cast<pid_t>(raw);
    theirs.reset();
    ChildReport r{};
    if (::recv(ours.get(), &r, sizeof r, MSG_DONTWAIT) == static_cast<ssize_t>(sizeof r) &&
        r.kind == ChildReport::Failure) {
        errno = r.err;
        throw_errno("execveat", "the box init (memfd)", "is /dev/shm or the memfd executable? (vm.memfd_noexec)");
    }
    const int mntns = box_mntns_.get();
    if (send_with_fds(ours.get(), spawner_plan_.data(), spawner_plan_.size(), &mntns, 1) !=
        static_cast<ssize_t>(spawner_plan_.size()))
        throw_errno("sendmsg", "spawner plan");
    spawner_ = std::move(ours);
}

void Sandbox::request_spawn(const void* request, size_t size, const int* fds, int n_fds) {
    std::lock_guard lock(spawner_mutex_);
    for (int attempt = 0;; ++attempt) {
        if (spawner_ && send_with_fds(spawner_.get(), request, size, fds, n_fds) == static_cast<ssize_t>(size)) return;
        if (spawner_ && errno != EPIPE && errno != ECONNRESET && errno != ENOTCONN)
            throw_errno("sendmsg", "spawn request");
        if (attempt > 0) throw_errno("sendmsg", "spawn request", "the spawner exited twice");
        spawner_thread_.run([this] { start_spawner(); });
    }
}

Fd Sandbox::lock_slot(int slot) {
    // A flock on a file only root can open: the kernel drops it when its
    // holder dies, and no other user can take (squat) a slot. (An abstract
    // unix socket name, which any local user can bind, is not such a lock.)
    const std::string name = "box-" + std::to_string(config_.uid_base + static_cast<uid_t>(slot)) + ".lock";
    Fd fd(::openat(lock_dir_.get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw_errno("open", config_.lock_dir + "/" + name);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return Fd();
        throw_errno("flock", config_.lock_dir + "/" + name);
    }
    return fd;
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

Sandbox::Space Sandbox::work_area_space() const noexcept {
    struct statvfs st {};
    if (::fstatvfs(work_area_.get(), &st) != 0) return {};
    const auto block = static_cast<int64_t>(st.f_frsize);
    return {static_cast<int64_t>(st.f_blocks) * block, static_cast<int64_t>(st.f_bavail) * block};
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
        Fd sock = lock_slot(slot);
        if (!sock) continue;
        // Cgroups are named by uid, which is unique per box across processes.
        std::unique_ptr<Box> box(new Box(*this, slot, std::move(sock),
                                         cgroups_->make_box(static_cast<int>(config_.uid_base) + slot),
                                         make_empty_netns()));
        // Its first init prepares itself while the caller writes the job's
        // files; a failure here shows again at the first run.
        try {
            box->request_standby();
        } catch (const std::exception&) {
            box->discard_standby();
        }
        return box;
    }
    errno = EBUSY;
    throw_errno("acquire box", std::to_string(config_.max_slots) + " slots", "all box slots are in use");
}

// ---------------------------------------------------------------- Box

Box::Box(Sandbox& sandbox, int slot, Fd lock, std::unique_ptr<BoxCgroup> cgroup, Fd netns)
    : sandbox_(sandbox),
      slot_(slot),
      uid_(sandbox.config_.uid_base + static_cast<uid_t>(slot)),
      lock_(std::move(lock)),
      cgroup_(std::move(cgroup)),
      netns_(std::move(netns)) {}

Box::~Box() {
    discard_standby();
    settle();
}

void Box::request_standby() {
    cgroup_->recycle();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair", "box control");
    Fd ours(sv[0]), theirs(sv[1]);
    const JoinPlan join = cgroup_->join_plan();
    SpawnRequest req{};
    req.magic = kRequestMagic;
    req.uid = uid_;
    req.gid = uid_;
    int fds[6] = {theirs.get(), netns_.get()};
    int n_fds = 2;
    if (join.clone_into_fd >= 0) {
        req.clone_into = 1;
        fds[n_fds++] = join.clone_into_fd;
    } else {
        req.n_task_fds = std::min(join.n_task_fds, 3);
        for (int i = 0; i < req.n_task_fds; ++i) fds[n_fds++] = join.task_fds[i];
    }
    sandbox_.request_spawn(&req, sizeof req, fds, n_fds);
    set_nonblocking(ours.get());
    ctl_ = std::move(ours);
    ready_ = false;
}

std::string Box::await_ready(bool* vanished) {
    *vanished = false;
    using namespace std::chrono;
    const auto give_up = Clock::now() + seconds(10);
    for (;;) {
        ChildReport r{};
        iovec iov{&r, sizeof r};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(ctl_.get(), &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
        int fd = -1;
        if (n > 0)
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
        Fd received(fd);
        if (n == static_cast<ssize_t>(sizeof r)) {
            if (r.kind == ChildReport::Ready && received) {
                init_pidfd_ = std::move(received);
                ready_ = true;
                return "";
            }
            if (r.kind == ChildReport::Failure) return "sandbox setup failed: " + describe_failure(r, "");
            return "the box init sent an unexpected report";
        }
        if (n == 0) {
            *vanished = true;
            return "the box init ended before it was ready";
        }
        if (n > 0) return "the box init sent a short report";
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return SysError{"recvmsg", "box control", errno, {}}.message();
        const auto left = duration_cast<milliseconds>(give_up - Clock::now()).count();
        if (left <= 0) return "the box init was not ready within 10 s";
        pollfd p{ctl_.get(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left));
    }
}

void Box::discard_standby() {
    if (ctl_ && !init_pidfd_) {
        // Not ready yet: once it is, it finds no plan and exits (taking its
        // PID namespace along). Wait for that, briefly, so nothing of it can
        // enter the box's cgroup after the caller empties it.
        ::shutdown(ctl_.get(), SHUT_WR);
        const auto give_up = Clock::now() + std::chrono::seconds(2);
        char buf[256];
        for (;;) {
            ssize_t n = ::read(ctl_.get(), buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
            if (n > 0) continue;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()).count();
            if (left <= 0) break;
            pollfd p{ctl_.get(), POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(left));
        }
    }
    retire_init();
    ctl_.reset();
    ready_ = false;
}

void Box::retire_init() {
    if (!init_pidfd_) return;
    ::syscall(SYS_pidfd_send_signal, init_pidfd_.get(), SIGKILL, nullptr, 0);
    settle();
    last_init_ = std::move(init_pidfd_);
}

void Box::settle() {
    if (!last_init_) return;
    pollfd p{last_init_.get(), POLLIN, 0};
    while (::poll(&p, 1, 10000) < 0 && errno == EINTR) {
    }
    last_init_.reset();
}

RunOutcome Box::run(const RunPolicy& policy) {
    if (broken_) return internal_error("box slot " + std::to_string(slot_) + " could not be emptied by an earlier run");
    RunOutcome out = run_prepared(policy);
    // This run's init is used up (killed already unless the run failed
    // before it started). The next one is asked for now, so it prepares
    // itself while the caller handles this result; a failure here shows when
    // the next run asks again.
    if (ready_) {
        retire_init();
        ctl_.reset();
        ready_ = false;
    } else {
        discard_standby();
    }
    if (policy.prepare_next) prepare_next();
    return out;
}

void Box::prepare_next() {
    if (broken_ || ctl_) return;
    try {
        request_standby();
    } catch (const std::exception&) {
        discard_standby();
    }
}

// The steps of one run, in order; each says what failed.
RunOutcome Box::run_prepared(const RunPolicy& policy) {
    if (policy.argv.empty()) return internal_error("empty argv");
    // 1. A Ready init, its program's process waiting in the box's cgroup,
    //    which now gets the run's limits.
    if (std::string error = make_ready(policy, false); !error.empty()) return internal_error(error);
    // 2. The pipes, and the work dir as a detached mount.
    Pipe in, out, err;
    Fd work;
    try {
        in = make_pipe();
        out = make_pipe();
        err = make_pipe();
        work = detached_work_dir(policy);
        // The box's pipe ends belong to its uid, so a program can reopen
        // them (/dev/stdin, /proc/self/fd/1) as it could outside a sandbox.
        for (const Fd* end : {&in.read, &out.write, &err.write})
            if (::fchown(end->get(), uid_, uid_) != 0) throw_errno("fchown", "box pipe");
    } catch (const std::exception& e) {
        return internal_error(e.what());
    }
    // 3. Everything else the run needs, in one plan.
    std::string plan;
    if (std::string error = write_run_plan(policy, &plan); !error.empty()) return internal_error(error);
    // 4. Go: the clock starts when the plan leaves.
    const auto start = Clock::now();
    const int fds[4] = {work.get(), in.read.get(), out.write.get(), err.write.get()};
    if (std::string error = send_plan(policy, plan, fds); !error.empty()) return internal_error(error);
    work.reset();
    in.read.reset();
    out.write.reset();
    err.write.reset();
    if (policy.stdin_data.empty()) in.write.reset();
    // 5. Supervise until the program ends or must be stopped.
    Supervision watch(policy, *cgroup_, ctl_.get(),
                      BoxStreams{std::move(in.write), std::move(out.read), std::move(err.read)}, start);
    watch.run();
    // 6. Kill the box: killing init takes its whole PID namespace down at
    //    once, forks in flight included. (Once it has reported it is about to
    //    exit anyway; the spawner, its parent, reaps it.)
    retire_init();
    watch.drain_status();
    // 7. Empty the cgroup, read its counters, and say what happened.
    return outcome(policy, watch.result(), start);
}

std::string Box::make_ready(const RunPolicy& policy, bool fresh) {
    if (fresh) discard_standby();
    for (int attempt = 0; !ready_; ++attempt) {
        try {
            if (!ctl_) request_standby();
        } catch (const std::exception& e) {
            return e.what();
        }
        bool vanished = false;
        std::string error = await_ready(&vanished);
        if (error.empty()) break;
        // Killed from outside while it waited: one more, made now.
        if (!vanished || attempt > 0) return error;
        discard_standby();
    }
    // The last run's init has exited by now (almost always): with it went
    // its mount namespace, whose /tmp may be charged to this box's memory
    // cgroup (v1) until then.
    settle();
    try {
        cgroup_->prepare(policy.limits);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

Fd Box::detached_work_dir(const RunPolicy& policy) {
    // open_tree(OPEN_TREE_CLONE) in our namespace; the init attaches it at
    // /box in the box's. Nothing changes in ours.
    Fd tree(static_cast<int>(
        ::syscall(SYS_open_tree, AT_FDCWD, policy.work_dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (!tree) throw_errno("open_tree", policy.work_dir);
    mount_attr attr{};
    attr.attr_set =
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (policy.work_access == WorkDirAccess::Writable ? 0 : MOUNT_ATTR_RDONLY);
    if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
        throw_errno("mount_setattr", policy.work_dir);
    return tree;
}

std::string Box::write_run_plan(const RunPolicy& policy, std::string* plan) {
    const Limits& lim = policy.limits;
    PlanWriter<RunPlan> w;
    {
        RunPlan& h = w.header();
        h.magic = kRunMagic;
        // The limits a run chooses; the init set every other one, and these
        // at their highest, before the run.
        const rlim_t mb = 1024 * 1024;
        const PlanRlimit limits[] = {
            {RLIMIT_CPU, 0, static_cast<uint64_t>((lim.cpu_ms + 999) / 1000 + 1)},  // backstop for the cgroup check
            {RLIMIT_FSIZE, 0, static_cast<uint64_t>(lim.file_size_mb) * mb},
            {RLIMIT_NOFILE, 0, static_cast<uint64_t>(lim.open_files)},
        };
        static_assert(std::size(limits) <= kRunRlimits);
        std::copy(std::begin(limits), std::end(limits), h.rlimits);
        h.n_rlimits = static_cast<int32_t>(std::size(limits));
    }
    if (policy.tmpfs_mb > 0) {
        const uint32_t off = w.add_string("size=" + std::to_string(policy.tmpfs_mb) + "m,mode=1777,nr_inodes=4096");
        w.header().tmp_options = off;
    }
    std::vector<std::string_view> args(policy.argv.begin(), policy.argv.end());
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : policy.env) env_strings.push_back(k + "=" + v);
    std::vector<std::string_view> envs(env_strings.begin(), env_strings.end());
    if (args.size() > kPlanMaxStrings || envs.size() > kPlanMaxStrings)
        return "too many arguments or environment variables for a box";
    const uint32_t argv = w.add_strings(args);
    const uint32_t envp = w.add_strings(envs);
    RunPlan& h = w.header();
    h.argc = static_cast<uint32_t>(args.size());
    h.argv = argv;
    h.envc = static_cast<uint32_t>(envs.size());
    h.envp = envp;
    *plan = w.finish();
    if (plan->size() > kPlanMaxBytes) return "the box plan is larger than 1 MiB (argv and environment)";
    return "";
}

std::string Box::send_plan(const RunPolicy& policy, const std::string& plan, const int fds[4]) {
    // The plan's first bytes carry the four descriptors; a long plan's rest
    // follows as the init reads.
    ssize_t n = send_with_fds(ctl_.get(), plan.data(), plan.size(), fds, 4);
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        // The prepared init was killed from outside after it was ready.
        if (std::string error = make_ready(policy, true); !error.empty()) return error;
        n = send_with_fds(ctl_.get(), plan.data(), plan.size(), fds, 4);
    }
    if (n < 0) return SysError{"sendmsg", "box plan", errno, {}}.message();
    for (size_t off = static_cast<size_t>(n); off < plan.size();) {
        n = ::write(ctl_.get(), plan.data() + off, plan.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            pollfd p{ctl_.get(), POLLOUT, 0};
            ::poll(&p, 1, 1000);
            continue;
        }
        if (n <= 0) return SysError{"write", "box plan", errno, {}}.message();
        off += static_cast<size_t>(n);
    }
    return "";
}

RunOutcome Box::outcome(const RunPolicy& policy, const Supervised& seen, Clock::time_point start) {
    const bool emptied = cgroup_->kill_all();
    CgroupUsage usage;
    try {
        usage = cgroup_->finish();
    } catch (const std::exception& e) {
        broken_ = true;
        return internal_error(e.what());
    }
    if (!emptied) {
        broken_ = true;
        return internal_error("could not empty the cgroup of box slot " + std::to_string(slot_));
    }
    if (!seen.poll_error.empty()) return internal_error(seen.poll_error);
    for (const auto& r : seen.reports) {
        if (r.kind != ChildReport::Failure) continue;
        return internal_error("sandbox setup failed: " + describe_failure(r, policy.argv[0]));
    }

    RunOutcome out;
    out.stdout_data = seen.stdout_data;
    out.stderr_data = seen.stderr_data;
    out.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(seen.end - start).count();
    out.cpu_ms = usage.cpu_ns / 1'000'000;
    out.memory_kb = usage.memory_peak_bytes / 1024;
    out.oom_killed = usage.oom_kills > 0;
    out.pids_limit_hit = usage.pids_limit_hits > 0 || seen.kill == KillReason::Pids;
    out.output_exceeded = seen.kill == KillReason::Output;
    out.wall_timeout = seen.kill == KillReason::Wall;
    out.cancelled = seen.kill == KillReason::Cancel;
    out.memory_thrashing = seen.kill == KillReason::Memory;
    for (const auto& r : seen.reports) {
        if (r.kind != ChildReport::Exit) continue;
        // The box's peak counts every process but only what rose above the
        // page cache earlier runs left charged to a reused cgroup (v1); the
        // main process's own peak resident set counts its shared pages too.
        // The figure is the larger: never below what /usr/bin/time reports.
        out.memory_kb = std::max<int64_t>(out.memory_kb, r.max_rss_kb);
        out.exited = true;
        if (WIFEXITED(r.detail)) out.exit_code = WEXITSTATUS(r.detail);
        if (WIFSIGNALED(r.detail)) out.term_signal = WTERMSIG(r.detail);
    }
    if (!out.exited) {
        if (seen.kill == KillReason::None && !out.oom_killed)
            return internal_error("box init ended without reporting the program's status");
        out.term_signal = SIGKILL;
    }
    out.cpu_timeout =
        seen.kill == KillReason::Cpu || usage.cpu_ns > policy.limits.cpu_ms * 1'000'000 || out.term_signal == SIGXCPU;
    return out;
}

}  // namespace execd
