// Which execd server exec uses, if any. No Poco here: exec finds out
// before it decides whether to load its HTTP module (cmd/remote.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cmd/common.h"
#include "core/util/fd.h"

namespace execd::cli {

// Where the host's execd listens by default (execd serves it when it runs
// as root); $EXECD_SOCKET names another path.
inline constexpr const char* kDefaultDaemonSocket = "/run/execd/api.sock";

// The server to use: --server, else $EXEC_SERVER, else the host's execd on
// its unix socket ($EXECD_SOCKET, else kDefaultDaemonSocket) when the socket
// and its directory are root's, no one else can write the directory, and
// the process listening is root; else none (the embedded engine). A TCP
// port is used only when named. --local forces none. A socket that is
// there but not trusted is ignored with a warning on stderr.
std::optional<std::string> pick_server(const GlobalOptions& options);

// The user id of the process listening on a connected unix socket (as it
// was when it called listen), or -1.
int64_t peer_uid(int fd);

// A socket connected to the unix socket `path`, or an empty Fd (errno set)
// when nothing listens there (a file left behind). A listener whose queue
// is full is waited for up to 5 s.
Fd connect_unix(const std::string& path);

}  // namespace execd::cli
