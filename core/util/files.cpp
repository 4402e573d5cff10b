#include "util/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/sys_error.h"

namespace execd {

std::string read_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open", path);
    return read_all(fd.get());
}

std::string read_all(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", "fd " + std::to_string(fd));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

int try_write_file(const std::string& path, std::string_view data) noexcept {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t n = ::write(fd, data.data(), data.size());
    int err = n < 0 ? errno : (static_cast<size_t>(n) == data.size() ? 0 : EIO);
    ::close(fd);
    return err;
}

void write_file(const std::string& path, std::string_view data) {
    int err = try_write_file(path, data);
    if (err != 0) {
        errno = err;
        throw_errno("write", path + " <- " + std::string(data));
    }
}

Fd open_dir_at(int dirfd, const std::string& name) {
    Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("openat", name);
    return fd;
}

void create_file_at(int dirfd, const std::string& name, std::string_view data, unsigned mode) {
    Fd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd) throw_errno("openat", name);
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write", name);
        }
        done += static_cast<size_t>(n);
    }
    if (::fchmod(fd.get(), mode) != 0) throw_errno("fchmod", name);
}

namespace {

// Empties the directory open at `dirfd`. Recursion depth is bounded by the
// directory depth a box could build, which its pids/memory/time limits bound.
int empty_dir(int dirfd) noexcept {
    int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return errno;
    DIR* dir = ::fdopendir(dup);
    if (!dir) {
        int e = errno;
        ::close(dup);
        return e;
    }
    int first_err = 0;
    std::vector<std::string> names;
    while (dirent* ent = ::readdir(dir)) {
        std::string_view n = ent->d_name;
        if (n == "." || n == "..") continue;
        names.emplace_back(n);
    }
    ::closedir(dir);
    for (const auto& n : names) {
        int err = remove_tree_at(dirfd, n);
        if (err != 0 && first_err == 0) first_err = err;
    }
    return first_err;
}

}  // namespace

int remove_tree_at(int dirfd, const std::string& name) noexcept {
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR) return errno;
    int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return errno == ENOENT ? 0 : errno;
    // A box may have left a directory without search permission for us: fix it
    // on the fd we hold, which cannot be a symlink.
    ::fchmod(sub, 0700);
    int err = empty_dir(sub);
    ::close(sub);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT && err == 0) err = errno;
    return err;
}

bool is_safe_file_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255) return false;
    if (name == "." || name == "..") return false;
    for (char c : name)
        if (c == '/' || c == '\0') return false;
    return true;
}

}  // namespace execd
