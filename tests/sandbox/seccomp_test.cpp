// The box's system-call filter: a default-deny allowlist. Two kinds of test:
// programs in a real box (the probe, and the socket families a program may
// create), and the exported filter loaded in a forked child of this process,
// which can try argument values a box program would not reach (high bits in
// 32-bit arguments) and the exact calls the box's init and the program's
// child make after the filter is loaded.
#include "core/sandbox/seccomp.h"

#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "tests/support.h"

using namespace execd;
using namespace execd::test;
using Catch::Matchers::Contains;

namespace {

const SeccompProgram& program() {
    static const SeccompProgram p = SeccompProgram::build();
    return p;
}

// Forks; the child sets no_new_privs, loads the box's filter, runs `body`
// and exits with what it returns (0–255). Returns that status, or 1000 +
// the signal that killed the child. The child makes raw system calls only.
template <class Body>
int in_filtered_child(Body body) {
    const sock_fprog* filter = program().get();  // built here: the child must not throw
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(200);
        if (apply_seccomp(filter) != 0) ::_exit(201);
        ::_exit(body());
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

// 0 if the call succeeded, else its errno.
int err_of(long rc) { return rc >= 0 ? 0 : errno; }

int socket_errno(unsigned long family, int type) {
    return in_filtered_child([&] {
        long fd = ::syscall(SYS_socket, family, type, 0);
        return err_of(fd);
    });
}

}  // namespace

TEST_CASE("a program can create only unix, IPv4 and IPv6 sockets", "[sandbox]") {
    // AF_VSOCK reaches a hypervisor's services whatever the network namespace;
    // netlink, packet and AF_ALG are kernel surface a judged program never needs.
    auto r = run_code("c", R"(#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
static void try(const char* name, int family, int type, int protocol) {
    int s = socket(family, type, protocol);
    printf("%s %s\n", name, s >= 0 ? "created" : strerrorname_np(errno));
    if (s >= 0) close(s);
}
int main(void) {
    try("unix", AF_UNIX, SOCK_STREAM, 0);
    try("inet", AF_INET, SOCK_STREAM, 0);
    try("inet6", AF_INET6, SOCK_DGRAM, 0);
    try("vsock", AF_VSOCK, SOCK_STREAM, 0);
    try("netlink", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    try("packet", AF_PACKET, SOCK_DGRAM, 0);
    try("alg", AF_ALG, SOCK_SEQPACKET, 0);
    try("unspec", AF_UNSPEC, SOCK_STREAM, 0);
    int sv[2];
    printf("socketpair_unix %s\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? "created" : strerrorname_np(errno));
    return 0;
}
)");
    INFO(r.run.message << (r.compile ? r.compile->stderr_data : "") << r.run.stderr_data);
    REQUIRE(r.run.verdict == Verdict::OK);
    const std::string& out = r.run.stdout_data;
    INFO(out);
    for (const char* ok : {"unix created", "inet created", "inet6 created", "socketpair_unix created"})
        CHECK_THAT(out, Contains(ok));
    for (const char* refused : {"vsock", "netlink", "packet", "alg", "unspec"})
        CHECK_THAT(out, Contains(std::string(refused) + " EAFNOSUPPORT"));
}

TEST_CASE("the probe finds the kernel surface outside the allowlist closed", "[sandbox]") {
    const std::string probe = read_text(EXECD_SOURCE_DIR "/tests/sandbox/probe.c");
    REQUIRE_FALSE(probe.empty());
    auto r = run_code("c", probe);
    INFO(r.run.message << (r.compile ? r.compile->stderr_data : ""));
    REQUIRE(r.run.verdict == Verdict::OK);
    const std::string& out = r.run.stdout_data;
    INFO(out);
    CHECK_THAT(out, !Contains("BREACH"));
    for (const char* check :
         {"socket_vsock ok", "socket_netlink ok", "socket_packet ok", "socket_alg ok", "socketpair_inet ok",
          "socket_needed_families ok", "modify_ldt ok", "personality_linux32 ok", "personality_no_randomize ok",
          "personality_unchanged ok", "io_setup ok", "unknown_syscall ok"})
        CHECK_THAT(out, Contains(std::string("\n") + check));
}

TEST_CASE("seccomp: socket families are checked on the whole argument", "[sandbox]") {
    CHECK(socket_errno(AF_UNIX, SOCK_STREAM) == 0);
    CHECK(socket_errno(AF_INET, SOCK_DGRAM) == 0);
    CHECK(socket_errno(AF_INET6, SOCK_STREAM) == 0);
    CHECK(socket_errno(AF_VSOCK, SOCK_STREAM) == EAFNOSUPPORT);
    CHECK(socket_errno(AF_NETLINK, SOCK_RAW) == EAFNOSUPPORT);
    CHECK(socket_errno(AF_PACKET, SOCK_RAW) == EAFNOSUPPORT);
    CHECK(socket_errno(AF_ALG, SOCK_SEQPACKET) == EAFNOSUPPORT);
    CHECK(socket_errno(AF_MAX + 7, SOCK_STREAM) == EAFNOSUPPORT);
    // The kernel reads the family as an int: garbage in the upper half must
    // not make AF_VSOCK look like something else, nor anything look allowed.
    CHECK(socket_errno((1ul << 32) | AF_VSOCK, SOCK_STREAM) == EAFNOSUPPORT);
    CHECK(socket_errno((1ul << 32) | AF_UNIX, SOCK_STREAM) == EAFNOSUPPORT);

    int pair = in_filtered_child([] {
        int sv[2];
        return err_of(::syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    });
    CHECK(pair == 0);
    int pair_netlink = in_filtered_child([] {
        int sv[2];
        return err_of(::syscall(SYS_socketpair, AF_NETLINK, SOCK_RAW, 0, sv));
    });
    CHECK(pair_netlink == EAFNOSUPPORT);
}

TEST_CASE("seccomp: what is not on the allowlist fails, named dangers with EPERM", "[sandbox]") {
    // Unknown to the filter: ENOSYS, as on a kernel without the call, so a
    // runtime takes the fallback it has for older kernels.
    CHECK(in_filtered_child([] { return err_of(::syscall(1000, 0, 0, 0)); }) == ENOSYS);
    CHECK(in_filtered_child([] {
              char buf[16];
              return err_of(::syscall(SYS_modify_ldt, 0, buf, sizeof buf));
          }) == ENOSYS);
    CHECK(in_filtered_child([] {
              aio_context_t ctx = 0;
              return err_of(::syscall(SYS_io_setup, 1, &ctx));
          }) == ENOSYS);
    // Refused on purpose: EPERM.
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_unshare, CLONE_NEWUSER)); }) == EPERM);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_ptrace, 0 /* TRACEME */, 0, 0, 0)); }) == EPERM);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_bpf, 0, 0, 0)); }) == EPERM);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_io_uring_setup, 1, 0)); }) == EPERM);
    // Namespace flags on clone: EPERM; clone3 (flags in memory): ENOSYS.
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)); }) == EPERM);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0)); }) == EPERM);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_clone3, nullptr, 0)); }) == ENOSYS);
}

TEST_CASE("seccomp: personality only reads or keeps the default persona", "[sandbox]") {
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_personality, 0xffffffffUL)); }) == 0);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_personality, PER_LINUX)); }) == 0);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_personality, PER_LINUX32)); }) == EPERM);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_personality, ADDR_NO_RANDOMIZE)); }) == EPERM);
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_personality, READ_IMPLIES_EXEC)); }) == EPERM);
    // The kernel reads an unsigned int: the upper half cannot smuggle a persona.
    CHECK(in_filtered_child([] { return err_of(::syscall(SYS_personality, (1ul << 32) | PER_LINUX32)); }) == EPERM);
}

TEST_CASE("seccomp: TIOCSTI is refused whatever the upper half of the request", "[sandbox]") {
    // On a pipe the kernel itself answers ENOTTY; EPERM means the filter refused.
    auto ioctl_errno = [](unsigned long request) {
        return in_filtered_child([request] {
            int p[2];
            if (::pipe(p) != 0) return 250;
            int n = 0;
            return err_of(::syscall(SYS_ioctl, p[0], request, &n));
        });
    };
    CHECK(ioctl_errno(TIOCSTI) == EPERM);
    CHECK(ioctl_errno((1ul << 32) | TIOCSTI) == EPERM);
    CHECK(ioctl_errno(FIONREAD) == 0);
    CHECK(ioctl_errno(TCGETS) == ENOTTY);
}

TEST_CASE("seccomp: the program's process works under the filter until its execve", "[sandbox]") {
    // The program's process loads the filter while it is prepared, before
    // its run (core/sandbox/contain.cpp), then uses: sendmsg with a
    // descriptor (its Ready report), close, futex (waiting for the run),
    // prlimit64 (lowering the run's limits), chdir, fcntl/dup3 for stdio,
    // write (a failure report), execve and exit. The rest checks calls a
    // runtime's start-up makes.
    int rc = in_filtered_child([] {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 30;
        {
            char byte = 'r';
            iovec iov{&byte, 1};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(c), &sv[0], sizeof(int));
            if (::sendmsg(sv[1], &msg, MSG_NOSIGNAL) != 1) return 31;
        }
        int word = 1;
        if (::syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0) < 0) return 32;
        if (::syscall(SYS_futex, &word, FUTEX_WAIT, 0, nullptr, nullptr, 0) != -1 || errno != EAGAIN) return 33;
        rlimit64 old{}, lower{};
        if (::prlimit64(0, RLIMIT_NOFILE, nullptr, &old) != 0) return 34;
        lower.rlim_cur = lower.rlim_max = old.rlim_max > 64 ? 64 : old.rlim_max;
        if (::prlimit64(0, RLIMIT_NOFILE, &lower, nullptr) != 0) return 35;
        if (::chdir("/") != 0) return 36;
        if (::fcntl(sv[0], F_SETFD, 0) != 0) return 37;
        ::close(sv[0]);
        ::close(sv[1]);
        int p[2];
        if (::pipe(p) != 0) return 10;
        char w = 0;
        if (::write(p[1], "w", 1) != 1 || ::read(p[0], &w, 1) != 1 || w != 'w') return 24;
        if (::syscall(SYS_getpid) <= 0) return 11;
        if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return 12;
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return 13;
        sigset_t none;
        sigemptyset(&none);
        if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) return 14;
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        if (::sigaction(SIGPIPE, &dfl, nullptr) != 0) return 15;
        if (::syscall(SYS_close_range, 64, ~0U, 0) != 0) return 16;
        // The program: stdio by dup2 and dup3, then execve.
        pid_t child = ::vfork();
        if (child == 0) {
            if (::dup2(p[1], 1) < 0 || ::dup3(p[1], 2, 0) < 0) ::_exit(120);
            char sh[] = "/bin/sh", c[] = "-c", script[] = "echo ran; exit 7";
            char* argv[] = {sh, c, script, nullptr};
            char* envp[] = {nullptr};
            ::execve(sh, argv, envp);
            ::_exit(121);
        }
        if (child < 0) return 17;
        ::close(p[1]);
        int status = 0;
        if (::wait4(child, &status, __WALL, nullptr) != child) return 18;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 7) return 19;
        char buf[8] = {};
        if (::read(p[0], buf, sizeof buf) != 4 || std::memcmp(buf, "ran\n", 4) != 0) return 20;
        // A second child by clone(CLONE_VFORK), reaped with waitid.
        long c2 = ::syscall(SYS_clone, CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
        if (c2 == 0) ::syscall(SYS_exit_group, 9);
        if (c2 < 0) return 21;
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(c2), &info, WEXITED) != 0 || info.si_status != 9) return 22;
        ::close(p[0]);
        return 0;
    });
    CHECK(rc == 0);
}
