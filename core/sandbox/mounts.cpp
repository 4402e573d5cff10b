#include "core/sandbox/mounts.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>

#include "core/util/fd.h"
#include "core/util/sys_error.h"

namespace execd {
namespace {

namespace fs = std::filesystem;

void mkdir_p(const std::string& path, mode_t mode) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
        errno = ec.value();
        throw_errno("mkdir", path);
    }
    ::chmod(path.c_str(), mode);
}

void do_mount(const char* src, const std::string& dst, const char* type, unsigned long flags, const char* data) {
    if (::mount(src, dst.c_str(), type, flags, data) != 0)
        throw_errno("mount", std::string(src ? src : "none") + " on " + dst);
}

// A read-only bind of `src` and of every mount below it. A bind remount
// changes only the top mount; the submounts a recursive bind brings along
// keep their own flags (a writable tmpfs below /usr would stay writable), so
// the flags go on the whole subtree with mount_setattr(AT_RECURSIVE) (Linux
// 5.12, which the box init needs anyway).
void bind_read_only(const std::string& src, const std::string& dst, bool nodev) {
    do_mount(src.c_str(), dst, nullptr, MS_BIND | MS_REC, nullptr);
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | (nodev ? MOUNT_ATTR_NODEV : 0);
    if (::syscall(SYS_mount_setattr, AT_FDCWD, dst.c_str(), AT_RECURSIVE, &attr, sizeof attr) != 0)
        throw_errno("mount_setattr", dst + " (read-only, recursive)", "the sandbox needs Linux 5.12 or later");
}

void touch(const std::string& path) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) throw_errno("open", path);
}

// Adds host path `src` to the root (as a symlink, a file or a directory bind).
void add_bind(const std::string& root, const std::string& src,
              std::vector<std::pair<std::string, std::string>>& binds) {
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) return;  // missing on this host: skipped by design
    const std::string dst = root + src;
    mkdir_p(fs::path(dst).parent_path().string(), 0755);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = ::readlink(src.c_str(), target, sizeof target - 1);
        if (n < 0) throw_errno("readlink", src);
        target[n] = '\0';
        if (::symlink(target, dst.c_str()) != 0 && errno != EEXIST) throw_errno("symlink", dst);
        return;
    }
    if (S_ISDIR(st.st_mode))
        mkdir_p(dst, 0755);
    else
        touch(dst);
    binds.emplace_back(src, dst);
}

}  // namespace

RootLayout prepare_root(const std::string& state_dir, const std::vector<std::string>& bind_paths, int64_t tmpfs_mb) {
    RootLayout l{state_dir + "/ns", state_dir + "/ns/root", state_dir + "/ns/work"};

    if (::unshare(CLONE_NEWNS) != 0) throw_errno("unshare", "CLONE_NEWNS", "is execd running as root?");
    // Nothing mounted from here on may propagate back to the host.
    do_mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);

    mkdir_p(l.ns_dir, 0755);
    // Always a size: without one a tmpfs may take half the RAM, and what the
    // supervisor writes here (work dirs, artifact copies) is charged to it.
    const std::string tmpfs_options =
        "mode=0755," + (tmpfs_mb > 0 ? "size=" + std::to_string(tmpfs_mb) + "m" : std::string("size=25%"));
    do_mount("tmpfs", l.ns_dir, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_options.c_str());
    mkdir_p(l.work_dir, 0711);

    const std::string& r = l.root_dir;
    for (const char* d : {"", "/box", "/proc", "/tmp", "/dev", "/etc"}) mkdir_p(r + d, 0755);
    std::vector<std::pair<std::string, std::string>> binds;
    // The top-level program directories always come along: on merged-/usr
    // systems they are symlinks into /usr, elsewhere real directories.
    std::vector<std::string> paths{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
    for (const auto& p : bind_paths)
        if (std::find(paths.begin(), paths.end(), p) == paths.end()) paths.push_back(p);
    for (const auto& p : paths) add_bind(r, p, binds);
    // A minimal /dev: the harmless character devices and the usual links.
    std::vector<std::pair<std::string, std::string>> devices;
    for (const char* dev : {"null", "zero", "full", "random", "urandom"}) {
        touch(r + "/dev/" + dev);
        devices.emplace_back(std::string("/dev/") + dev, r + "/dev/" + dev);
    }
    for (auto [name, target] : {std::pair{"fd", "/proc/self/fd"}, std::pair{"stdin", "/proc/self/fd/0"},
                                std::pair{"stdout", "/proc/self/fd/1"}, std::pair{"stderr", "/proc/self/fd/2"}}) {
        const std::string link = r + "/dev/" + name;
        if (::symlink(target, link.c_str()) != 0 && errno != EEXIST) throw_errno("symlink", link);
    }

    // The root becomes a mount of its own (pivot_root needs one), then the
    // binds go on top, then the root itself turns read-only.
    do_mount(r.c_str(), r, nullptr, MS_BIND, nullptr);
    for (const auto& [src, dst] : binds) bind_read_only(src, dst, true);
    for (const auto& [src, dst] : devices) bind_read_only(src, dst, false);
    do_mount(nullptr, r, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr);
    return l;
}

}  // namespace execd
