#include "sandbox/mounts.h"

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

#include "util/fd.h"
#include "util/sys_error.h"

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

void bind_read_only(const std::string& src, const std::string& dst, unsigned long extra) {
    do_mount(src.c_str(), dst, nullptr, MS_BIND | MS_REC, nullptr);
    do_mount(nullptr, dst, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | extra, nullptr);
}

void touch(const std::string& path) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) throw_errno("open", path);
}

// Adds host path `src` to the root (as a symlink, a file or a directory bind).
void add_bind(const std::string& root, const std::string& src, std::vector<std::pair<std::string, std::string>>& binds) {
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

RootLayout prepare_root(const std::string& state_dir, const std::vector<std::string>& bind_paths) {
    RootLayout l{state_dir + "/ns", state_dir + "/ns/root", state_dir + "/ns/work"};

    if (::unshare(CLONE_NEWNS) != 0) throw_errno("unshare", "CLONE_NEWNS", "is execd running as root?");
    // Nothing mounted from here on may propagate back to the host.
    do_mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);

    mkdir_p(l.ns_dir, 0755);
    do_mount("tmpfs", l.ns_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
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
    for (const auto& [src, dst] : binds) bind_read_only(src, dst, MS_NODEV);
    for (const auto& [src, dst] : devices) bind_read_only(src, dst, 0);
    do_mount(nullptr, r, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr);
    return l;
}

int apply_child_mounts(const ChildMounts& m, MountStage* stage) noexcept {
    *stage = MountStage::Work;
    if (::mount(m.work_src, m.box_target, nullptr, MS_BIND, nullptr) != 0) return errno;
    *stage = MountStage::WorkReadOnly;
    unsigned long work_flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | (m.work_writable ? 0 : MS_RDONLY);
    if (::mount(nullptr, m.box_target, nullptr, work_flags, nullptr) != 0) return errno;
    *stage = MountStage::Proc;
    if (::mount("proc", m.proc_target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return errno;
    if (m.tmp_options) {
        *stage = MountStage::Tmp;
        if (::mount("tmpfs", m.tmp_target, "tmpfs", MS_NOSUID | MS_NODEV, m.tmp_options) != 0) return errno;
    }
    *stage = MountStage::Chdir;
    if (::chdir(m.root_dir) != 0) return errno;
    // pivot_root(".", ".") stacks the old root on top of the new one; the
    // detach below then removes it, leaving only the box's tree.
    *stage = MountStage::PivotRoot;
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno;
    *stage = MountStage::DetachOld;
    if (::umount2(".", MNT_DETACH) != 0) return errno;
    *stage = MountStage::ChdirBox;
    if (::chdir("/box") != 0) return errno;
    return 0;
}

}  // namespace execd
