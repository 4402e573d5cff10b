// The box's system-call filter: an allowlist emitted once as classic BPF
// (ranges of call numbers with the same answer, found by a binary search),
// which each program's process loads with a single prctl while its box is
// prepared, before the run. A filter's instructions are what every load
// costs (the kernel checks, converts, JIT-compiles and caches it per
// process): 259 instructions, about 70 µs here.
#pragma once

#include <linux/filter.h>

#include <vector>

namespace execd {

class SeccompProgram {
public:
    // Builds the filter, a default-deny allowlist derived from what the
    // registered languages and their compilers call (see seccomp.cpp): a call
    // not on the list fails with ENOSYS; the ones a judged program never
    // needs and that widen the kernel's attack surface fail with EPERM
    // (ptrace, mount, namespaces, bpf, perf, keyrings, io_uring, userfaultfd,
    // kexec, modules, …); clone3 fails with ENOSYS so libc falls back to
    // clone, whose namespace flags are refused with EPERM; socket() takes only
    // AF_UNIX, AF_INET and AF_INET6 and socketpair() only AF_UNIX (else
    // EAFNOSUPPORT); personality() may only read or keep PER_LINUX; ioctl
    // TIOCSTI fails with EPERM; foreign-architecture (32-bit, x32) entry kills
    // the process. Throws std::runtime_error if libseccomp fails.
    static SeccompProgram build();

    // The program for prctl(PR_SET_SECCOMP); valid while *this lives.
    const sock_fprog* get() const noexcept { return &prog_; }

    SeccompProgram(SeccompProgram&& other) noexcept;
    SeccompProgram& operator=(SeccompProgram&&) = delete;
    SeccompProgram(const SeccompProgram&) = delete;

private:
    SeccompProgram() = default;
    std::vector<sock_filter> filter_;
    sock_fprog prog_{};
};

// Child side: installs the program. Returns 0 or errno. Async-signal-safe.
int apply_seccomp(const sock_fprog* prog) noexcept;

}  // namespace execd
