// Small file helpers. Everything that touches a directory a sandboxed program
// could have written to goes through the *_at functions, which never follow a
// symbolic link (the class of bug behind CVE-2024-28185 in Judge0).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/fd.h"

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
// odd mode survives. Throws std::length_error when the files pass
// `max_bytes` or the tree is deeper than 16 levels, SystemFailure on I/O
// errors; also past 20000 entries. Returns the bytes copied.
int64_t copy_tree_at(int src_dirfd, int dst_dirfd, int64_t max_bytes);

// The bytes of the regular files below `dirfd`, plus 1 KB for every entry
// (file or directory: each costs an inode), never following a symlink.
int64_t tree_bytes_at(int dirfd) noexcept;

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
