#include "core/util/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/util/sys_error.h"

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

// How many directory levels removal holds open at once. A box can build a
// tree tens of thousands of levels deep (within its time and memory); below
// this depth a subtree is moved up instead, so removal never runs out of
// file descriptors or stack, and never leaves a tree behind.
constexpr int kMaxHeldDepth = 32;

struct Removal {
    int top;                         // where deep subtrees are moved to
    std::vector<std::string> moved;  // their names there, still to remove
    int first_err = 0;
    void failed(int err) {
        if (first_err == 0) first_err = err;
    }
};

// Removes the directory `name` below `dirfd` (open at depth `depth`) and all
// it holds, never following a symlink.
void remove_dir(int dirfd, const std::string& name, int depth, Removal& r) noexcept {
    if (depth >= kMaxHeldDepth) {
        char spill[32];
        unsigned char rnd[8];
        if (::getrandom(rnd, sizeof rnd, 0) != sizeof rnd) return r.failed(errno);
        std::snprintf(spill, sizeof spill, "trash.%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
                      rnd[4], rnd[5], rnd[6], rnd[7]);
        if (::renameat(dirfd, name.c_str(), r.top, spill) != 0) return r.failed(errno);
        try {
            r.moved.emplace_back(spill);
        } catch (const std::exception&) {
            r.failed(ENOMEM);
        }
        return;
    }
    int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        if (errno != ENOENT) r.failed(errno);
        return;
    }
    // A box may have left a directory without search permission for us: fix it
    // on the fd we hold, which cannot be a symlink.
    ::fchmod(sub, 0700);
    std::vector<std::string> names;
    int dup = ::fcntl(sub, F_DUPFD_CLOEXEC, 0);
    DIR* dir = dup < 0 ? nullptr : ::fdopendir(dup);
    if (!dir) {
        r.failed(errno);
        if (dup >= 0) ::close(dup);
        ::close(sub);
        return;
    }
    try {
        while (dirent* ent = ::readdir(dir)) {
            std::string_view n = ent->d_name;
            if (n != "." && n != "..") names.emplace_back(n);
        }
    } catch (const std::exception&) {
        r.failed(ENOMEM);
    }
    ::closedir(dir);
    for (const auto& n : names) {
        if (::unlinkat(sub, n.c_str(), 0) == 0 || errno == ENOENT) continue;
        if (errno != EISDIR) {
            r.failed(errno);
            continue;
        }
        remove_dir(sub, n, depth + 1, r);
    }
    ::close(sub);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) r.failed(errno);
}

}  // namespace

int remove_tree_at(int dirfd, const std::string& name) noexcept {
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR) return errno;
    Removal r{dirfd, {}, 0};
    remove_dir(dirfd, name, 0, r);
    // Subtrees moved up are removed the same way, each from depth 0.
    while (!r.moved.empty()) {
        const std::string next = std::move(r.moved.back());
        r.moved.pop_back();
        remove_dir(dirfd, next, 0, r);
    }
    return r.first_err;
}

namespace {

// The names in the directory open at `dirfd` (without "." and ".."), read
// through a duplicate so the caller's fd keeps its position.
std::vector<std::string> list_dir(int dirfd) {
    int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) throw_errno("fcntl", "F_DUPFD");
    DIR* d = ::fdopendir(dup);
    if (!d) {
        ::close(dup);
        throw_errno("fdopendir", "");
    }
    ::rewinddir(d);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    return names;
}

// What a copy may still write: data bytes (what it occupies) and apparent
// bytes (the files' sizes, holes included).
struct CopyBudget {
    int64_t max_bytes, max_apparent;
    int64_t bytes, apparent;
    int64_t entries;
};

// Copies [from, to) of `in` to the same offsets of `out`, charging the budget
// before every write. Stops early at EOF (the source may shrink).
void copy_range(int in, int out, off_t from, off_t to, CopyBudget& b, const std::string& name) {
    char buf[65536];
    while (from < to) {
        const size_t want = static_cast<size_t>(std::min<off_t>(to - from, sizeof buf));
        ssize_t n = ::pread(in, buf, want, from);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", name);
        }
        if (n == 0) return;
        if (n > b.bytes)
            throw std::length_error("the files hold more than " + describe_bytes(b.max_bytes) + " of data");
        b.bytes -= n;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::pwrite(out, buf + done, static_cast<size_t>(n - done), from + done);
            if (w < 0) {
                if (errno == EINTR) continue;
                throw_errno("write", name);
            }
            done += w;
        }
        from += n;
    }
}

void copy_file_at(int src_dirfd, int dst_dirfd, const std::string& name, CopyBudget& b) {
    Fd in(::openat(src_dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!in) throw_errno("openat", name);
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) throw_errno("fstat", name);
    if (!S_ISREG(st.st_mode)) return;  // swapped for something else since the listing
    const off_t size = st.st_size;
    if (size > b.apparent)
        throw std::length_error("the files' sizes (holes included) pass " + describe_bytes(b.max_apparent));
    b.apparent -= size;
    const unsigned mode = (st.st_mode & 0111) ? 0755 : 0644;
    Fd out(::openat(dst_dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!out) throw_errno("openat", name);
    // Only the data is copied; a hole in the source stays a hole in the copy,
    // so a sparse file costs what it holds, not its size.
    off_t pos = 0;
    while (pos < size) {
        off_t data = ::lseek(in.get(), pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break;  // nothing but a hole up to the end
            throw_errno("lseek", name + " SEEK_DATA");
        }
        if (data >= size) break;
        off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
        if (hole < 0 || hole > size) hole = size;
        copy_range(in.get(), out.get(), data, hole, b, name);
        pos = hole;
    }
    if (::ftruncate(out.get(), size) != 0) throw_errno("ftruncate", name);
    if (::fchmod(out.get(), mode) != 0) throw_errno("fchmod", name);
}

// Entries of any kind a copied tree may hold: a compile step that leaves
// millions of empty files behind costs no bytes but much time to copy.
constexpr int64_t kMaxTreeEntries = 20000;

void copy_tree(int src_dirfd, int dst_dirfd, CopyBudget& b, int depth) {
    if (depth > 16) throw std::length_error("the directory tree is deeper than 16 levels");
    for (const auto& name : list_dir(src_dirfd)) {
        if (--b.entries < 0) throw std::length_error("the tree holds more than 20000 entries");
        struct stat st {};
        if (::fstatat(src_dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            throw_errno("fstatat", name);
        }
        if (S_ISREG(st.st_mode)) {
            copy_file_at(src_dirfd, dst_dirfd, name, b);
        } else if (S_ISDIR(st.st_mode)) {
            if (::mkdirat(dst_dirfd, name.c_str(), 0755) != 0) throw_errno("mkdirat", name);
            Fd from = open_dir_at(src_dirfd, name);
            Fd to = open_dir_at(dst_dirfd, name);
            copy_tree(from.get(), to.get(), b, depth + 1);
            if (::fchmod(to.get(), 0755) != 0) throw_errno("fchmod", name);
        }
        // Symlinks, fifos, sockets and devices are not part of an artifact.
    }
}

constexpr int64_t kEntryOverheadBytes = 1024;

int64_t tree_bytes(int dirfd, int depth) noexcept {
    if (depth > 64) return 0;
    int64_t total = 0;
    try {
        for (const auto& name : list_dir(dirfd)) {
            struct stat st {};
            if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            // Every entry costs an inode and a dentry whatever its size, so a
            // tree of empty files is not free.
            total += kEntryOverheadBytes;
            if (S_ISREG(st.st_mode)) {
                // The blocks it holds: a hole costs nothing, a block is whole.
                total += static_cast<int64_t>(st.st_blocks) * 512;
            } else if (S_ISDIR(st.st_mode)) {
                int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) continue;
                total += tree_bytes(sub, depth + 1);
                ::close(sub);
            }
        }
    } catch (const std::exception&) {
        // Sizes are advisory (cache accounting); an unreadable part counts as empty.
    }
    return total;
}

// openat2(2), which glibc 2.36 does not wrap; ENOSYS before Linux 5.6.
int openat2_beneath(int dirfd, const char* path, int flags) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

// Without openat2: every component opened with O_NOFOLLOW, so no link is
// followed at all (a link's target cannot be checked without races).
int open_no_links(int dirfd, const std::string& path, int flags) {
    Fd held;
    int at = dirfd;
    size_t start = 0;
    for (;;) {
        const size_t slash = path.find('/', start);
        const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (slash == std::string::npos) return ::openat(at, part.c_str(), flags | O_NOFOLLOW);
        Fd next(::openat(at, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) return -1;
        held = std::move(next);
        at = held.get();
        start = slash + 1;
    }
}

std::string reason_for(int err) {
    switch (err) {
        case EXDEV: return "leads out of the directory through a symbolic link";
        case ELOOP: return "is a symbolic link, or lies below one, that was not followed";
        default: return std::string("cannot read: ") + std::strerror(err);
    }
}

}  // namespace

int64_t copy_tree_at(int src_dirfd, int dst_dirfd, int64_t max_bytes, int64_t max_apparent_bytes) {
    if (max_apparent_bytes < 0) max_apparent_bytes = max_bytes > INT64_MAX / 16 ? INT64_MAX : max_bytes * 16;
    CopyBudget b{max_bytes, max_apparent_bytes, max_bytes, max_apparent_bytes, kMaxTreeEntries};
    copy_tree(src_dirfd, dst_dirfd, b, 0);
    return max_bytes - b.bytes;
}

int64_t tree_bytes_at(int dirfd) noexcept { return tree_bytes(dirfd, 0); }

std::string describe_bytes(int64_t bytes) {
    if (bytes > 0 && bytes % (int64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MB";
    return std::to_string(bytes) + " bytes";
}

Fd open_beneath(int dirfd, const std::string& path, int flags) {
    static std::atomic<bool> have_openat2{true};
    int fd = -1;
    if (have_openat2.load(std::memory_order_relaxed)) {
        fd = openat2_beneath(dirfd, path.c_str(), flags | O_CLOEXEC);
        if (fd < 0 && errno == ENOSYS) have_openat2.store(false, std::memory_order_relaxed);
    }
    if (!have_openat2.load(std::memory_order_relaxed)) fd = open_no_links(dirfd, path, flags | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        throw UnsafePath(err, reason_for(err));
    }
    return Fd(fd);
}

std::string read_file_beneath(int dirfd, const std::string& path) {
    // Looked at before it is opened for reading: opening a FIFO would block,
    // and opening a device may do something.
    Fd where = open_beneath(dirfd, path, O_PATH);
    struct stat first {
    }, opened{};
    if (::fstat(where.get(), &first) != 0) throw UnsafePath(errno, reason_for(errno));
    if (!S_ISREG(first.st_mode)) throw UnsafePath(EINVAL, "not a regular file");
    Fd fd = open_beneath(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (::fstat(fd.get(), &opened) != 0) throw UnsafePath(errno, reason_for(errno));
    if (opened.st_dev != first.st_dev || opened.st_ino != first.st_ino)
        throw UnsafePath(EAGAIN, "changed while it was being read");
    try {
        return read_all(fd.get());
    } catch (const SystemFailure& e) {
        throw UnsafePath(EIO, std::string("cannot read: ") + e.what());
    }
}

std::vector<std::string> list_names_at(int dirfd) {
    std::vector<std::string> names = list_dir(dirfd);
    std::sort(names.begin(), names.end());
    return names;
}

std::string random_hex(size_t bytes) {
    unsigned char buf[32];
    if (bytes > sizeof buf) bytes = sizeof buf;
    if (::getrandom(buf, bytes, 0) != static_cast<ssize_t>(bytes)) throw_errno("getrandom", std::to_string(bytes));
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < bytes; ++i) {
        out += digits[buf[i] >> 4];
        out += digits[buf[i] & 15];
    }
    return out;
}

bool is_submitted_file_name(std::string_view name) noexcept {
    if (name.find('\\') != std::string_view::npos) return false;
    auto plain = [](std::string_view part) { return is_safe_file_name(part) && part[0] != '-' && part[0] != '@'; };
    const auto slash = name.find('/');
    if (slash == std::string_view::npos) return plain(name);
    return plain(name.substr(0, slash)) && plain(name.substr(slash + 1));
}

bool is_safe_file_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255) return false;
    if (name == "." || name == "..") return false;
    for (char c : name)
        if (c == '/' || c == '\0') return false;
    return true;
}

}  // namespace execd
