// What every exec command prints with: errors, the status line, and a
// job's result the way `exec run` shows it. Part of execd_cli, so exec and
// its HTTP module (cmd/remote.h) print the same way.
#include <unistd.h>

#include <iostream>
#include <string>

#include "cmd/common.h"

namespace execd::cli {

void print_error(const std::string& message) { std::cerr << "exec: " << message << std::endl; }

StatusLine::StatusLine() : on_(::isatty(2)) {}

StatusLine::~StatusLine() {
    if (on_ && shown_) std::cerr << "\r\033[K" << std::flush;
}

void StatusLine::show(const std::string& text) {
    if (!on_) return;
    std::cerr << "\r\033[K" << text.substr(0, 100) << std::flush;
    shown_ = true;
}

int exit_status(const JobResult& result) {
    if (result.cancelled || result.run.verdict == Verdict::InternalError || !result.run.exit_code)
        return kExitInternalError;
    return *result.run.exit_code;
}

int print_result(const JobResult& result) {
    if (result.cancelled) {
        print_error("the job was cancelled");
        return kExitInternalError;
    }
    const StepResult& run = result.run;
    std::cout.write(run.stdout_data.data(), static_cast<std::streamsize>(run.stdout_data.size()));
    std::cout.flush();
    std::cerr.write(run.stderr_data.data(), static_cast<std::streamsize>(run.stderr_data.size()));
    if (run.verdict == Verdict::CompileError) std::cerr << run.message;
    if (run.verdict != Verdict::OK) {
        std::string line(verdict_name(run.verdict));
        if (run.verdict != Verdict::CompileError && !run.message.empty()) line += ": " + run.message;
        print_error(line);
    }
    return exit_status(result);
}

}  // namespace execd::cli
