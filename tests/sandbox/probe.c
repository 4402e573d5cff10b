/* Runs inside a box and tries what a box must not allow. One line per check:
 * "<name> ok <detail>" when the sandbox held, "<name> BREACH <detail>" when not. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/bpf.h>
#include <linux/if_alg.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char** environ;

static void report(const char* name, int held, const char* detail) {
    printf("%s %s %s\n", name, held ? "ok" : "BREACH", detail);
}

static void expect_fail(const char* name, long rc) {
    char detail[64];
    snprintf(detail, sizeof detail, "rc=%ld errno=%s", rc, rc < 0 ? strerrorname_np(errno) : "-");
    report(name, rc < 0, detail);
}

static long try_connect(int family, const char* addr, int type) {
    int s = socket(family, type, 0);
    if (s < 0) return -1;
    long rc;
    if (family == AF_INET) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
        inet_pton(AF_INET, addr, &sa.sin_addr);
        rc = type == SOCK_DGRAM ? sendto(s, "x", 1, 0, (struct sockaddr*)&sa, sizeof sa)
                                : connect(s, (struct sockaddr*)&sa, sizeof sa);
    } else {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
        inet_pton(AF_INET6, addr, &sa.sin6_addr);
        rc = connect(s, (struct sockaddr*)&sa, sizeof sa);
    }
    int e = errno;
    close(s);
    errno = e;
    return rc;
}

static long try_create(const char* path) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
    return fd;
}

static int status_field_is(const char* field, const char* want) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    int ok = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0) {
            char* v = line + strlen(field);
            while (*v == ' ' || *v == '\t') ++v;
            ok = strncmp(v, want, strlen(want)) == 0;
        }
    if (f) fclose(f);
    return ok;
}

static long try_socket(int family, int type, int protocol) {
    int s = socket(family, type, protocol);
    if (s >= 0) close(s);
    return s;
}

int main(void) {
    char detail[256];

    snprintf(detail, sizeof detail, "uid=%d euid=%d gid=%d", getuid(), geteuid(), getgid());
    report("uid", getuid() != 0 && geteuid() != 0 && getgid() != 0, detail);
    expect_fail("setuid0", setuid(0));
    report("cap_effective", status_field_is("CapEff:", "0000000000000000"), "CapEff");
    report("cap_permitted", status_field_is("CapPrm:", "0000000000000000"), "CapPrm");
    report("cap_bounding", status_field_is("CapBnd:", "0000000000000000"), "CapBnd");
    report("no_new_privs", status_field_is("NoNewPrivs:", "1"), "NoNewPrivs");
    report("seccomp", status_field_is("Seccomp:", "2"), "Seccomp");

    expect_fail("connect_127.0.0.1", try_connect(AF_INET, "127.0.0.1", SOCK_STREAM));
    expect_fail("connect_127.0.0.53", try_connect(AF_INET, "127.0.0.53", SOCK_STREAM));
    expect_fail("udp_127.0.0.1", try_connect(AF_INET, "127.0.0.1", SOCK_DGRAM));
    expect_fail("connect_::1", try_connect(AF_INET6, "::1", SOCK_STREAM));
    {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        strcpy(ifr.ifr_name, "lo");
        int up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
        if (s >= 0) close(s);
        report("loopback_down", !up, "lo");
        FILE* f = fopen("/proc/net/dev", "r");
        int ifaces = 0;
        char line[256];
        while (f && fgets(line, sizeof line, f))
            if (strchr(line, ':')) ++ifaces;
        if (f) fclose(f);
        snprintf(detail, sizeof detail, "interfaces=%d", ifaces);
        report("only_loopback_interface", ifaces <= 1, detail);
    }

    expect_fail("write_box", try_create("/box/planted"));
    expect_fail("mkdir_box", mkdir("/box/dir", 0755));
    expect_fail("write_tmp", try_create("/tmp/planted"));
    expect_fail("write_root", try_create("/planted"));
    expect_fail("write_usr", try_create("/usr/planted"));
    expect_fail("write_dev", try_create("/dev/planted"));
    expect_fail("write_proc_sys", try_create("/proc/sys/kernel/hostname"));
    expect_fail("open_sys_cgroup", open("/sys/fs/cgroup/cgroup.procs", O_WRONLY));
    expect_fail("open_block_device", open("/dev/sda", O_RDONLY));
    expect_fail("read_shadow", open("/etc/shadow", O_RDONLY));
    report("dev_null_works", open("/dev/null", O_WRONLY) >= 0, "/dev/null");

    {
        DIR* d = opendir("/proc");
        int procs = 0;
        struct dirent* e;
        while (d && (e = readdir(d)))
            if (e->d_name[0] >= '0' && e->d_name[0] <= '9') ++procs;
        if (d) closedir(d);
        snprintf(detail, sizeof detail, "processes=%d pid=%d", procs, getpid());
        report("proc_shows_only_box", procs <= 2 && getpid() <= 2, detail);
    }
    {
        int unexpected = 0;
        detail[0] = 0;
        for (char** e = environ; *e; ++e) {
            const char* allowed[] = {"PATH=", "HOME=", "LANG=", "TMPDIR=", NULL};
            int ok = 0;
            for (const char** a = allowed; *a; ++a)
                if (strncmp(*e, *a, strlen(*a)) == 0) ok = 1;
            if (!ok) {
                ++unexpected;
                strncat(detail, *e, sizeof detail - strlen(detail) - 2);
                strcat(detail, " ");
            }
        }
        report("environment_allowlist", unexpected == 0, unexpected ? detail : "PATH HOME LANG TMPDIR");
    }
    {
        char host[64] = {0};
        gethostname(host, sizeof host - 1);
        report("hostname", strcmp(host, "box") == 0, host);
    }

    expect_fail("unshare_user", unshare(CLONE_NEWUSER));
    expect_fail("unshare_net", unshare(CLONE_NEWNET));
    expect_fail("clone_newuser", syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
    {
        long rc = syscall(SYS_clone3, NULL, 0);
        snprintf(detail, sizeof detail, "rc=%ld errno=%s", rc, strerrorname_np(errno));
        report("clone3_unavailable", rc < 0 && errno == ENOSYS, detail);
    }
    expect_fail("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, 0, 0));
    expect_fail("ptrace_attach_init", ptrace(PTRACE_ATTACH, 1, 0, 0));
    expect_fail("mount_tmpfs", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
    expect_fail("chroot", chroot("/usr"));
    expect_fail("bpf", syscall(SYS_bpf, BPF_PROG_LOAD, NULL, 0));
    {
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.size = sizeof attr;
        attr.type = PERF_TYPE_SOFTWARE;
        expect_fail("perf_event_open", syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
    }
    expect_fail("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
    expect_fail("userfaultfd", syscall(SYS_userfaultfd, 0));
    expect_fail("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    /* Socket families: only unix, IPv4 and IPv6. vsock is not isolated by
     * network namespaces (on a VM it reaches the hypervisor's services);
     * netlink, packet and the kernel crypto API are kernel attack surface. */
    expect_fail("socket_vsock", try_socket(AF_VSOCK, SOCK_STREAM, 0));
    expect_fail("socket_netlink", try_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    expect_fail("socket_packet", try_socket(AF_PACKET, SOCK_RAW, 0));
    expect_fail("socket_alg", try_socket(AF_ALG, SOCK_SEQPACKET, 0));
    expect_fail("socketpair_inet", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0, 0}));
    {
        int sv[2];
        long unix_rc = try_socket(AF_UNIX, SOCK_STREAM, 0), inet_rc = try_socket(AF_INET, SOCK_STREAM, 0),
             inet6_rc = try_socket(AF_INET6, SOCK_DGRAM, 0), pair_rc = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        if (pair_rc == 0) {
            close(sv[0]);
            close(sv[1]);
        }
        snprintf(detail, sizeof detail, "unix=%ld inet=%ld inet6=%ld socketpair_unix=%ld", unix_rc, inet_rc, inet6_rc,
                 pair_rc);
        report("socket_needed_families", unix_rc >= 0 && inet_rc >= 0 && inet6_rc >= 0 && pair_rc == 0, detail);
    }
    /* Calls outside the allowlist. */
    {
        char ldt[16];
        expect_fail("modify_ldt", syscall(SYS_modify_ldt, 0, ldt, sizeof ldt));
    }
    expect_fail("personality_linux32", personality(PER_LINUX32));
    expect_fail("personality_no_randomize", personality(ADDR_NO_RANDOMIZE));
    {
        long rc = personality(0xffffffff);
        snprintf(detail, sizeof detail, "rc=%#lx", rc);
        report("personality_unchanged", rc == PER_LINUX, detail);
    }
    {
        aio_context_t ctx = 0;
        expect_fail("io_setup", syscall(SYS_io_setup, 1, &ctx));
    }
    {
        long rc = syscall(1000, 0, 0, 0);
        snprintf(detail, sizeof detail, "rc=%ld errno=%s", rc, strerrorname_np(errno));
        report("unknown_syscall", rc < 0 && (errno == ENOSYS || errno == EPERM), detail);
    }
    expect_fail("open_proc_1_mem", open("/proc/1/mem", O_RDWR));
    expect_fail("kill_init", kill(1, SIGKILL) == 0 && kill(1, 0) != 0 ? 0 : -1);
    fflush(stdout);
    return 0;
}
