// The box init: every step between the spawner's fork and the program's
// execve, in one file so the order can be reviewed in one place.
//
// This file is part of the freestanding box init (core/sandbox/init/), not of
// execd_core: no libc, no allocation, no exceptions. It runs in a process of
// its own, forked by the spawner, so it shares no memory with the supervisor
// (a memory cgroup OOM kill of it cannot take the supervisor along) and its
// /proc entries show nothing of the supervisor's argv or environment. A
// failed step writes a ChildReport and exits 127.
//
// The order, and which side of the wait each step is on:
//   prepared ahead of the run (while the supervisor handles the last result)
//     1. network namespace, hostname, a copy of the box root's mount
//        namespace, /proc, signals, descriptors;
//     2. the program's process (PID 2): joins the box's cgroup and a cgroup
//        namespace, sets every rlimit, drops capabilities, groups, gid and
//        uid, sets no_new_privs, loads the filter, reports Ready and waits;
//   on the RunPlan
//     3. init mounts /box (the work dir, a detached mount the supervisor
//        made) and /tmp, and releases the program's process;
//     4. which lowers the run's rlimits, enters /box, takes its stdio and
//        executes the program;
//     5. init drops its own privileges, reaps, reports the exit status.
#include "core/sandbox/contain.h"

#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/fcntl.h>
#include <linux/futex.h>
#include <linux/mount.h>
#include <linux/prctl.h>
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/wait.h>

#include "core/sandbox/init/sys.h"

namespace execd::init {
namespace {

constexpr long kSigKill = 9, kSigStop = 19, kSigChld = 17, kSigIgn = 1, kSigDfl = 0;
constexpr long kSetMask = 2;  // SIG_SETMASK
constexpr int kSolSocket = 1, kScmRights = 1;
constexpr unsigned kMsgCmsgCloexec = 0x40000000;

// The kernel's struct sigaction (rt_sigaction), with a 64-bit mask.
struct KernelSigaction {
    unsigned long handler;
    unsigned long flags;
    unsigned long restorer;
    uint64_t mask;
};

// The kernel's struct msghdr, iovec and cmsghdr (x86_64 and aarch64 alike).
struct IoVec {
    const void* base;
    unsigned long len;
};
struct MsgHdr {
    void* name;
    int name_len;
    IoVec* iov;
    unsigned long iov_len;
    void* control;
    unsigned long control_len;
    int flags;
};
struct CmsgHdr {
    unsigned long len;
    int level;
    int type;
};
constexpr int kMaxFds = 8;
struct alignas(8) FdControl {
    CmsgHdr header;
    int fds[kMaxFds];
};

// What init and the program's process share (CLONE_VM): the handshake words
// and the decoded RunPlan.
struct Shared {
    const Standby* standby;
    // 0 while the program's process waits; 1: run the plan below.
    volatile int32_t go;
    // Cleared by the kernel when the program's process execs or exits
    // (CLONE_CHILD_CLEARTID): until then it shares init's descriptor table.
    volatile int32_t exec_tid;
    int init_pidfd;
    const RunPlan* run;
    char* const* argv;
    char* const* envp;
    int stdin_fd, stdout_fd, stderr_fd;
};
Shared shared;

alignas(16) char plan_buffer[kPlanMaxBytes];
char* argv_ptrs[kPlanMaxStrings + 1];
char* envp_ptrs[kPlanMaxStrings + 1];

void report(int fd, ChildReport r) {
    while (call(__NR_write, fd, &r, sizeof r) == -4 /* EINTR */) {
    }
}

[[noreturn]] void fail(ChildStage stage, long rc, int detail = 0) {
    report(shared.standby->ctl_fd,
           ChildReport{ChildReport::Failure, static_cast<int32_t>(stage), static_cast<int32_t>(-rc), detail});
    exit_now(127);
}

void futex_wait(volatile int32_t* word, int32_t expected) { call(__NR_futex, word, FUTEX_WAIT, expected, 0, 0); }

void futex_wake(volatile int32_t* word) { call(__NR_futex, word, FUTEX_WAKE, 1, 0, 0); }

// Closes every fd from 3 up except the ones in keep[] (which it sorts).
long close_all_but(int* keep, int n) {
    for (int i = 1; i < n; ++i)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3;
    for (int i = 0; i < n; ++i) {
        if (keep[i] < 3 || static_cast<unsigned>(keep[i]) < lo) continue;
        unsigned fd = static_cast<unsigned>(keep[i]);
        if (fd > lo)
            if (long rc = call(__NR_close_range, lo, fd - 1, 0); rc < 0) return rc;
        lo = fd + 1;
    }
    return call(__NR_close_range, lo, ~0U, 0);
}

// Enters a fresh copy of the box root's mount namespace and mounts /proc in
// it. The root's namespace was made once per Sandbox with only the box's
// tree in it (no host mounts), so the copy is small and there is no
// pivot_root or old root to detach; the copy, and every mount in it, goes
// away with the run. Returns 0 or -errno with the failing step in *stage.
long enter_root(const Standby& s, MountStage* stage) {
    *stage = MountStage::EnterRoot;
    if (long rc = call(__NR_setns, s.config->mntns_fd, CLONE_NEWNS); rc < 0) return rc;
    *stage = MountStage::NewNamespace;
    if (long rc = call(__NR_unshare, CLONE_NEWNS); rc < 0) return rc;
    // hidepid=2 ("invisible"): a process's /proc entries are visible only to
    // those that may ptrace it, so this init (not dumpable) is invisible to
    // the program.
    *stage = MountStage::Proc;
    return call(__NR_mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2");
}

// The run's own mounts: the work dir at /box (a detached mount the
// supervisor cloned with open_tree and whose flags it set), and /tmp.
long mount_run(int tree, const char* tmp_options, MountStage* stage) {
    *stage = MountStage::AttachWork;
    if (long rc = call(__NR_move_mount, tree, "", AT_FDCWD, "/box", MOVE_MOUNT_F_EMPTY_PATH); rc < 0) return rc;
    if (tmp_options) {
        *stage = MountStage::Tmp;
        if (long rc = call(__NR_mount, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp_options); rc < 0) return rc;
    }
    return 0;
}

// Sets one rlimit to `value` (soft and hard). Raising a hard limit the
// caller lowered needs CAP_SYS_RESOURCE; without it, or once privileges are
// gone, the current hard limit is the closest we can set.
long set_rlimit(int resource, uint64_t value) {
    rlimit64 rl{value, value};
    long rc = call(__NR_prlimit64, 0, resource, &rl, 0);
    if (rc == -1 /* EPERM */) {
        rlimit64 old{};
        if (call(__NR_prlimit64, 0, resource, 0, &old) == 0 && old.rlim_max < rl.rlim_max) {
            rl = rlimit64{old.rlim_max, old.rlim_max};
            rc = call(__NR_prlimit64, 0, resource, &rl, 0);
        }
    }
    return rc;
}

// No capabilities and no way to regain them, the box's uid and gid, and the
// system-call filter: the program's privileges, set in its own task.
void drop_privileges(const Standby& s) {
    // Empty the bounding set while CAP_SETPCAP is still held, so nothing the
    // program executes can bring a capability back; the uid change then
    // clears the permitted and effective sets.
    const SpawnerPlan& c = *s.config->plan;
    for (int cap = 0; cap <= c.cap_last_cap; ++cap)
        if (long rc = call(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0); rc < 0) fail(ChildStage::Capabilities, rc, cap);
    if (long rc = call(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); rc < 0 && rc != -22)
        fail(ChildStage::Capabilities, rc);
    if (long rc = call(__NR_setgroups, 0, 0); rc < 0) fail(ChildStage::Groups, rc);
    if (long rc = call(__NR_setresgid, s.gid, s.gid, s.gid); rc < 0) fail(ChildStage::Gid, rc);
    if (long rc = call(__NR_setresuid, s.uid, s.uid, s.uid); rc < 0) fail(ChildStage::Uid, rc);
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (long rc = call(__NR_capset, &hdr, data); rc < 0) fail(ChildStage::Capabilities, rc);
    if (long rc = call(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); rc < 0) fail(ChildStage::NoNewPrivs, rc);
    sock_fprog prog{static_cast<unsigned short>(c.seccomp_len), const_cast<sock_filter*>(s.config->seccomp)};
    if (long rc = call(__NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0); rc < 0)
        fail(ChildStage::Seccomp, rc);
}

// init's own privileges, once the program runs: the box's uid and gid, which
// clears every capability, and no_new_privs. init never calls execve again,
// so its bounding set does not matter, and it needs no filter: from here on
// it runs only wait4, one write and exit, on no input of the program's.
void drop_init_privileges(const Standby& s) {
    if (long rc = call(__NR_setgroups, 0, 0); rc < 0) fail(ChildStage::Groups, rc);
    if (long rc = call(__NR_setresgid, s.gid, s.gid, s.gid); rc < 0) fail(ChildStage::Gid, rc);
    if (long rc = call(__NR_setresuid, s.uid, s.uid, s.uid); rc < 0) fail(ChildStage::Uid, rc);
    if (long rc = call(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); rc < 0) fail(ChildStage::NoNewPrivs, rc);
}

long move_fd(int from, int to) {
    if (from == to) return call(__NR_fcntl, to, F_SETFD, 0);
    return call(__NR_dup3, from, to, 0);
}

// The program's process: born (v2) or moved (v1) into the box's cgroup —
// init itself never is, so nothing but the program's own processes is ever
// a candidate of the box's OOM killer, and the box's limits, counters and
// pids count the program alone. It runs on its own stack in init's memory
// and descriptor table until execve, which gives it its own of both; only
// this task's own state changes here (credentials, rlimits, the filter and
// namespaces are per task), so init is unaffected.
[[noreturn]] void program_entry(void*) {
    const Standby& s = *shared.standby;
    // v1: a single-threaded task moving itself by writing "0" to `tasks`
    // skips the global lock a cgroup.procs write waits on.
    for (int i = 0; i < s.n_task_fds; ++i)
        if (long rc = call(__NR_write, s.task_fds[i], "0", 1); rc != 1) fail(ChildStage::CgroupJoin, rc, i);
    for (int i = 0; i < s.n_task_fds; ++i) call(__NR_close, s.task_fds[i]);
    if (s.clone_into_fd >= 0) call(__NR_close, s.clone_into_fd);
    // A cgroup namespace rooted at the box's cgroup, once inside it.
    if (long rc = call(__NR_unshare, CLONE_NEWCGROUP); rc < 0) fail(ChildStage::CgroupNamespace, rc);
    // Every limit is set here, none inherited: the same program gets the
    // same verdict whoever started the supervisor (a shell, systemd, CI).
    const SpawnerPlan& c = *s.config->plan;
    for (int i = 0; i < c.n_rlimits; ++i)
        if (long rc = set_rlimit(c.rlimits[i].resource, c.rlimits[i].value); rc < 0)
            fail(ChildStage::Rlimits, rc, c.rlimits[i].resource);
    drop_privileges(s);

    // Armed: tell the supervisor, with a pidfd of init it can kill the whole
    // box by (init opened it; it is close-on-exec, and closed here once sent).
    ChildReport ready{ChildReport::Ready, 0, 0, 0};
    send_with_fds(s.ctl_fd, &ready, sizeof ready, &shared.init_pidfd, 1);
    call(__NR_close, shared.init_pidfd);
    while (shared.go == 0) futex_wait(&shared.go, 0);

    // The run's own limits, lowered from the highest set above (lowering
    // needs no privilege).
    const RunPlan& run = *shared.run;
    for (int i = 0; i < run.n_rlimits; ++i) {
        rlimit64 old{};
        uint64_t value = run.rlimits[i].value;
        if (call(__NR_prlimit64, 0, run.rlimits[i].resource, 0, &old) == 0 && old.rlim_max < value)
            value = old.rlim_max;
        rlimit64 rl{value, value};
        if (long rc = call(__NR_prlimit64, 0, run.rlimits[i].resource, &rl, 0); rc < 0)
            fail(ChildStage::Rlimits, rc, run.rlimits[i].resource);
    }
    if (long rc = call(__NR_chdir, "/box"); rc < 0)
        fail(ChildStage::Mounts, rc, static_cast<int>(MountStage::ChdirBox));
    if (long rc = move_fd(shared.stdin_fd, 0); rc < 0) fail(ChildStage::Stdio, rc);
    if (long rc = move_fd(shared.stdout_fd, 1); rc < 0) fail(ChildStage::Stdio, rc);
    if (long rc = move_fd(shared.stderr_fd, 2); rc < 0) fail(ChildStage::Stdio, rc);
    // Every other descriptor is close-on-exec (the control socket too, so
    // once execve succeeds the program cannot forge a report).
    long rc = call(__NR_execve, shared.argv[0], shared.argv, shared.envp);
    fail(ChildStage::Exec, rc);
}

// A string at `off`, NUL-terminated inside the plan; nullptr when absent or bad.
const char* string_at(uint32_t size, uint32_t off) {
    if (off == 0 || off >= size) return nullptr;
    for (uint32_t i = off; i < size; ++i)
        if (plan_buffer[i] == '\0') return plan_buffer + off;
    return nullptr;
}

bool strings_at(uint32_t size, uint32_t count, uint32_t off, char** out) {
    if (count > static_cast<uint32_t>(kPlanMaxStrings) || off % 4 != 0 || off > size || (size - off) / 4 < count)
        return false;
    const auto* offs = reinterpret_cast<const uint32_t*>(plan_buffer + off);
    for (uint32_t i = 0; i < count; ++i) {
        const char* str = string_at(size, offs[i]);
        if (!str) return false;
        out[i] = const_cast<char*>(str);
    }
    out[count] = nullptr;
    return true;
}

// Reads the RunPlan and its four descriptors from the control socket; exits
// quietly when the socket closes first (the box was not needed).
void read_run_plan(const Standby& s, int fds[4]) {
    int n_fds = 0;
    long n = 0;
    do {
        n = receive(s.ctl_fd, plan_buffer, sizeof plan_buffer, fds, 4, &n_fds);
    } while (n == -4 /* EINTR */);
    if (n == 0) exit_now(0);
    if (n < 0) fail(ChildStage::ReadPlan, n);
    uint32_t size = static_cast<uint32_t>(n);
    const auto* run = reinterpret_cast<const RunPlan*>(plan_buffer);
    if (n_fds != 4 || size < sizeof(RunPlan) || run->magic != kRunMagic || run->size > sizeof plan_buffer ||
        run->size < sizeof(RunPlan))
        fail(ChildStage::ReadPlan, -22 /* EINVAL */);
    while (size < run->size) {
        n = call(__NR_read, s.ctl_fd, plan_buffer + size, run->size - size);
        if (n == -4) continue;
        if (n <= 0) fail(ChildStage::ReadPlan, n == 0 ? -32 /* EPIPE */ : n);
        size += static_cast<uint32_t>(n);
    }
    if (run->n_rlimits < 0 || run->n_rlimits > kRunRlimits || run->argc == 0 ||
        !strings_at(size, run->argc, run->argv, argv_ptrs) || !strings_at(size, run->envc, run->envp, envp_ptrs) ||
        (run->tmp_options && !string_at(size, run->tmp_options)))
        fail(ChildStage::ReadPlan, -22 /* EINVAL */);
    shared.run = run;
    shared.argv = argv_ptrs;
    shared.envp = envp_ptrs;
}

}  // namespace

long receive(int sock, void* buf, unsigned long cap, int* fds, int max_fds, int* n_fds) {
    FdControl control{};
    IoVec iov{buf, cap};
    MsgHdr msg{};
    msg.iov = &iov;
    msg.iov_len = 1;
    msg.control = &control;
    msg.control_len = sizeof control;
    *n_fds = 0;
    const long n = call(__NR_recvmsg, sock, &msg, kMsgCmsgCloexec);
    if (n < 0) return n;
    if (msg.control_len >= sizeof(CmsgHdr) && control.header.level == kSolSocket && control.header.type == kScmRights) {
        const int count = static_cast<int>((control.header.len - sizeof(CmsgHdr)) / sizeof(int));
        for (int i = 0; i < count && i < kMaxFds; ++i) {
            if (*n_fds < max_fds)
                fds[(*n_fds)++] = control.fds[i];
            else
                call(__NR_close, control.fds[i]);
        }
    }
    return n;
}

long send_with_fds(int sock, const void* buf, unsigned long len, const int* fds, int n_fds) {
    FdControl control{};
    IoVec iov{buf, len};
    MsgHdr msg{};
    msg.iov = &iov;
    msg.iov_len = 1;
    if (n_fds > 0 && n_fds <= kMaxFds) {
        control.header.len = sizeof(CmsgHdr) + sizeof(int) * static_cast<unsigned long>(n_fds);
        control.header.level = kSolSocket;
        control.header.type = kScmRights;
        for (int i = 0; i < n_fds; ++i) control.fds[i] = fds[i];
        msg.control = &control;
        msg.control_len = (control.header.len + 7) & ~7UL;
    }
    return call(__NR_sendmsg, sock, &msg, 0x4000 /* MSG_NOSIGNAL */);
}

void run_box_init(const Standby& s) {
    shared.standby = &s;
    // If the spawner dies (it dies with the supervisor), so does the box.
    call(__NR_prctl, PR_SET_PDEATHSIG, kSigKill, 0, 0, 0);
    // Not dumpable: no ptrace, no /proc/1/mem, and with hidepid no /proc/1
    // at all for the program.
    call(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);

    // 1. Only the descriptors this box needs (the spawner's socket and other
    //    boxes' requests stay behind).
    {
        int keep[8] = {s.ctl_fd, s.netns_fd, s.config->mntns_fd, s.clone_into_fd};
        int n_keep = 4;
        for (int i = 0; i < s.n_task_fds; ++i) keep[n_keep++] = s.task_fds[i];
        if (long rc = close_all_but(keep, n_keep); rc < 0) fail(ChildStage::CloseFds, rc);
    }
    // The slot's empty network namespace: no interface is up, not even lo.
    if (long rc = call(__NR_setns, s.netns_fd, CLONE_NEWNET); rc < 0) fail(ChildStage::NetNamespace, rc);
    if (long rc = call(__NR_sethostname, "box", 3); rc < 0) fail(ChildStage::Hostname, rc);
    MountStage mstage{};
    if (long rc = enter_root(s, &mstage); rc < 0) fail(ChildStage::Mounts, rc, static_cast<int>(mstage));
    call(__NR_close, s.netns_fd);
    call(__NR_close, s.config->mntns_fd);
    // Signals as a fresh process has them: the spawner ignores SIGCHLD (its
    // children are reaped by the kernel), and supervisors block or ignore
    // others (execd blocks SIGTERM/SIGHUP for sigwait, ignores SIGPIPE).
    uint64_t none = 0;
    if (long rc = call(__NR_rt_sigprocmask, kSetMask, &none, 0, 8); rc < 0) fail(ChildStage::Signals, rc);
    for (int sig = 1; sig < 32; ++sig) {
        if (sig == kSigKill || sig == kSigStop) continue;
        KernelSigaction old{};
        if (call(__NR_rt_sigaction, sig, 0, &old, 8) == 0 && old.handler == kSigIgn) {
            KernelSigaction dfl{};
            dfl.handler = kSigDfl;
            call(__NR_rt_sigaction, sig, &dfl, 0, 8);
        }
    }
    // A pidfd of this init for the supervisor, sent with Ready: killing init
    // takes the whole PID namespace down at once.
    const long pidfd = call(__NR_pidfd_open, 1, 0);
    if (pidfd < 0) fail(ChildStage::Fork, pidfd);
    shared.init_pidfd = static_cast<int>(pidfd);

    // 2. The program's process, as PID 2: signals a process sends to its own
    //    namespace's init are dropped, so os.kill(os.getpid(), 9) would not
    //    work if the program were PID 1. CLONE_VM|CLONE_FILES: no page-table
    //    copy, and the run's descriptors, received later by init, are in its
    //    table too (execve gives it a table of its own).
    static char program_stack[64 * 1024] __attribute__((aligned(16)));
    clone_args args{};
    args.flags = CLONE_VM | CLONE_FILES | CLONE_CHILD_CLEARTID;
    args.exit_signal = kSigChld;
    args.stack = reinterpret_cast<uint64_t>(program_stack);
    args.stack_size = sizeof program_stack;
    args.child_tid = reinterpret_cast<uint64_t>(&shared.exec_tid);
    if (s.clone_into_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(s.clone_into_fd);
    }
    shared.exec_tid = -1;
    const long child = execd_clone3_run(&args, sizeof args, program_entry, nullptr);
    if (child < 0) fail(ChildStage::Fork, child);

    // 3. The run.
    int fds[4];
    read_run_plan(s, fds);
    if (long rc = mount_run(fds[0], shared.run->tmp_options ? plan_buffer + shared.run->tmp_options : nullptr, &mstage);
        rc < 0)
        fail(ChildStage::Mounts, rc, static_cast<int>(mstage));
    call(__NR_close, fds[0]);
    shared.stdin_fd = fds[1];
    shared.stdout_fd = fds[2];
    shared.stderr_fd = fds[3];
    shared.go = 1;
    futex_wake(&shared.go);

    // 4. Once the program's process has its own descriptor table (execve)
    //    or is gone, init lets go of the run's pipes, so their ends close
    //    when the program's do.
    for (int32_t v; (v = shared.exec_tid) != 0;) futex_wait(&shared.exec_tid, v);
    const int pipes[6] = {0, 1, 2, fds[1], fds[2], fds[3]};
    for (int fd : pipes) call(__NR_close, fd);

    // 5. init keeps no privilege either. A program of the same uid still
    //    cannot touch it: it is not dumpable, and a namespace's init ignores
    //    signals it has no handler for.
    drop_init_privileges(s);
    // The uid change cleared the parent-death signal; set it again.
    call(__NR_prctl, PR_SET_PDEATHSIG, kSigKill, 0, 0, 0);

    // Reap until the program's main process ends; exiting then kills
    // everything left in the PID namespace.
    for (;;) {
        int status = 0;
        struct rusage usage {};
        long pid = call(__NR_wait4, -1, &status, __WALL, &usage);
        if (pid == child) {
            const long rss = usage.ru_maxrss;
            report(s.ctl_fd, ChildReport{ChildReport::Exit, 0, 0, status,
                                         static_cast<int32_t>(rss > 0x7fffffff ? 0x7fffffff : rss)});
            exit_now(0);
        }
        if (pid < 0 && pid != -4 /* EINTR */) exit_now(1);
    }
}

}  // namespace execd::init
