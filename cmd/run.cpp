// exec run FILE [-- ARGS...]: run one file in a fresh sandbox, with the
// caller's stdin, and exit with the program's status (or the verdict's).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cmd/common.h"
#include "cmd/remote.h"
#include "cmd/server.h"
#include "core/util/files.h"
#include "core/util/sys_error.h"

namespace execd::cli {

std::string read_source(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw BadRequest("file", "cannot read " + path + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

// A solution directory: its regular files, one directory level down at most
// (dot files skipped), as the job's files. The directory may be an untrusted
// repository read as root: a link is followed only while it stays inside
// (`data.txt -> /root/.ssh/id_rsa` is refused, naming the file), and FIFOs,
// sockets and devices are skipped unopened.
std::vector<SourceFile> read_solution_dir(const std::string& dir) {
    Fd top(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!top) throw BadRequest("file", "cannot read " + dir + ": " + std::strerror(errno));
    std::vector<SourceFile> files;
    // What `rel` is, without following a link out of the directory.
    auto kind_of = [&](const std::string& rel) {
        try {
            Fd where = open_beneath(top.get(), rel, O_PATH);
            struct stat st {};
            if (::fstat(where.get(), &st) != 0) throw_errno("fstat", dir + "/" + rel);
            return st.st_mode & S_IFMT;
        } catch (const UnsafePath& e) {
            throw BadRequest("file", dir + "/" + rel + ": " + e.what());
        }
    };
    auto read = [&](const std::string& rel) {
        try {
            files.push_back(SourceFile{rel, read_file_beneath(top.get(), rel)});
        } catch (const UnsafePath& e) {
            throw BadRequest("file", dir + "/" + rel + ": " + e.what());
        }
    };
    auto names_in = [&](const std::string& rel) {
        try {
            Fd sub = rel.empty() ? Fd(::fcntl(top.get(), F_DUPFD_CLOEXEC, 0))
                                 : open_beneath(top.get(), rel, O_RDONLY | O_DIRECTORY);
            if (!sub) throw_errno("fcntl", dir);
            return list_names_at(sub.get());
        } catch (const UnsafePath& e) {
            throw BadRequest("file", dir + "/" + rel + ": " + e.what());
        } catch (const SystemFailure& e) {
            throw BadRequest("file", "cannot read " + dir + "/" + rel + ": " + e.what());
        }
    };
    for (const std::string& name : names_in("")) {
        if (name.front() == '.') continue;
        const auto kind = kind_of(name);
        if (kind == S_IFREG) {
            read(name);
        } else if (kind == S_IFDIR) {
            for (const std::string& inner : names_in(name)) {
                if (inner.front() == '.') continue;
                const std::string rel = name + "/" + inner;
                const auto inner_kind = kind_of(rel);
                if (inner_kind == S_IFDIR)
                    throw BadRequest("file", dir + "/" + rel + ": a solution's directories go one level down at most");
                if (inner_kind == S_IFREG) read(rel);
            }
        }
    }
    std::sort(files.begin(), files.end(), [](const SourceFile& a, const SourceFile& b) { return a.name < b.name; });
    return files;
}

}  // namespace

JobRequest build_request(const Registry& registry, const RunOptions& opts) {
    const bool is_dir = std::filesystem::is_directory(opts.file);
    std::vector<SourceFile> files;
    if (is_dir) files = read_solution_dir(opts.file);
    const Language* lang = nullptr;
    if (!opts.language.empty()) {
        lang = registry.find(opts.language);
        if (!lang) throw BadRequest("lang", "unknown language '" + opts.language + "' (see `exec languages`)");
    } else if (is_dir) {
        // The first language (in registry order) whose entry point is there.
        for (const auto& l : registry.languages()) {
            for (const auto& f : files)
                if (f.name == l.source) lang = &l;
            if (lang) break;
        }
        if (!lang)
            throw BadRequest("lang", "cannot tell the language of directory '" + opts.file +
                                         "': no file is a language's entry point (main.py, Main.java, main.c, ...); "
                                         "use --lang");
    } else {
        std::string ext = std::filesystem::path(opts.file).extension().string();
        lang = registry.by_extension(ext);
        if (!lang)
            throw BadRequest("lang", "cannot tell the language of '" + opts.file + "' from its extension; use --lang");
    }
    JobRequest req;
    req.language = lang->id;
    if (is_dir) {
        if (std::none_of(files.begin(), files.end(), [&](const SourceFile& f) { return f.name == lang->source; }))
            throw BadRequest("file",
                             "'" + opts.file + "' has no " + lang->source + ", the entry point for " + lang->id);
        req.files = std::move(files);
    } else {
        req.code = read_source(opts.file);
    }
    req.args = opts.args;
    req.limits.time_ms = opts.time_ms;
    req.limits.cpu_ms = opts.cpu_ms;
    req.limits.memory_mb = opts.memory_mb;
    req.limits.pids = opts.pids;
    req.limits.output_bytes = opts.output_bytes;
    // The caller's stdin is the program's, unless it is a terminal: the
    // engine is non-interactive and would wait for EOF forever. A closed
    // fd 0 (some CI runners) is an empty stdin, not an error.
    struct stat st {};
    if (opts.read_stdin && !::isatty(0) && ::fstat(0, &st) == 0) req.stdin_data = read_all(0);
    return req;
}

void add_job_options(CLI::App* cmd, RunOptions& opts) {
    cmd->add_option("file", opts.file, "Source file (the language comes from its extension) or a directory of sources")
        ->required();
    cmd->add_option("args", opts.args, "Arguments for the program (after --)");
    cmd->add_option("-l,--lang", opts.language, "Language id or alias (see `exec languages`)");
    cmd->add_option("-t,--time", opts.time_ms, "Wall-clock limit in ms (default 3000)")->check(CLI::Range(1, 3600000));
    cmd->add_option("--cpu", opts.cpu_ms, "CPU time limit in ms (default: the wall limit)")
        ->check(CLI::Range(1, 3600000));
    cmd->add_option("-m,--memory", opts.memory_mb, "Memory limit in MB (default 128)")->check(CLI::Range(1, 1 << 20));
    cmd->add_option("-p,--pids", opts.pids, "Process/thread limit (default 50)")->check(CLI::Range(1, 65536));
    cmd->add_option("-o,--output", opts.output_bytes, "Output limit in bytes (default 4096)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 32));
}

namespace {

int run_local(const GlobalOptions& global, const Registry& registry, const JobRequest& req, bool json) {
    JobResult result = run_here(global, registry, req);
    if (json) {
        std::cout << remote().job_json(result) << std::endl;
        return exit_status(result);
    }
    return print_result(result);
}

int run_command(const GlobalOptions& global, const RunOptions& opts) {
    if (!opts.tests_dir.empty()) return grade_solution(global, opts, opts.tests_dir);
    const auto server = pick_server(global);
    if (server || opts.json) need_remote();
    Registry registry = load_registry(global);
    JobRequest req = build_request(registry, opts);
    if (server) return remote().run(global, *server, req, opts.json);
    return run_local(global, registry, req, opts.json);
}

}  // namespace

void add_run_command(CLI::App& app, GlobalOptions& global) {
    auto opts = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("run", "Run a source file in a fresh sandbox");
    add_job_options(cmd, *opts);
    cmd->add_flag("--json", opts->json, "Print the whole result as JSON (the API's GET /v1/jobs/{id} shape)");
    cmd->add_option("--tests", opts->tests_dir, "Grade against this directory of tests instead (as `exec test`)")
        ->check(CLI::ExistingDirectory);
    cmd->callback([&global, opts]() { throw CLI::RuntimeError(run_command(global, *opts)); });
}

}  // namespace execd::cli
