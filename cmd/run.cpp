// exec run FILE [-- ARGS...]: run one file in a fresh sandbox, with the
// caller's stdin, and exit with the program's status (or the verdict's).
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "codec.h"
#include "common.h"
#include "util/files.h"

namespace execd::cli {
namespace {

struct RunOptions {
    std::string file;
    std::vector<std::string> args;
    std::string language;
    std::optional<int64_t> time_ms, cpu_ms, memory_mb, pids, output_bytes;
    bool json = false;
};

std::string read_source(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw BadRequest("file", "cannot read " + path + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int exit_status_for(const JobResult& r) {
    switch (r.run.verdict) {
        case Verdict::InternalError: return kExitInternalError;
        default: return r.run.exit_code.value_or(kExitInternalError);
    }
}

int run_command(const GlobalOptions& global, const RunOptions& opts) {
    Registry registry = load_registry(global);
    const Language* lang = nullptr;
    if (!opts.language.empty()) {
        lang = registry.find(opts.language);
        if (!lang) {
            print_error("unknown language '" + opts.language + "' (see `exec languages`)");
            return kExitUsage;
        }
    } else {
        std::string ext = std::filesystem::path(opts.file).extension().string();
        lang = registry.by_extension(ext);
        if (!lang) {
            print_error("cannot tell the language of '" + opts.file + "' from its extension; use --lang");
            return kExitUsage;
        }
    }

    JobRequest req;
    req.language = lang->id;
    req.code = read_source(opts.file);
    req.args = opts.args;
    req.limits.time_ms = opts.time_ms;
    req.limits.cpu_ms = opts.cpu_ms;
    req.limits.memory_mb = opts.memory_mb;
    req.limits.pids = opts.pids;
    req.limits.output_bytes = opts.output_bytes;
    // The caller's stdin is the program's, unless it is a terminal: the
    // engine is non-interactive and would wait for EOF forever.
    // A closed fd 0 (some CI runners) is an empty stdin, not an error.
    struct stat st {};
    if (!::isatty(0) && ::fstat(0, &st) == 0) req.stdin_data = read_all(0);

    auto sandbox = make_local_sandbox(global, registry);
    Runner runner(*sandbox, registry);
    JobResult result = runner.run(req);

    if (opts.json) {
        std::cout << api::stringify(api::completed_job_json(result, api::Encoding::Utf8)) << std::endl;
        return exit_status_for(result);
    }
    std::cout.write(result.run.stdout_data.data(), static_cast<std::streamsize>(result.run.stdout_data.size()));
    std::cout.flush();
    std::cerr.write(result.run.stderr_data.data(), static_cast<std::streamsize>(result.run.stderr_data.size()));
    if (result.run.verdict == Verdict::CompileError) std::cerr << result.run.message;
    if (result.run.verdict != Verdict::OK) {
        std::string line = std::string(verdict_name(result.run.verdict));
        if (result.run.verdict != Verdict::CompileError && !result.run.message.empty())
            line += ": " + result.run.message;
        print_error(line);
    }
    return exit_status_for(result);
}

}  // namespace

void add_run_command(CLI::App& app, GlobalOptions& global) {
    auto opts = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("run", "Run a source file in a fresh sandbox");
    cmd->add_option("file", opts->file, "Source file; the language comes from its extension")->required();
    cmd->add_option("args", opts->args, "Arguments for the program (after --)");
    cmd->add_option("-l,--lang", opts->language, "Language id or alias (see `exec languages`)");
    cmd->add_option("-t,--time", opts->time_ms, "Wall-clock limit in ms (default 3000)")->check(CLI::Range(1, 3600000));
    cmd->add_option("--cpu", opts->cpu_ms, "CPU time limit in ms (default: the wall limit)")->check(CLI::Range(1, 3600000));
    cmd->add_option("-m,--memory", opts->memory_mb, "Memory limit in MB (default 128)")->check(CLI::Range(1, 1 << 20));
    cmd->add_option("-p,--pids", opts->pids, "Process/thread limit (default 50)")->check(CLI::Range(1, 65536));
    cmd->add_option("-o,--output", opts->output_bytes, "Output limit in bytes (default 4096)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 32));
    cmd->add_flag("--json", opts->json, "Print the whole result as JSON (the API's GET /v1/jobs/{id} shape)");
    cmd->callback([&global, opts]() { throw CLI::RuntimeError(run_command(global, *opts)); });
}

}  // namespace execd::cli
