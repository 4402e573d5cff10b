// Small file helpers. Everything that touches a directory a sandboxed program
// could have written to goes through the *_at functions, which never follow a
// symbolic link (the class of bug behind CVE-2024-28185 in Judge0).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/fd.h"

namespace execd {

// Reads a whole file. Throws SystemFailure.
std::string read_file(const std::string& path);

// Writes `data` to an existing file (cgroup knobs, /proc files). Throws SystemFailure.
void write_file(const std::string& path, std::string_view data);

// Like write_file but returns errno (0 on success) instead of throwing.
int try_write_file(const std::string& path, std::string_view data) noexcept;

// Opens a directory below `dirfd` without following a symlink in the last
// component. Throws SystemFailure.
Fd open_dir_at(int dirfd, const std::string& name);

// Creates `name` below `dirfd` (it must not exist, must not be a symlink) and
// writes `data` into it with the given mode. Throws SystemFailure.
void create_file_at(int dirfd, const std::string& name, std::string_view data, unsigned mode);

// Removes `name` below `dirfd` and everything under it, never following a
// symlink. Missing entries are fine. Returns 0 or the first errno met.
int remove_tree_at(int dirfd, const std::string& name) noexcept;

// Copies the tree below `src_dirfd` into `dst_dirfd` (which should be
// empty): regular files and directories only, never through a symlink (other
// entries are skipped). Copies are owned by the caller; directories get 0755
// and files 0644, or 0755 when any execute bit was set, so no set-id bit or
// odd mode survives. Holes in sparse files stay holes (SEEK_DATA/SEEK_HOLE):
// `max_bytes` bounds the data written, which is what the copy occupies;
// `max_apparent_bytes` bounds the files' sizes, holes included (negative:
// 16 × max_bytes). Throws std::length_error naming the limit when the files
// pass either, the tree is deeper than 16 levels or holds more than 20000
// entries; SystemFailure on I/O errors. Returns the bytes of data written.
int64_t copy_tree_at(int src_dirfd, int dst_dirfd, int64_t max_bytes, int64_t max_apparent_bytes = -1);

// What the tree below `dirfd` occupies: the blocks its regular files hold
// (st_blocks, so a sparse file counts its data, not its size), plus 1 KB for
// every entry (file or directory: each costs an inode), never following a
// symlink.
int64_t tree_bytes_at(int dirfd) noexcept;

// A size for messages: "8 MB" when a whole number of MB, else "1234567 bytes".
std::string describe_bytes(int64_t bytes);

// Why a file below a directory someone else controls (a student's solution
// or tests) was not read. what() is the reason without the path: "leads out
// of the directory through a symbolic link", "is not a regular file",
// "cannot read: No such file or directory".
class UnsafePath : public std::runtime_error {
public:
    UnsafePath(int err, const std::string& reason) : std::runtime_error(reason), err_(err) {}
    int error() const noexcept { return err_; }

private:
    int err_;
};

// Opens `path` (relative, '/'-separated, no "..") below the directory
// `dirfd`, following a symbolic link only while it stays below `dirfd`
// (openat2 with RESOLVE_BENEATH; a kernel without openat2 gets no link
// followed at all). O_CLOEXEC is added to `flags`. Throws UnsafePath.
Fd open_beneath(int dirfd, const std::string& path, int flags);

// The regular file `path` below `dirfd`, opened with open_beneath. A FIFO,
// device, socket or directory is refused before it is opened for reading.
// Throws UnsafePath.
std::string read_file_beneath(int dirfd, const std::string& path);

// The names in the directory open at `dirfd`, without "." and "..", sorted.
// Throws SystemFailure.
std::vector<std::string> list_names_at(int dirfd);

// Whether `name` is a safe single path component for a file in a work dir:
// non-empty, no '/', no NUL, not "." or "..", at most 255 bytes.
bool is_safe_file_name(std::string_view name) noexcept;

// `bytes` random bytes (at most 32) as lowercase hex, for unguessable names. Throws SystemFailure.
std::string random_hex(size_t bytes);

// Whether `name` may name a submitted file: a safe name, or one directory
// and a safe name ("lib/util.c"); no part starting with '-' or '@' (names
// reach compiler command lines as options or gcc response files), no '\\'.
bool is_submitted_file_name(std::string_view name) noexcept;

// Reads all of `fd` until EOF. Throws SystemFailure.
std::string read_all(int fd);

}  // namespace execd
