// The box init's entry point: reads the plan the supervisor wrote to the pipe
// named by argv[1], checks it, and runs the steps (contain.cpp).
//
// Freestanding (no libc): its own _start, the memory functions the compiler
// may emit calls to (struct copies and zeroing), and the clone3 trampoline.
#include <asm/unistd.h>

#include "sandbox/contain.h"
#include "sandbox/init/sys.h"

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

alignas(16) char plan_buffer[kPlanMaxBytes];
char* argv_ptrs[kPlanMaxStrings + 1];
char* envp_ptrs[kPlanMaxStrings + 1];

int parse_fd(const char* s) {
    if (!s || !*s) return -1;
    int v = 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9' || v > 100000) return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
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
        const char* s = string_at(size, offs[i]);
        if (!s) return false;
        out[i] = const_cast<char*>(s);
    }
    out[count] = nullptr;
    return true;
}

[[noreturn]] void plan_error(int status_fd, long err) {
    ChildReport r{ChildReport::Failure, static_cast<int32_t>(ChildStage::ReadPlan), static_cast<int32_t>(-err), 0};
    if (status_fd >= 0) call(__NR_write, status_fd, &r, sizeof r);
    exit_now(127);
}

}  // namespace
}  // namespace execd::init

extern "C" void execd_box_init_start(long* sp) {
    using namespace execd;
    using namespace execd::init;
    const long argc = sp[0];
    char** argv = reinterpret_cast<char**>(sp + 1);
    // argv: "execd-box-init" <plan fd> <status fd>
    const int plan_fd = argc > 1 ? parse_fd(argv[1]) : -1;
    const int status_fd = argc > 2 ? parse_fd(argv[2]) : -1;
    if (plan_fd < 0) plan_error(status_fd, -9 /* EBADF */);

    uint32_t size = 0;
    for (;;) {
        long n = call(__NR_read, plan_fd, plan_buffer + size, sizeof plan_buffer - size);
        if (n == -4 /* EINTR */) continue;
        if (n < 0) plan_error(status_fd, n);
        if (n == 0) break;
        size += static_cast<uint32_t>(n);
        if (size == sizeof plan_buffer) break;
    }
    call(__NR_close, plan_fd);

    const auto* h = reinterpret_cast<const PlanHeader*>(plan_buffer);
    if (size < sizeof(PlanHeader) || h->magic != kPlanMagic || h->size != size || h->n_rlimits < 0 ||
        h->n_rlimits > kPlanRlimits || h->n_task_fds < 0 || h->n_task_fds > 3 || h->status_fd != status_fd)
        plan_error(status_fd, -22 /* EINVAL */);
    BoxPlan p{};
    p.h = h;
    p.work_src = string_at(size, h->work_src);
    p.tmp_options = string_at(size, h->tmp_options);
    const bool filter_ok = h->seccomp % 8 == 0 && h->seccomp < size && h->seccomp_len > 0 &&
                           h->seccomp_len <= 0xffff && (size - h->seccomp) / sizeof(sock_filter) >= h->seccomp_len;
    if (!p.work_src || !filter_ok || h->argc == 0 || !strings_at(size, h->argc, h->argv, argv_ptrs) ||
        !strings_at(size, h->envc, h->envp, envp_ptrs))
        plan_error(status_fd, -22 /* EINVAL */);
    p.argv = argv_ptrs;
    p.envp = envp_ptrs;
    p.seccomp = reinterpret_cast<const sock_filter*>(plan_buffer + h->seccomp);
    run_box_init(p);
}
