// The box init binary's entry point: the spawner (plan.h). It reads its
// plan from the socket named by argv[1], then forks one box init
// (contain.cpp) into new PID, IPC and UTS namespaces per SpawnRequest, until
// the socket closes.
//
// Freestanding (no libc): its own _start, the memory functions the compiler
// may emit calls to (struct copies and zeroing), and the clone3 trampoline.
#include <asm/unistd.h>
#include <linux/fcntl.h>
#include <linux/prctl.h>
#include <linux/sched.h>

#include "core/sandbox/contain.h"
#include "core/sandbox/init/sys.h"

extern "C" {

void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    while (n--) *d++ = *s++;
    return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d < s)
        while (n--) *d++ = *s++;
    else
        while (n--) d[n] = s[n];
    return dst;
}

void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    while (n--) *d++ = static_cast<unsigned char>(c);
    return dst;
}

[[noreturn]] void execd_box_init_start(long* sp);
}

#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call execd_box_init_start\n"
    "  hlt\n"
    // long execd_clone3_run(args, size, fn, arg): the child starts on the
    // stack clone3 gave it, calls fn(arg), and never comes back.
    ".global execd_clone3_run\n"
    "execd_clone3_run:\n"
    "  mov %rdx, %r8\n"
    "  mov %rcx, %r9\n"
    "  mov $435, %eax\n"
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"
    "  mov %r9, %rdi\n"
    "  call *%r8\n"
    "  hlt\n"
    "1:\n"
    "  ret\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, sp\n"
    "  bl execd_box_init_start\n"
    "  brk #0\n"
    ".global execd_clone3_run\n"
    "execd_clone3_run:\n"
    "  mov x8, #435\n"
    "  svc #0\n"
    "  cbnz x0, 1f\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, x3\n"
    "  blr x2\n"
    "  brk #0\n"
    "1:\n"
    "  ret\n");
#endif

namespace execd::init {
namespace {

constexpr long kSigKill = 9, kSigChld = 17, kSigIgn = 1;

alignas(16) char spawner_buffer[kSpawnerMaxBytes];
SpawnerConfig config;
Standby standby;

int parse_fd(const char* s) {
    if (!s || !*s) return -1;
    int v = 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9' || v > 100000) return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

// Reads and checks the SpawnerPlan; exits on anything wrong (the supervisor
// sees the socket close and names the failure).
void read_spawner_plan(int sock) {
    int fds[1];
    int n_fds = 0;
    long n;
    do {
        n = receive(sock, spawner_buffer, sizeof spawner_buffer, fds, 1, &n_fds);
    } while (n == -4 /* EINTR */);
    const auto* p = reinterpret_cast<const SpawnerPlan*>(spawner_buffer);
    if (n < static_cast<long>(sizeof(SpawnerPlan)) || n_fds != 1 || p->magic != kSpawnerMagic ||
        p->size != static_cast<uint32_t>(n) || p->n_rlimits < 0 || p->n_rlimits > kPlanRlimits || p->seccomp % 8 != 0 ||
        p->seccomp >= p->size || p->seccomp_len == 0 || p->seccomp_len > 0xffff ||
        (p->size - p->seccomp) / sizeof(sock_filter) < p->seccomp_len)
        exit_now(2);
    config.plan = p;
    config.seccomp = reinterpret_cast<const sock_filter*>(spawner_buffer + p->seccomp);
    config.mntns_fd = fds[0];
}

// Forks one box init for `req` (whose descriptors are in fds[]). Returns in
// the spawner only.
void spawn(const SpawnRequest& req, const int* fds, int n_fds) {
    const int expected = 2 + (req.clone_into ? 1 : req.n_task_fds);
    if (n_fds < 2) return;
    const int ctl = fds[0];
    if (req.magic != kRequestMagic || req.n_task_fds < 0 || req.n_task_fds > 3 || n_fds != expected ||
        (req.clone_into && req.n_task_fds != 0)) {
        ChildReport r{ChildReport::Failure, static_cast<int32_t>(ChildStage::ReadPlan), 22 /* EINVAL */, 0};
        call(__NR_write, ctl, &r, sizeof r);
        return;
    }
    clone_args args{};
    args.flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    args.exit_signal = kSigChld;
    const long pid = call(__NR_clone3, &args, sizeof args);
    if (pid == 0) {
        standby.config = &config;
        standby.uid = req.uid;
        standby.gid = req.gid;
        standby.ctl_fd = ctl;
        standby.netns_fd = fds[1];
        standby.clone_into_fd = req.clone_into ? fds[2] : -1;
        standby.n_task_fds = req.clone_into ? 0 : req.n_task_fds;
        for (int i = 0; i < standby.n_task_fds; ++i) standby.task_fds[i] = fds[2 + i];
        run_box_init(standby);
    }
    if (pid < 0) {
        ChildReport r{ChildReport::Failure, static_cast<int32_t>(ChildStage::Spawn), static_cast<int32_t>(-pid), 0};
        call(__NR_write, ctl, &r, sizeof r);
    }
}

}  // namespace
}  // namespace execd::init

extern "C" void execd_box_init_start(long* sp) {
    using namespace execd;
    using namespace execd::init;
    const long argc = sp[0];
    char** argv = reinterpret_cast<char**>(sp + 1);
    // argv: "execd-box-init" <socket fd>
    const int sock = argc > 1 ? parse_fd(argv[1]) : -1;
    if (sock < 0) exit_now(2);
    // With the supervisor goes the spawner, and with it every box (theirs
    // is the same parent-death signal). The signal comes when the thread
    // that started us ends: the Sandbox starts every spawner on a thread of
    // its own that ends only with it (Sandbox::spawner_thread_).
    call(__NR_prctl, PR_SET_PDEATHSIG, kSigKill, 0, 0, 0);
    call(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
    // 0, 1 and 2 onto /dev/null, so a received descriptor never lands there
    // and nothing of the supervisor's terminal or journal stays open.
    const long null_fd = call(__NR_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0);
    if (null_fd < 0) exit_now(2);
    for (int fd = 0; fd < 3; ++fd)
        if (fd != null_fd) call(__NR_dup3, null_fd, fd, 0);
    if (null_fd > 2) call(__NR_close, null_fd);
    read_spawner_plan(sock);
    // No signal blocked, as in a fresh process, whatever thread started us
    // (the Sandbox's own blocks them all; a daemon's workers block some).
    // The box inits inherit the mask until they reset it; started with every
    // signal blocked, a box destroyed unused was often (1 in 4) still
    // exiting when its Box was gone (containment_test.cpp).
    {
        const uint64_t none = 0;
        call(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &none, 0, 8);
    }
    // Its children, the box inits, are reaped by the kernel: the supervisor
    // learns of their end on their control sockets.
    struct {
        unsigned long handler, flags, restorer;
        uint64_t mask;
    } ignore{static_cast<unsigned long>(kSigIgn), 0, 0, 0};
    call(__NR_rt_sigaction, kSigChld, &ignore, 0, 8);

    for (;;) {
        SpawnRequest req{};
        int fds[6];
        int n_fds = 0;
        const long n = receive(sock, &req, sizeof req, fds, 6, &n_fds);
        if (n == -4 /* EINTR */) continue;
        if (n <= 0) exit_now(0);  // the supervisor closed the socket (or is gone)
        if (n == static_cast<long>(sizeof req)) spawn(req, fds, n_fds);
        for (int i = 0; i < n_fds; ++i) call(__NR_close, fds[i]);
    }
}
