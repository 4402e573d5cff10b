// exec's side of cmd/remote.h: it links no Poco, so a command that needs a
// server or the API's JSON continues in exec-remote, given the same argv.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "cmd/remote.h"
#include "core/version.h"

extern char** environ;

namespace execd::cli {
namespace {

namespace fs = std::filesystem;

std::vector<std::string>& saved_argv() {
    static std::vector<std::string> argv;
    return argv;
}

// Why `path` may not be executed for us, or "" when it may: it and its
// directory belong to root or to us and no one else can write them.
std::string distrust(const fs::path& path) {
    for (const fs::path& p : {path, path.parent_path()}) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) return p.string() + " cannot be examined";
        if (st.st_uid != 0 && st.st_uid != ::geteuid()) return p.string() + " belongs to another user";
        if (st.st_mode & (S_IWGRP | S_IWOTH)) return p.string() + " is writable by others";
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
         {exe.parent_path() / "../lib/execd/exec-remote", exe.parent_path() / "exec-remote"}) {
        const fs::path path = fs::weakly_canonical(candidate, ec);
        if (ec || !fs::exists(path, ec)) {
            tried += "\n  " + candidate.lexically_normal().string() + ": not there";
            continue;
        }
        if (std::string why = distrust(path); !why.empty()) {
            tried += "\n  " + path.string() + ": not used, " + why;
            continue;
        }
        std::vector<char*> argv;
        for (auto& a : saved_argv()) argv.push_back(a.data());
        argv.push_back(nullptr);
        // Tells exec-remote which exec handed over (it refuses another version's).
        ::setenv("EXECD_HANDED_OVER_BY", kVersion, 1);
        ::execve(path.c_str(), argv.data(), environ);
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
