#include "core/util/sys_error.h"

#include <cerrno>
#include <cstring>

namespace execd {

const char* errno_name(int err) noexcept {
    // strerrorname_np is glibc >= 2.32; Debian 12 ships 2.36.
    const char* name = strerrorname_np(err);
    return name ? name : "E?";
}

std::string SysError::message() const {
    std::string out = op + "(" + arg + "): " + errno_name(err) + " (" + std::strerror(err) + ")";
    if (!hint.empty()) out += " — " + hint;
    return out;
}

void throw_errno(const std::string& op, const std::string& arg, const std::string& hint) {
    throw SystemFailure(SysError{op, arg, errno, hint});
}

}  // namespace execd
