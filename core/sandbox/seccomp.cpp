#include "sandbox/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "util/fd.h"
#include "util/files.h"

namespace execd {
namespace {

// Calls refused with EPERM. Each one is either privileged already (defence in
// depth if a capability ever leaked) or reachable unprivileged with a history
// of kernel bugs (bpf, perf, io_uring, userfaultfd, keyrings, user namespaces).
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

}  // namespace

SeccompProgram::SeccompProgram(SeccompProgram&& other) noexcept : filter_(std::move(other.filter_)) {
    prog_.len = static_cast<unsigned short>(filter_.size());
    prog_.filter = filter_.data();
}

SeccompProgram SeccompProgram::build() {
    Ctx c(seccomp_init(SCMP_ACT_ALLOW));
    if (!c.ctx) throw std::runtime_error("seccomp_init failed");
    // Only the native ABI: 32-bit int 0x80 entry and x32 are a classic way
    // around a filter written for x86_64 numbers.
    check(seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "badarch action");
    check(seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_NNP, 0), "no_new_privs attribute");
    check(seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), "binary tree layout");

    for (const char* name : kDenied) {
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
        check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), nr, 0), name);
    }
    // clone3 passes its flags in memory a filter cannot read: make libc fall
    // back to clone, whose flags we can check.
    check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3");
    for (unsigned long flag : kNamespaceFlags)
        check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
              "clone namespace flag");
    // Pushing characters into a terminal's input queue.
    check(seccomp_rule_add(c.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI)),
          "ioctl TIOCSTI");

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
