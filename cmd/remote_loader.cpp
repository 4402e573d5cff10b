// Finds and loads exec-remote.so (cmd/remote.h) the first time a command
// needs it.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "cmd/remote.h"
#include "core/version.h"

namespace execd::cli {
namespace {

namespace fs = std::filesystem;

// Why `path` may not be loaded into this process, or "" when it may: it and
// its directory belong to root or to us and no one else can write them.
std::string distrust(const fs::path& path) {
    for (const fs::path& p : {path, path.parent_path()}) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) return p.string() + " cannot be examined";
        if (st.st_uid != 0 && st.st_uid != ::geteuid()) return p.string() + " belongs to another user";
        if (st.st_mode & (S_IWGRP | S_IWOTH)) return p.string() + " is writable by others";
    }
    return {};
}

const RemoteOps* load() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find exec's own path to load its HTTP module: " + ec.message());
    std::string tried;
    for (const fs::path& candidate :
         {exe.parent_path() / "../lib/execd/exec-remote.so", exe.parent_path() / "exec-remote.so"}) {
        const fs::path path = fs::weakly_canonical(candidate, ec);
        if (ec || !fs::exists(path, ec)) {
            tried += "\n  " + candidate.lexically_normal().string() + ": not there";
            continue;
        }
        if (std::string why = distrust(path); !why.empty()) {
            tried += "\n  " + path.string() + ": not loaded, " + why;
            continue;
        }
        void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            tried += "\n  " + path.string() + ": " + ::dlerror();
            continue;
        }
        auto entry = reinterpret_cast<RemoteEntry>(::dlsym(handle, kRemoteEntry));
        const RemoteOps* ops = entry ? entry() : nullptr;
        if (!ops || std::string(ops->version) != kVersion || ops->layout != RemoteOps::current_layout()) {
            ::dlclose(handle);
            tried += "\n  " + path.string() + ": from another build of exec";
            continue;
        }
        return ops;
    }
    throw std::runtime_error(
        "exec's HTTP module (exec-remote.so) is needed to talk to a server or print JSON, and "
        "none would do:" +
        tried);
}

}  // namespace

const RemoteOps& remote() {
    static const RemoteOps* ops = load();
    return *ops;
}

}  // namespace execd::cli
