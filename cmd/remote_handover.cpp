// exec's side of cmd/remote.h: it links no Poco, so a command that needs a
// server or the API's JSON continues in exec-remote, given the same argv.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "cmd/remote.h"
#include "core/util/fd.h"
#include "core/version.h"

extern char** environ;

namespace execd::cli {
namespace {

namespace fs = std::filesystem;

std::vector<std::string>& saved_argv() {
    static std::vector<std::string> argv;
    return argv;
}

bool ours(const struct stat& st) { return st.st_uid == 0 || st.st_uid == ::geteuid(); }

// Why the file `fd` (opened at `path`, a path without links) may not be
// executed for us, or "" when it may: it and its directory belong to root
// or to us and no one else can write them, and no directory above can be
// renamed by anyone else (root's or ours, and writable by others only when
// sticky). It is then executed through `fd`, so what was checked is what runs.
std::string distrust(const fs::path& path, int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return path.string() + " cannot be examined";
    if (!S_ISREG(st.st_mode)) return path.string() + " is not a regular file";
    if (!ours(st)) return path.string() + " belongs to another user";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return path.string() + " is writable by others";
    const fs::path dir = path.parent_path();
    if (::lstat(dir.c_str(), &st) != 0) return dir.string() + " cannot be examined";
    if (!ours(st)) return dir.string() + " belongs to another user";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return dir.string() + " is writable by others";
    for (fs::path up = dir.parent_path();; up = up.parent_path()) {
        if (::lstat(up.c_str(), &st) != 0) return up.string() + " cannot be examined";
        if (!ours(st) || ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)))
            return "the directory " + up.string() + " above it is not root's or ours, or others can write it";
        if (up == up.root_path()) break;
    }
    return {};
}

}  // namespace

void remember_argv(int argc, char** argv) { saved_argv().assign(argv, argv + argc); }

void need_remote() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find exec's own path to hand over to exec-remote: " + ec.message());
    std::string tried;
    for (const fs::path& candidate :
         {exe.parent_path() / EXECD_REMOTE_FROM_BINDIR / "exec-remote", exe.parent_path() / "exec-remote"}) {
        const fs::path path = fs::weakly_canonical(candidate, ec);
        if (ec || !fs::exists(path, ec)) {
            tried += "\n  " + candidate.lexically_normal().string() + ": not there";
            continue;
        }
        Fd file(::open(path.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW));
        if (!file) {
            tried += "\n  " + path.string() + ": " + std::strerror(errno);
            continue;
        }
        if (std::string why = distrust(path, file.get()); !why.empty()) {
            tried += "\n  " + path.string() + ": not used, " + why;
            continue;
        }
        std::vector<char*> argv;
        for (auto& a : saved_argv()) argv.push_back(a.data());
        argv.push_back(nullptr);
        // Tells exec-remote which exec handed over (it refuses another version's).
        ::setenv("EXECD_HANDED_OVER_BY", kVersion, 1);
        ::syscall(SYS_execveat, file.get(), "", argv.data(), environ, AT_EMPTY_PATH);
        tried += "\n  " + path.string() + ": " + std::strerror(errno);
        ::unsetenv("EXECD_HANDED_OVER_BY");
    }
    throw std::runtime_error(
        "talking to a server or printing JSON is done by exec-remote (exec has no HTTP or JSON of its own), "
        "and none would do:" +
        tried);
}

const RemoteOps& remote() {
    throw std::logic_error("exec: a command used the HTTP module without handing over to exec-remote");
}

}  // namespace execd::cli
