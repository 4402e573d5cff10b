// The box init: every step between the supervisor's clone and the program's
// execve, in one function so the order can be reviewed in one place.
//
// This file is part of the freestanding box init (core/sandbox/init/), not of
// execd_core: no libc, no allocation, no exceptions. It runs in a process of
// its own, executed fresh from a sealed memfd, so it shares no memory with
// the supervisor (a memory cgroup OOM kill of it cannot take the supervisor
// along) and its /proc entries show nothing of the supervisor's argv or
// environment. A failed step writes a ChildReport and exits 127.
#include "sandbox/contain.h"

#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/fcntl.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/prctl.h>
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/wait.h>

#include "sandbox/init/sys.h"

namespace execd::init {
namespace {

constexpr long kSigKill = 9, kSigStop = 19, kSigChld = 17, kSigIgn = 1, kSigDfl = 0;
constexpr long kSetMask = 2;  // SIG_SETMASK

// The kernel's struct sigaction (rt_sigaction), with a 64-bit mask.
struct KernelSigaction {
    unsigned long handler;
    unsigned long flags;
    unsigned long restorer;
    uint64_t mask;
};

void report(int fd, ChildReport r) {
    // A single write of 16 bytes to a pipe is atomic.
    while (call(__NR_write, fd, &r, sizeof r) == -4 /* EINTR */) {
    }
}

[[noreturn]] void fail(const BoxPlan& p, ChildStage stage, long rc, int detail = 0) {
    report(p.h->status_fd, ChildReport{ChildReport::Failure, static_cast<int32_t>(stage), static_cast<int32_t>(-rc),
                                       detail});
    exit_now(127);
}

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

// Enters a fresh copy of the box root's mount namespace and mounts /box,
// /proc and /tmp in it. The root's namespace was made once per Sandbox with
// only the box's tree in it (no host mounts), so the copy is small and there
// is no pivot_root or old root to detach per run; the copy, and every mount
// in it, goes away with the run. init starts in the supervisor's own mount
// namespace and must change nothing there: the work dir is taken along as a
// detached clone (open_tree), which is only attached after the switch.
// Returns 0 or -errno with the failing step in *stage.
long apply_mounts(const BoxPlan& p, MountStage* stage) {
    *stage = MountStage::OpenWork;
    const long tree = call(__NR_open_tree, AT_FDCWD, p.work_src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) return tree;
    *stage = MountStage::WorkFlags;
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (p.h->work_writable ? 0 : MOUNT_ATTR_RDONLY);
    if (long rc = call(__NR_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr); rc < 0) return rc;
    *stage = MountStage::EnterRoot;
    if (long rc = call(__NR_setns, p.h->mntns_fd, CLONE_NEWNS); rc < 0) return rc;
    *stage = MountStage::NewNamespace;
    if (long rc = call(__NR_unshare, CLONE_NEWNS); rc < 0) return rc;
    *stage = MountStage::AttachWork;
    if (long rc = call(__NR_move_mount, tree, "", AT_FDCWD, "/box", MOVE_MOUNT_F_EMPTY_PATH); rc < 0)
        return rc;
    call(__NR_close, tree);
    // hidepid=2 ("invisible"): a process's /proc entries are visible only to
    // those that may ptrace it, so this init (not dumpable) is invisible to
    // the program.
    *stage = MountStage::Proc;
    if (long rc = call(__NR_mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2");
        rc < 0)
        return rc;
    if (p.tmp_options) {
        *stage = MountStage::Tmp;
        if (long rc = call(__NR_mount, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, p.tmp_options); rc < 0)
            return rc;
    }
    *stage = MountStage::ChdirBox;
    return call(__NR_chdir, "/box");
}

// No capabilities and no way to regain them, the box's uid and gid, and the
// system-call filter: the program's privileges, set in its own task before
// execve.
void drop_privileges(const BoxPlan& p) {
    // Empty the bounding set while CAP_SETPCAP is still held, so nothing the
    // program executes can bring a capability back; the uid change then
    // clears the permitted and effective sets.
    for (int cap = 0; cap <= p.h->cap_last_cap; ++cap)
        if (long rc = call(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0); rc < 0) fail(p, ChildStage::Capabilities, rc, cap);
    if (long rc = call(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); rc < 0 && rc != -22)
        fail(p, ChildStage::Capabilities, rc);
    if (long rc = call(__NR_setgroups, 0, 0); rc < 0) fail(p, ChildStage::Groups, rc);
    if (long rc = call(__NR_setresgid, p.h->gid, p.h->gid, p.h->gid); rc < 0) fail(p, ChildStage::Gid, rc);
    if (long rc = call(__NR_setresuid, p.h->uid, p.h->uid, p.h->uid); rc < 0) fail(p, ChildStage::Uid, rc);
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (long rc = call(__NR_capset, &hdr, data); rc < 0) fail(p, ChildStage::Capabilities, rc);
    if (long rc = call(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); rc < 0) fail(p, ChildStage::NoNewPrivs, rc);
    sock_fprog prog{static_cast<unsigned short>(p.h->seccomp_len), const_cast<sock_filter*>(p.seccomp)};
    if (long rc = call(__NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0); rc < 0)
        fail(p, ChildStage::Seccomp, rc);
}

// init's own privileges, once the program runs: the box's uid and gid, which
// clears every capability (a uid change from root to another uid empties
// the permitted, effective and ambient sets), and no_new_privs. init never
// calls execve again, so its bounding set does not matter, and it needs no
// filter: from here on it runs only wait4, one write and exit, on no input
// of the program's.
void drop_init_privileges(const BoxPlan& p) {
    if (long rc = call(__NR_setgroups, 0, 0); rc < 0) fail(p, ChildStage::Groups, rc);
    if (long rc = call(__NR_setresgid, p.h->gid, p.h->gid, p.h->gid); rc < 0) fail(p, ChildStage::Gid, rc);
    if (long rc = call(__NR_setresuid, p.h->uid, p.h->uid, p.h->uid); rc < 0) fail(p, ChildStage::Uid, rc);
    if (long rc = call(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); rc < 0) fail(p, ChildStage::NoNewPrivs, rc);
}

long move_fd(int from, int to) {
    if (from == to) return call(__NR_fcntl, to, F_SETFD, 0);
    return call(__NR_dup3, from, to, 0);
}

// The program's process, born (v2) or moved (v1) into the box's cgroup:
// init itself never is, so nothing but the program's own processes is ever
// a candidate of the box's OOM killer, and the box's limits, counters and
// pids count the program alone. Runs on its own stack in init's memory until
// execve; only this process's own state changes here (credentials, rlimits,
// the filter and namespaces are per task), so init is unaffected.
[[noreturn]] void program_entry(void* arg) {
    const BoxPlan& p = *static_cast<const BoxPlan*>(arg);
    // v1: a single-threaded task moving itself by writing "0" to `tasks`
    // skips the global lock a cgroup.procs write waits on.
    for (int i = 0; i < p.h->n_task_fds; ++i)
        if (long rc = call(__NR_write, p.h->task_fds[i], "0", 1); rc != 1) fail(p, ChildStage::CgroupJoin, rc, i);
    // A cgroup namespace rooted at the box's cgroup, once inside it.
    if (long rc = call(__NR_unshare, CLONE_NEWCGROUP); rc < 0) fail(p, ChildStage::CgroupNamespace, rc);
    // Every limit is set here, none inherited: the same program gets the
    // same verdict whoever started the supervisor (a shell, systemd, CI).
    for (int i = 0; i < p.h->n_rlimits; ++i) {
        const int resource = p.h->rlimits[i].resource;
        rlimit64 rl{p.h->rlimits[i].value, p.h->rlimits[i].value};
        long rc = call(__NR_prlimit64, 0, resource, &rl, 0);
        if (rc == -1 /* EPERM */) {
            // Raising a hard limit the caller lowered needs CAP_SYS_RESOURCE;
            // without it, the caller's hard limit is the closest we can set.
            rlimit64 old{};
            if (call(__NR_prlimit64, 0, resource, 0, &old) == 0 && old.rlim_max < rl.rlim_max) {
                rl = rlimit64{old.rlim_max, old.rlim_max};
                rc = call(__NR_prlimit64, 0, resource, &rl, 0);
            }
        }
        if (rc < 0) fail(p, ChildStage::Rlimits, rc, resource);
    }
    drop_privileges(p);
    if (long rc = move_fd(p.h->stdin_fd, 0); rc < 0) fail(p, ChildStage::Stdio, rc);
    if (long rc = move_fd(p.h->stdout_fd, 1); rc < 0) fail(p, ChildStage::Stdio, rc);
    if (long rc = move_fd(p.h->stderr_fd, 2); rc < 0) fail(p, ChildStage::Stdio, rc);
    // The status pipe is CLOEXEC: once execve succeeds the program cannot
    // forge a report.
    long rc = call(__NR_execve, p.argv[0], p.argv, p.envp);
    fail(p, ChildStage::Exec, rc);
}

}  // namespace

void run_box_init(const BoxPlan& p) {
    const PlanHeader& h = *p.h;
    // If the supervisor dies, so does the box (and with init, the namespace).
    call(__NR_prctl, PR_SET_PDEATHSIG, kSigKill, 0, 0, 0);
    // Not dumpable: no ptrace, no /proc/1/mem, and with hidepid no /proc/1
    // at all for the program.
    call(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);

    // 1. The slot's empty network namespace: no interface is up, not even lo.
    if (long rc = call(__NR_setns, h.netns_fd, CLONE_NEWNET); rc < 0) fail(p, ChildStage::NetNamespace, rc);
    if (long rc = call(__NR_sethostname, "box", 3); rc < 0) fail(p, ChildStage::Hostname, rc);
    // 2. Filesystem.
    MountStage mstage{};
    if (long rc = apply_mounts(p, &mstage); rc < 0) fail(p, ChildStage::Mounts, rc, static_cast<int>(mstage));
    // 3. Signals as a fresh process has them: execve keeps a blocked mask
    //    and ignored signals, and supervisors block or ignore some (execd
    //    blocks SIGTERM/SIGHUP for sigwait, ignores SIGPIPE).
    uint64_t none = 0;
    if (long rc = call(__NR_rt_sigprocmask, kSetMask, &none, 0, 8); rc < 0) fail(p, ChildStage::Signals, rc);
    for (int sig = 1; sig < 32; ++sig) {
        if (sig == kSigKill || sig == kSigStop) continue;
        KernelSigaction old{};
        if (call(__NR_rt_sigaction, sig, 0, &old, 8) == 0 && old.handler == kSigIgn) {
            KernelSigaction dfl{};
            dfl.handler = kSigDfl;
            call(__NR_rt_sigaction, sig, &dfl, 0, 8);
        }
    }
    // 4. Keep only what the box needs.
    int keep[8] = {h.status_fd, h.stdin_fd, h.stdout_fd, h.stderr_fd, h.clone_into_fd};  // not the namespaces'
    int n_keep = 5;
    for (int i = 0; i < h.n_task_fds && i < 3; ++i) keep[n_keep++] = h.task_fds[i];
    if (long rc = close_all_but(keep, n_keep); rc < 0) fail(p, ChildStage::CloseFds, rc);

    // 5. The program, as PID 2: signals a process sends to its own
    //    namespace's init are dropped, so os.kill(os.getpid(), 9) would not
    //    work if the program were PID 1. CLONE_VM|CLONE_VFORK: no page-table
    //    copy; init waits until the program's execve (or its failure).
    static char program_stack[64 * 1024] __attribute__((aligned(16)));
    clone_args args{};
    args.flags = CLONE_VM | CLONE_VFORK;
    args.exit_signal = kSigChld;
    args.stack = reinterpret_cast<uint64_t>(program_stack);
    args.stack_size = sizeof program_stack;
    if (h.clone_into_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(h.clone_into_fd);
    }
    const long child = execd_clone3_run(&args, sizeof args, program_entry, const_cast<BoxPlan*>(&p));
    if (child < 0) fail(p, ChildStage::Fork, child);

    call(__NR_close, h.stdin_fd);
    call(__NR_close, h.stdout_fd);
    call(__NR_close, h.stderr_fd);
    if (h.clone_into_fd >= 0) call(__NR_close, h.clone_into_fd);
    for (int i = 0; i < h.n_task_fds; ++i) call(__NR_close, h.task_fds[i]);

    // 6. init keeps no privilege either. A program of the same uid still
    //    cannot touch it: it is not dumpable, and a namespace's init ignores
    //    signals it has no handler for.
    drop_init_privileges(p);
    // The uid change cleared the parent-death signal; set it again.
    call(__NR_prctl, PR_SET_PDEATHSIG, kSigKill, 0, 0, 0);

    // 7. Reap until the program's main process ends; exiting then kills
    //    everything left in the PID namespace.
    for (;;) {
        int status = 0;
        long pid = call(__NR_wait4, -1, &status, __WALL, 0);
        if (pid == child) {
            report(h.status_fd, ChildReport{ChildReport::Exit, 0, 0, status});
            exit_now(0);
        }
        if (pid < 0 && pid != -4 /* EINTR */) exit_now(1);
    }
}

}  // namespace execd::init
