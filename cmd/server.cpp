// Which execd `exec` talks to, found without Poco (cmd/remote.h): named by
// --server or $EXEC_SERVER, else the host's execd on its root-owned unix
// socket, checked with an lstat, a few stats and one connect.
#include "cmd/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/util/fd.h"

namespace execd::cli {

int64_t peer_uid(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    return cred.uid;
}

Fd connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return {};
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return {};
    const timeval five{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &five, sizeof five);
    while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        if (errno != EINTR) return {};
    return fd;
}

namespace {

// Why `exec` will not trust the socket at `path` to be the host's execd, or
// "" when it may: the socket and its directory belong to root and no one
// else can write that directory, and no directory above it can be renamed
// by anyone but root (root's, and writable by others only when sticky).
std::string socket_distrust(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path given(path);
    if (!given.is_absolute()) return "it is not an absolute path";
    char* resolved = ::realpath(given.parent_path().c_str(), nullptr);
    if (!resolved) return std::string("its directory cannot be resolved: ") + std::strerror(errno);
    const fs::path dir(resolved);
    std::free(resolved);
    struct stat st {};
    if (::lstat((dir / given.filename()).c_str(), &st) != 0)
        return std::string("it cannot be examined: ") + std::strerror(errno);
    if (!S_ISSOCK(st.st_mode)) return "it is not a socket";
    if (st.st_uid != 0) return "it is not owned by root";
    if (::lstat(dir.c_str(), &st) != 0) return "its directory " + dir.string() + " cannot be examined";
    if (st.st_uid != 0) return "its directory " + dir.string() + " is not owned by root";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return "its directory " + dir.string() + " is writable by others";
    for (fs::path up = dir.parent_path();; up = up.parent_path()) {
        if (::lstat(up.c_str(), &st) != 0) return "the directory " + up.string() + " cannot be examined";
        if (st.st_uid != 0 || ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)))
            return "the directory " + up.string() + " above it is not root's, or others can write it";
        if (up == up.root_path()) break;
    }
    return {};
}

// The host's execd, if it listens on `path` and may be trusted.
std::optional<std::string> local_daemon(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;  // no daemon here
    if (std::string why = socket_distrust(path); !why.empty()) {
        print_error("not using the execd socket " + path + ": " + why);
        return std::nullopt;
    }
    const Fd socket = connect_unix(path);
    if (!socket) return std::nullopt;  // a socket file left behind: no daemon
    const int64_t uid = peer_uid(socket.get());
    if (uid != 0) {
        print_error("not using the execd socket " + path + ": the process listening on it is not root (uid " +
                    std::to_string(uid) + ")");
        return std::nullopt;
    }
    return "unix:" + path;
}

}  // namespace

std::optional<std::string> pick_server(const GlobalOptions& o) {
    if (o.local) return std::nullopt;
    if (!o.server.empty()) return o.server;
    if (const char* env = std::getenv("EXEC_SERVER"); env && *env) return std::string(env);
    // Never a TCP port nobody named: any local user could listen there.
    const char* socket = std::getenv("EXECD_SOCKET");
    return local_daemon(socket && *socket ? socket : kDefaultDaemonSocket);
}

}  // namespace execd::cli
