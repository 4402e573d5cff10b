// Errors from system calls, carried with the call, its argument and errno.
#pragma once

#include <stdexcept>
#include <string>

namespace execd {

// One failed system call: what was called, on what, and errno.
struct SysError {
    std::string op;    // e.g. "mkdir"
    std::string arg;   // e.g. "/sys/fs/cgroup/memory/execd"
    int err = 0;       // errno
    std::string hint;  // what an operator can do about it, may be empty

    // "mkdir(/sys/fs/cgroup/memory/execd): EACCES (Permission denied) — hint"
    std::string message() const;
};

// Thrown by orchestration code when a system call it depends on fails.
class SystemFailure : public std::runtime_error {
public:
    explicit SystemFailure(SysError e) : std::runtime_error(e.message()), error_(std::move(e)) {}
    const SysError& error() const noexcept { return error_; }

private:
    SysError error_;
};

// Throws SystemFailure for `op(arg)` with the current errno.
[[noreturn]] void throw_errno(const std::string& op, const std::string& arg, const std::string& hint = {});

// The symbolic name of an errno value ("ENOENT"), or its number.
const char* errno_name(int err) noexcept;

}  // namespace execd
