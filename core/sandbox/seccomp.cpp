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
//      (moby profiles/seccomp/default.json), and kept tighter than it: no modify_ldt, no personality change, no aio
//      (io_setup …), io_uring, bpf, perf, keyrings, userfaultfd, mount family, ptrace, process_vm_*, kexec, modules,
//      unshare/setns, SysV or POSIX message queues, inotify/fanotify, pkeys, mempolicy, set*id, or sync/syncfs. A few
//      calls of the same family as an observed one were added where a runtime may pick either (readv/preadv,
//      ppoll/pselect6, …).
//   4. The filter is emitted by hand from the lists below (libseccomp only
//      resolves names): ranges of call numbers with one answer, a binary
//      search over them, and argument checks for five calls. The kernel's
//      per-syscall cache of constant answers still covers every call
//      without an argument check (only loads, jumps and returns are used).
//   5. The program's process loads the filter while its box is prepared,
//      before the run (contain.cpp), and then uses sendmsg (its Ready
//      report, with a descriptor), close, futex, prlimit64 (lowering the
//      run's limits), chdir, fcntl/dup3, write, execve and exit. All are on
//      the list; tests/sandbox/seccomp_test.cpp runs exactly these under the
//      filter.
#include "core/sandbox/seccomp.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace execd {
namespace {

// Allowed with any arguments. Names libseccomp does not know on this
// architecture are skipped (they then fail with ENOSYS, like any other).
// clang-format off
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
// clang-format on

// Not on the allowlist either, but named so they fail with EPERM, "you may
// not", rather than ENOSYS: each is either privileged already (defence in
// depth if a capability ever leaked) or reachable unprivileged with a history
// of kernel bugs, and a program probing for them learns the truth.
// clang-format off
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
// clang-format on

void check(int rc, const std::string& what) {
    if (rc < 0) throw std::runtime_error("seccomp: " + what + ": " + std::strerror(-rc));
}

// What the filter does with one system call number.
enum class Rule : uint8_t { Deny, Refuse, Allow, Clone, Socket, Socketpair, Ioctl, Personality };

constexpr uint32_t ret_errno(int err) { return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(err) & SECCOMP_RET_DATA); }

// offsetof(seccomp_data, args[i]) for the lower and upper 32 bits (little
// endian, as x86_64 and aarch64 are).
constexpr uint32_t arg_lo(int i) { return 16 + 8 * static_cast<uint32_t>(i); }
constexpr uint32_t arg_hi(int i) { return arg_lo(i) + 4; }

// Emits classic BPF. The program's size is what a box pays when it loads
// it (the kernel checks, converts and JIT-compiles it for every process,
// about 0.2 µs an instruction here), so calls with the same answer are
// merged into ranges of numbers and found by a binary search: libseccomp's
// one-comparison-per-call tree was four times as long.
class Emitter {
public:
    std::vector<sock_filter> code;

    void stmt(uint16_t c, uint32_t k) { code.push_back(sock_filter{c, 0, 0, k}); }
    void jump(uint16_t c, uint32_t k, uint8_t jt, uint8_t jf) { code.push_back(sock_filter{c, jt, jf, k}); }
    void ret(uint32_t action) { stmt(BPF_RET | BPF_K, action); }
    void load(uint32_t offset) { stmt(BPF_LD | BPF_W | BPF_ABS, offset); }

    // The checks of one call whose arguments matter. Each ends in a return.
    void rule(Rule r) {
        switch (r) {
            case Rule::Deny: ret(ret_errno(ENOSYS)); return;
            case Rule::Refuse: ret(ret_errno(EPERM)); return;
            case Rule::Allow: ret(SECCOMP_RET_ALLOW); return;
            case Rule::Clone: {
                // Namespace flags refused; the kernel reads the flags' lower
                // half for these (CLONE_NEWTIME is clone3's and unshare's only).
                uint32_t ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                              CLONE_NEWCGROUP;
                load(arg_lo(0));
                jump(BPF_JMP | BPF_JSET | BPF_K, ns, 1, 0);
                ret(SECCOMP_RET_ALLOW);
                ret(ret_errno(EPERM));
                return;
            }
            case Rule::Socket:
            case Rule::Socketpair: {
                // The family, compared on the whole argument: garbage in the
                // upper half makes no family look allowed.
                load(arg_hi(0));
                jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, r == Rule::Socket ? 5 : 3);  // to the refusal
                load(arg_lo(0));
                if (r == Rule::Socket) {
                    jump(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 2, 0);
                    jump(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0);
                    jump(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 1);
                } else {
                    jump(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1);
                }
                ret(SECCOMP_RET_ALLOW);
                ret(ret_errno(EAFNOSUPPORT));
                return;
            }
            case Rule::Ioctl:
                // Everything but pushing characters into a terminal's input
                // queue; the kernel reads the request's lower half.
                load(arg_lo(1));
                jump(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0);
                ret(SECCOMP_RET_ALLOW);
                ret(ret_errno(EPERM));
                return;
            case Rule::Personality:
                // Reading the persona (0xffffffff) or keeping PER_LINUX (0);
                // the kernel reads an unsigned int.
                load(arg_lo(0));
                jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
                jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 0, 1);
                ret(SECCOMP_RET_ALLOW);
                ret(ret_errno(EPERM));
                return;
        }
    }

    struct Range {
        uint32_t first;  // the range holds [first, next range's first)
        Rule rule;
    };

    // A binary search over ranges[lo, hi), the call number in A.
    void search(const std::vector<Range>& ranges, size_t lo, size_t hi) {
        if (hi - lo == 1) {
            rule(ranges[lo].rule);
            return;
        }
        const size_t mid = lo + (hi - lo) / 2;
        // [node: A >= ranges[mid].first ? right : left] [left …] [right …]
        const size_t node = code.size();
        jump(BPF_JMP | BPF_JGE | BPF_K, ranges[mid].first, 0, 0);
        const size_t left_start = code.size();
        search(ranges, lo, mid);
        size_t left_len = code.size() - left_start;
        if (left_len > 255) {
            // A conditional jump reaches 255 instructions; a longer one goes
            // through an unconditional jump placed before the left half.
            code.insert(code.begin() + static_cast<long>(left_start), sock_filter{BPF_JMP | BPF_JA, 0, 0, 0});
            code[left_start].k = static_cast<uint32_t>(left_len);
            code[node].jt = 0;
            code[node].jf = 1;
        } else {
            code[node].jt = static_cast<uint8_t>(left_len);
            code[node].jf = 0;
        }
        search(ranges, mid, hi);
    }
};

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
    // clone3 passes its flags in memory a filter cannot read: it is left off
    // the list, so it fails with ENOSYS and libc falls back to clone, whose
    // flags are checked.
    std::vector<Rule> table;
    auto set = [&](const char* name, Rule r) {
        const int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR || nr < 0 || nr >= 4096) return;  // not on this architecture
        if (table.size() <= static_cast<size_t>(nr)) table.resize(static_cast<size_t>(nr) + 1, Rule::Deny);
        table[static_cast<size_t>(nr)] = r;
    };
    for (const char* name : kAllowed) set(name, Rule::Allow);
    for (const char* name : kDenied) set(name, Rule::Refuse);
    set("clone", Rule::Clone);
    // Sockets: only the families a program needs in an empty network
    // namespace. vsock in particular is not isolated by network namespaces.
    set("socket", Rule::Socket);
    set("socketpair", Rule::Socketpair);
    set("ioctl", Rule::Ioctl);
    set("personality", Rule::Personality);
    table.push_back(Rule::Deny);  // everything above the highest named call

    std::vector<Emitter::Range> ranges;
    for (size_t nr = 0; nr < table.size(); ++nr)
        if (ranges.empty() || ranges.back().rule != table[nr] || table[nr] > Rule::Allow)
            ranges.push_back({static_cast<uint32_t>(nr), table[nr]});

    uint32_t arch = 0;
    check(seccomp_arch_native() == 0 ? -EINVAL : 0, "native architecture");
    arch = seccomp_arch_native();  // SCMP_ARCH_* are the AUDIT_ARCH_* values
    Emitter e;
    // Only the native ABI: 32-bit entry (another arch value) and x32 (the
    // native arch with bit 30 in the number) are a classic way around a
    // filter written for x86_64 numbers; they kill the process.
    e.load(offsetof(seccomp_data, arch));
    e.jump(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0);
    e.ret(SECCOMP_RET_KILL_PROCESS);
    e.load(offsetof(seccomp_data, nr));
    if (arch == SCMP_ARCH_X86_64) {
        e.jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);  // __X32_SYSCALL_BIT
        e.ret(SECCOMP_RET_KILL_PROCESS);
    }
    e.search(ranges, 0, ranges.size());
    if (e.code.size() > BPF_MAXINSNS) throw std::runtime_error("seccomp: the filter is too long");

    SeccompProgram p;
    p.filter_ = std::move(e.code);
    p.prog_.len = static_cast<unsigned short>(p.filter_.size());
    p.prog_.filter = p.filter_.data();
    return p;
}

int apply_seccomp(const sock_fprog* prog) noexcept {
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) != 0) return errno;
    return 0;
}

}  // namespace execd
