// The box's system-call filter: a default-deny allowlist.
//
// How the allowlist was derived (redo this when a language or a toolchain
// is added or upgraded; a missing call shows up as a failing conformance
// test, usually with "Function not implemented"):
//   1. Every language of languages.toml was run on the host under
//      `strace -f` with the registry's own compile and run argv and
//      environment: the samples in tests/langs/<id>/ (hello, stdin echo,
//      runtime error, compile error) plus, for the languages with a
//      threaded or garbage-collected runtime (C, C++, Python, Go, Java,
//      JavaScript, Rust, Ruby, Haskell, C#, OCaml, Nim, D), a program using
//      threads, sleeps, timers, randomness, a child process and a large
//      allocation.
//   2. The test suite's [languages] tag and most of [sandbox] were run
//      under `strace -f --pidns-translation`, and the calls made inside
//      boxes (after the filter was loaded, and by everything started from
//      there) were collected from the trace. Under this filter the same
//      trace shows only two calls refused in a passing run: clone3 (glibc
//      falls back to clone) and pkey_alloc (Node's V8 goes without
//      memory protection keys).
//   3. The union was checked against Docker's default profile
//      (moby profiles/seccomp/default.json), and kept tighter than it: no modify_ldt, no personality change, no aio (io_setup …),
//      io_uring, bpf, perf, keyrings, userfaultfd, mount family, ptrace,
//      process_vm_*, kexec, modules, unshare/setns, SysV or POSIX message
//      queues, inotify/fanotify, pkeys, mempolicy, set*id, or sync/syncfs.
//      A few calls of the same family as an observed one were added where
//      a runtime may pick either (readv/preadv, ppoll/pselect6, …).
//   4. The spawn path after loading the filter: the program's child uses
//      fcntl, dup2/dup3 and execve; a box init that loads it would use read,
//      write, close, close_range, clone/vfork, wait4/waitid, prctl,
//      rt_sigprocmask, rt_sigaction, getpid and exit. All are on the list;
//      tests/sandbox/seccomp_test.cpp runs exactly these under the filter.
#include "sandbox/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "util/fd.h"
#include "util/files.h"

namespace execd {
namespace {

// Allowed with any arguments. Names libseccomp does not know on this
// architecture are skipped (they then fail with ENOSYS, like any other).
constexpr const char* kAllowed[] = {
    // Files and descriptors.
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "open", "openat", "openat2", "creat", "close", "close_range", "lseek", "dup", "dup2", "dup3", "fcntl", "flock",
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2",
    "getdents", "getdents64", "getcwd", "chdir", "fchdir", "readlink", "readlinkat",
    "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
    "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat",
    "chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown", "umask",
    "truncate", "ftruncate", "fallocate", "fsync", "fdatasync", "fadvise64",
    "utime", "utimes", "utimensat", "futimesat",
    "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    "pipe", "pipe2", "sendfile", "splice", "tee", "copy_file_range", "memfd_create",
    // Memory.
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync",
    // Processes and threads. clone is below, with its flags checked.
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
    "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
    "set_tid_address", "set_robust_list", "rseq", "futex", "restart_syscall", "arch_prctl",
    // No capability is left, so prctl's privileged options fail anyway, and
    // PR_SET_SECCOMP can only add filters.
    "prctl",
    "getrlimit", "setrlimit", "prlimit64", "getrusage", "times", "sysinfo", "uname", "getrandom",
    "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid", "capget",
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
    "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "sched_rr_get_interval", "sched_getattr", "sched_setattr", "getpriority", "setpriority", "getcpu",
    // Signals.
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "pause", "signalfd", "signalfd4",
    // Time.
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "alarm", "getitimer", "setitimer",
    "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
    "timerfd_create", "timerfd_settime", "timerfd_gettime",
    // Waiting for events.
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
    // Sockets (socket and socketpair are below, with their family checked).
    // The box's network namespace is empty, so these reach only other
    // sockets of the same box.
    "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "getsockopt", "setsockopt",
    "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
};

// Not on the allowlist either, but named so they fail with EPERM, "you may
// not", rather than ENOSYS: each is either privileged already (defence in
// depth if a capability ever leaked) or reachable unprivileged with a history
// of kernel bugs, and a program probing for them learns the truth.
constexpr const char* kDenied[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr",
    "unshare", "setns",
    "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "syslog", "vhangup",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "quotactl", "quotactl_fd", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
    "fanotify_init", "iopl", "ioperm", "uselib", "ustat", "sysfs", "nfsservctl",
};

// clone's namespace flags. CLONE_NEWTIME is not among them: for clone its
// bit is part of the exit signal, and it can be asked for only by clone3 or
// unshare, which are refused.
constexpr unsigned long kNamespaceFlags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

struct Ctx {
    scmp_filter_ctx ctx;
    explicit Ctx(scmp_filter_ctx c) : ctx(c) {}
    ~Ctx() { seccomp_release(ctx); }
};

void check(int rc, const std::string& what) {
    if (rc < 0) throw std::runtime_error("seccomp: " + what + ": " + std::strerror(-rc));
}

int resolve(const char* name) { return seccomp_syscall_resolve_name(name); }

// `family` of socket/socketpair (argument 0): allowed ones pass; every other
// value, including one with garbage in the upper half, fails with
// EAFNOSUPPORT. Values are compared as 64 bits, and the conditions
// (== each value up to `max`, > max) cover every value exactly once.
void family_rules(scmp_filter_ctx ctx, int nr, const char* name, std::initializer_list<unsigned long> allowed) {
    unsigned long max = 0;
    for (unsigned long f : allowed) max = f > max ? f : max;
    for (unsigned long f = 0; f <= max; ++f) {
        bool ok = false;
        for (unsigned long a : allowed) ok = ok || a == f;
        check(seccomp_rule_add(ctx, ok ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, 1,
                               SCMP_A0(SCMP_CMP_EQ, f)),
              name);
    }
    check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, 1, SCMP_A0(SCMP_CMP_GT, max)), name);
}

}  // namespace

SeccompProgram::SeccompProgram(SeccompProgram&& other) noexcept : filter_(std::move(other.filter_)) {
    prog_.len = static_cast<unsigned short>(filter_.size());
    prog_.filter = filter_.data();
}

SeccompProgram SeccompProgram::build() {
    // Anything not allowed below fails with ENOSYS, the answer of a kernel
    // that lacks the call. Runtimes and libc treat ENOSYS as "older kernel"
    // and take the fallback they keep for one (glibc's clone3 → clone,
    // faccessat2 → faccessat, close_range → a loop); EPERM is taken as a
    // real failure by many (Docker's EPERM default broke glibc 2.34's
    // clone3). Calls removed by kernel configuration (modify_ldt, aio) answer
    // ENOSYS there too. Calls we refuse by name answer EPERM (kDenied).
    Ctx c(seccomp_init(SCMP_ACT_ERRNO(ENOSYS)));
    if (!c.ctx) throw std::runtime_error("seccomp_init failed");
    // Only the native ABI: 32-bit int 0x80 entry and x32 are a classic way
    // around a filter written for x86_64 numbers; they kill the process.
    check(seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "badarch action");
    check(seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_NNP, 0), "no_new_privs attribute");
    check(seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), "binary tree layout");

    for (const char* name : kAllowed) {
        int nr = resolve(name);
        if (nr == __NR_SCMP_ERROR || nr < 0) continue;  // not on this architecture
        check(seccomp_rule_add(c.ctx, SCMP_ACT_ALLOW, nr, 0), name);
    }
    for (const char* name : kDenied) {
        int nr = resolve(name);
        if (nr == __NR_SCMP_ERROR || nr < 0) continue;
        check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), nr, 0), name);
    }

    // clone: allowed without namespace flags, EPERM with any of them.
    unsigned long ns_mask = 0;
    for (unsigned long flag : kNamespaceFlags) {
        ns_mask |= flag;
        check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
              "clone namespace flag");
    }
    check(seccomp_rule_add(c.ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_mask, 0)),
          "clone");
    // clone3 passes its flags in memory a filter cannot read: it is left off
    // the list, so it fails with ENOSYS (the default; libseccomp refuses a
    // rule equal to it) and libc falls back to clone, whose flags we check.

    // Sockets: only the families a program needs in an empty network
    // namespace. vsock in particular is not isolated by network namespaces.
    family_rules(c.ctx, SCMP_SYS(socket), "socket", {AF_UNIX, AF_INET, AF_INET6});
    family_rules(c.ctx, SCMP_SYS(socketpair), "socketpair", {AF_UNIX});

    // ioctl: everything but pushing characters into a terminal's input
    // queue. The kernel reads the request as 32 bits, so TIOCSTI is matched
    // on the lower half alone (that rule comes first in libseccomp's chain);
    // the two range rules allow the rest.
    check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI)),
          "ioctl TIOCSTI");
    check(seccomp_rule_add(c.ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_LT, TIOCSTI)), "ioctl");
    check(seccomp_rule_add(c.ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_GT, TIOCSTI)), "ioctl");

    // personality: reading it (0xffffffff) and keeping PER_LINUX (0) only;
    // anything else (PER_LINUX32, ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, …)
    // fails with EPERM. The kernel reads an unsigned int, hence the mask.
    for (unsigned long persona : {0x0ul, 0xfffffffful})
        check(seccomp_rule_add(c.ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, persona)),
              "personality");
    check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1, SCMP_A0(SCMP_CMP_GT, 0)),
          "personality");

    Fd mem(::memfd_create("execd-seccomp", MFD_CLOEXEC));
    if (!mem) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
    check(seccomp_export_bpf(c.ctx, mem.get()), "export");
    if (::lseek(mem.get(), 0, SEEK_SET) != 0) throw std::runtime_error("lseek on seccomp memfd");
    std::string bytes = read_all(mem.get());
    if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0)
        throw std::runtime_error("seccomp: exported program has a bad size");

    SeccompProgram p;
    p.filter_.resize(bytes.size() / sizeof(sock_filter));
    std::memcpy(p.filter_.data(), bytes.data(), bytes.size());
    p.prog_.len = static_cast<unsigned short>(p.filter_.size());
    p.prog_.filter = p.filter_.data();
    return p;
}

int apply_seccomp(const sock_fprog* prog) noexcept {
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) != 0) return errno;
    return 0;
}

}  // namespace execd
