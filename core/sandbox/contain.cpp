#include "sandbox/contain.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include <cerrno>

#include "sandbox/seccomp.h"

namespace execd {

const char* child_stage_name(ChildStage s) noexcept {
    switch (s) {
        case ChildStage::CgroupJoin: return "join cgroup";
        case ChildStage::CgroupNamespace: return "unshare cgroup namespace";
        case ChildStage::NetNamespace: return "setns network namespace";
        case ChildStage::Hostname: return "sethostname";
        case ChildStage::Mounts: return "mount box filesystem";
        case ChildStage::Signals: return "reset signals";
        case ChildStage::CloseFds: return "close inherited fds";
        case ChildStage::Fork: return "fork program";
        case ChildStage::Stdio: return "dup2 stdio";
        case ChildStage::Rlimits: return "setrlimit";
        case ChildStage::Groups: return "setgroups";
        case ChildStage::Gid: return "setresgid";
        case ChildStage::Uid: return "setresuid";
        case ChildStage::Capabilities: return "drop capabilities";
        case ChildStage::NoNewPrivs: return "prctl(PR_SET_NO_NEW_PRIVS)";
        case ChildStage::Seccomp: return "load seccomp filter";
        case ChildStage::Exec: return "execve";
    }
    return "unknown stage";
}

namespace {

void report(int fd, ChildReport r) noexcept {
    // A single write of a small record to a pipe is atomic.
    while (::write(fd, &r, sizeof r) < 0 && errno == EINTR) {
    }
}

[[noreturn]] void fail(const ChildPlan& p, ChildStage stage, int err, int detail = 0) noexcept {
    report(p.status_fd, ChildReport{ChildReport::Failure, static_cast<int32_t>(stage), err, detail});
    ::_exit(127);
}

// Closes every fd except 0-2 and the ones in keep[] (which it sorts).
int close_all_but(int* keep, int n) noexcept {
    for (int i = 1; i < n; ++i)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3;
    for (int i = 0; i < n; ++i) {
        if (keep[i] < 3) continue;
        unsigned fd = static_cast<unsigned>(keep[i]);
        if (fd > lo && ::syscall(SYS_close_range, lo, fd - 1, 0) != 0) return errno;
        lo = fd + 1;
    }
    if (::syscall(SYS_close_range, lo, ~0U, 0) != 0) return errno;
    return 0;
}

// Drops to the box's uid/gid with no capabilities, no way to regain them,
// and the seccomp filter. Used by both the program and init.
void drop_privileges(const ChildPlan& p) noexcept {
    // Empty the bounding set while we still hold CAP_SETPCAP; after the uid
    // change the permitted and effective sets are cleared by the kernel.
    // The kernel's own last capability (from the plan), so no call fails
    // and touches errno, which init shares with the supervisor on v1.
    for (int cap = 0; cap <= p.cap_last_cap; ++cap)
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) fail(p, ChildStage::Capabilities, errno, cap);
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        fail(p, ChildStage::Capabilities, errno);
    // Raw system calls: glibc's wrappers would broadcast the change to every
    // thread of a multi-threaded supervisor, whose memory init shares.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) fail(p, ChildStage::Groups, errno);
    if (::syscall(SYS_setresgid, p.gid, p.gid, p.gid) != 0) fail(p, ChildStage::Gid, errno);
    if (::syscall(SYS_setresuid, p.uid, p.uid, p.uid) != 0) fail(p, ChildStage::Uid, errno);
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capset, &hdr, data) != 0) fail(p, ChildStage::Capabilities, errno);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(p, ChildStage::NoNewPrivs, errno);
    if (int err = apply_seccomp(p.seccomp); err != 0) fail(p, ChildStage::Seccomp, err);
}

[[noreturn]] void exec_program(const ChildPlan& p) noexcept {
    if (::dup2(p.stdin_fd, 0) < 0 || ::dup2(p.stdout_fd, 1) < 0 || ::dup2(p.stderr_fd, 2) < 0)
        fail(p, ChildStage::Stdio, errno);
    ::execve(p.path, p.argv, p.envp);
    fail(p, ChildStage::Exec, errno);
}

}  // namespace

void run_box_init(const ChildPlan& p) noexcept {
    // If the supervisor dies, so does the box (and with init, the namespace).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

    // 1. cgroup. On v2 we were born in it (CLONE_INTO_CGROUP); on v1 the
    //    single-threaded child moves itself, the cheap way.
    for (int i = 0; i < p.cgroup.n_task_fds; ++i)
        if (::write(p.cgroup.task_fds[i], "0", 1) != 1) fail(p, ChildStage::CgroupJoin, errno, i);
    // 2. A cgroup namespace rooted at the box's cgroup.
    if (::unshare(CLONE_NEWCGROUP) != 0) fail(p, ChildStage::CgroupNamespace, errno);
    // 3. The shared, empty network namespace: no interface is up, not even lo.
    if (::setns(p.netns_fd, CLONE_NEWNET) != 0) fail(p, ChildStage::NetNamespace, errno);
    if (::sethostname("box", 3) != 0) fail(p, ChildStage::Hostname, errno);
    // 4. Filesystem.
    MountStage mstage{};
    if (int err = apply_child_mounts(p.mounts, &mstage); err != 0)
        fail(p, ChildStage::Mounts, err, static_cast<int>(mstage));
    // 5. Signals as a fresh process has them: execve keeps a blocked mask
    //    and ignored signals, and supervisors block or ignore some (execd
    //    blocks SIGTERM/SIGHUP for sigwait, ignores SIGPIPE).
    sigset_t none;
    sigemptyset(&none);
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail(p, ChildStage::Signals, errno);
    for (int sig = 1; sig < 32; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction old {};
        if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) {
            struct sigaction dfl {};
            dfl.sa_handler = SIG_DFL;
            ::sigaction(sig, &dfl, nullptr);
        }
    }

    // 6. Keep only what the box needs: the supervisor's other fds (another
    //    box's pipes, sockets) must not stay open in here.
    int keep[] = {p.stdin_fd, p.stdout_fd, p.stderr_fd, p.status_fd};
    if (int err = close_all_but(keep, 4); err != 0) fail(p, ChildStage::CloseFds, err);

    // 7. Limits and privileges, once, in init: the program inherits them all
    //    (rlimits, uid, empty capability sets, no_new_privs, the filter).
    //    init needs no privilege either, and a program of the same uid still
    //    cannot touch it: it is not dumpable (no ptrace, no /proc/1/mem), and
    //    a namespace's init ignores signals it has no handler for.
    for (int i = 0; i < p.n_rlimits; ++i) {
        rlimit rl{p.rlimits[i].value, p.rlimits[i].value};
        if (::setrlimit(p.rlimits[i].resource, &rl) != 0) fail(p, ChildStage::Rlimits, errno, p.rlimits[i].resource);
    }
    drop_privileges(p);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // The uid change above cleared the parent-death signal; set it again.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

    // 8. The program runs as PID 2: signals a process sends to its own
    //    namespace's init are dropped, so os.kill(os.getpid(), 9) would not
    //    work if the program were PID 1. vfork: no page-table copy, and
    //    execve resets "dumpable" for the program.
    pid_t child = ::vfork();
    if (child < 0) fail(p, ChildStage::Fork, errno);
    if (child == 0) exec_program(p);

    ::close(p.stdin_fd);
    ::close(p.stdout_fd);
    ::close(p.stderr_fd);

    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, __WALL);
        if (pid == child) {
            report(p.status_fd, ChildReport{ChildReport::Exit, 0, 0, status});
            // Exiting kills everything else left in the PID namespace.
            ::_exit(0);
        }
        if (pid < 0 && errno != EINTR) ::_exit(1);
    }
}

}  // namespace execd
