#include "core/compile_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "core/util/files.h"
#include "core/util/sys_error.h"

namespace execd {
namespace {

bool is_key(const std::string& name) {
    return name.size() == 64 && std::all_of(name.begin(), name.end(),
                                            [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct EntryInfo {
    std::string name;
    timespec used{};
    int64_t bytes = 0;
};

// An entry's size, as recorded when it was stored (sizes/<key>), else measured.
int64_t entry_bytes(int dirfd, const std::string& name) {
    Fd size_file(::openat(dirfd, ("sizes/" + name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (size_file) {
        char buf[32] = {};
        ssize_t n = ::pread(size_file.get(), buf, sizeof buf - 1, 0);
        if (n > 0) return std::atoll(buf);
    }
    int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return 0;
    int64_t bytes = tree_bytes_at(sub);
    ::close(sub);
    return bytes;
}

// The tmp.* and trash.* names in `dirfd`: their names only, nothing else is
// looked at (every exec opens the cache; a large one must not cost more).
std::vector<std::string> leftover_names(int dirfd) {
    std::vector<std::string> out;
    try {
        for (std::string& name : list_names_at(dirfd))
            if (name.rfind("tmp.", 0) == 0 || name.rfind("trash.", 0) == 0) out.push_back(std::move(name));
    } catch (const SystemFailure&) {
    }
    return out;
}

// Entries in `dirfd` with their sizes, by last use, oldest first.
std::vector<EntryInfo> list_entries(int dirfd) {
    std::vector<EntryInfo> out;
    std::vector<std::string> names;
    try {
        names = list_names_at(dirfd);
    } catch (const SystemFailure&) {
        return out;
    }
    for (const std::string& name : names) {
        if (!is_key(name)) continue;
        struct stat st {};
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
        out.push_back(EntryInfo{name, st.st_mtim, entry_bytes(dirfd, name)});
    }
    std::sort(out.begin(), out.end(), [](const EntryInfo& a, const EntryInfo& b) {
        return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec < b.used.tv_sec : a.used.tv_nsec < b.used.tv_nsec;
    });
    return out;
}

}  // namespace

CompileCache::CompileCache(CompileCacheConfig config) : config_(std::move(config)) {
    std::error_code ec;
    std::filesystem::create_directories(config_.dir, ec);
    if (ec) {
        errno = ec.value();
        throw_errno("mkdir", config_.dir);
    }
    dir_ = Fd(::open(config_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir_) throw_errno("open", config_.dir);
    struct stat st {};
    if (::fstat(dir_.get(), &st) != 0) throw_errno("fstat", config_.dir);
    // Entries are mounted into boxes by path: nobody but root may plant or
    // swap one, and boxes may not list the directory.
    if (st.st_uid != 0 || (st.st_mode & 0022)) {
        errno = EPERM;
        throw_errno("check", config_.dir,
                    "the compile cache directory must be owned by root and not group/world-writable");
    }
    ::fchmod(dir_.get(), 0711);

    // A store or an eviction cut short by a crash leaves tmp.*/trash.*
    // behind; another process may be using a fresh tmp.*, so only old ones go.
    const time_t now = ::time(nullptr);
    for (const auto& name : leftover_names(dir_.get())) {
        struct stat lst {};
        if (::fstatat(dir_.get(), name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (name.rfind("trash.", 0) == 0 || now - lst.st_mtim.tv_sec > 3600) remove_tree_at(dir_.get(), name);
    }
}

std::optional<CompileCache::Lease> CompileCache::find(const std::string& key) {
    if (!is_key(key)) return std::nullopt;
    Fd entry(::openat(dir_.get(), key.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!entry) return std::nullopt;
    // Eviction takes the lock exclusively before it renames an entry away, so
    // once we hold it shared, the entry stays where it is until the lease ends.
    while (::flock(entry.get(), LOCK_SH) != 0)
        if (errno != EINTR) return std::nullopt;
    struct stat held {
    }, named{};
    if (::fstat(entry.get(), &held) != 0 || ::fstatat(dir_.get(), key.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 ||
        held.st_ino != named.st_ino || held.st_dev != named.st_dev)
        return std::nullopt;           // evicted between our open and our lock
    ::futimens(entry.get(), nullptr);  // most recently used (the directory's mtime)
    return Lease(config_.dir + "/" + key, std::move(entry));
}

bool CompileCache::store(const std::string& key, int work_dir_fd) noexcept {
    if (!is_key(key) || config_.max_bytes <= 0) return false;
    std::string tmp;
    int64_t bytes = 0;
    try {
        tmp = "tmp." + random_hex(12);
        if (::mkdirat(dir_.get(), tmp.c_str(), 0700) != 0) return false;
        Fd dst = open_dir_at(dir_.get(), tmp);
        const int64_t limit = std::min(config_.max_entry_bytes, config_.max_bytes);
        copy_tree_at(work_dir_fd, dst.get(), limit);
        // Boxes run as other uids: they may read and search, never write.
        if (::fchmod(dst.get(), 0755) != 0) throw_errno("fchmod", tmp);
        bytes = tree_bytes_at(dst.get());
        if (bytes > limit) throw std::length_error("the entry's files and inodes pass the size limit");
    } catch (const std::exception&) {
        if (!tmp.empty()) remove_tree_at(dir_.get(), tmp);
        return false;
    }
    // rename() of a directory onto an existing non-empty one fails, so the
    // first process to store a key wins and nobody's lease is disturbed.
    if (::renameat(dir_.get(), tmp.c_str(), dir_.get(), key.c_str()) != 0) {
        remove_tree_at(dir_.get(), tmp);
        return false;
    }
    // The size is kept beside the entry, so accounting never walks the trees.
    try {
        if (::mkdirat(dir_.get(), "sizes", 0700) == 0 || errno == EEXIST) {
            Fd sizes = open_dir_at(dir_.get(), "sizes");
            ::unlinkat(sizes.get(), key.c_str(), 0);
            create_file_at(sizes.get(), key, std::to_string(bytes), 0600);
        }
    } catch (const std::exception&) {
        // Without the record the size is measured when needed.
    }
    evict_to(config_.max_bytes);
    return true;
}

void CompileCache::evict_to(int64_t max_bytes) noexcept {
    try {
        auto entries = list_entries(dir_.get());
        int64_t total = 0;
        for (const auto& e : entries) total += e.bytes;
        for (const auto& e : entries) {
            if (total <= max_bytes) break;
            Fd entry(::openat(dir_.get(), e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!entry) continue;
            if (::flock(entry.get(), LOCK_EX | LOCK_NB) != 0) continue;  // in use: keep it
            const std::string trash = "trash." + random_hex(12);
            if (::renameat(dir_.get(), e.name.c_str(), dir_.get(), trash.c_str()) != 0) continue;
            entry.reset();
            ::unlinkat(dir_.get(), ("sizes/" + e.name).c_str(), 0);
            remove_tree_at(dir_.get(), trash);
            total -= e.bytes;
        }
    } catch (const std::exception&) {
        // Eviction is best effort; the next store tries again.
    }
}

std::optional<std::string> CompileCache::recall(const std::string& key) const {
    if (!is_key(key)) return std::nullopt;
    Fd fd(::openat(dir_.get(), ("memo/" + key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return std::nullopt;
    try {
        return read_all(fd.get());
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void CompileCache::remember(const std::string& key, const std::string& value) noexcept {
    if (!is_key(key)) return;
    Fd memo;
    std::string tmp;
    try {
        if (::mkdirat(dir_.get(), "memo", 0700) != 0 && errno != EEXIST) return;
        memo = open_dir_at(dir_.get(), "memo");
        // Written whole under a temporary name, then renamed: readers never see half a value.
        tmp = "tmp." + random_hex(8);
        create_file_at(memo.get(), tmp, value, 0600);
        if (::renameat(memo.get(), tmp.c_str(), memo.get(), key.c_str()) == 0) return;
    } catch (const std::exception&) {
        // A full disk: the value is not remembered, and half of it is not kept.
    }
    if (memo && !tmp.empty()) ::unlinkat(memo.get(), tmp.c_str(), 0);
}

int64_t CompileCache::size_bytes() const {
    int64_t total = 0;
    for (const auto& e : list_entries(dir_.get())) total += e.bytes;
    return total;
}

}  // namespace execd
