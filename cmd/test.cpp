// exec test SOLUTION --tests DIR: compile the solution once, run it on every
// NAME.in of DIR, compare with NAME.out, and report (a table, JUnit XML, TAP
// or JSON). Exit status 0 only when every test passed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "cmd/common.h"
#include "cmd/remote.h"
#include "cmd/report.h"
#include "cmd/server.h"
#include "cmd/testdir.h"

namespace execd::cli {
namespace {

// Exit statuses of `exec test` (usage errors are kExitUsage).
constexpr int kExitTestsFailed = 1;

struct TestOptions {
    RunOptions run;
    std::string tests_dir;
    std::string junit_file;
    std::string suite_name;
    bool tap = false;
    bool stop_on_failure = false;
};

// The request: the solution, the directory's tests and settings, and the
// command line's limits over the directory's.
JobRequest build_test_request(const Registry& registry, const TestOptions& opts) {
    RunOptions run = opts.run;
    run.read_stdin = false;  // each test has its own stdin
    JobRequest req = build_request(registry, run);
    TestSuite suite = load_test_dir(opts.tests_dir, registry);
    req.tests = std::move(suite.tests);
    req.checker = std::move(suite.checker);
    req.stop_on_failure = suite.stop_on_failure || opts.stop_on_failure;
    auto over = [](std::optional<int64_t>& flag, const std::optional<int64_t>& dir) {
        if (!flag) flag = dir;
    };
    over(req.limits.time_ms, suite.limits.time_ms);
    over(req.limits.cpu_ms, suite.limits.cpu_ms);
    over(req.limits.memory_mb, suite.limits.memory_mb);
    over(req.limits.pids, suite.limits.pids);
    over(req.limits.output_bytes, suite.limits.output_bytes);
    return req;
}

JobResult run_local(const GlobalOptions& global, const Registry& registry, JobRequest& req) {
    StatusLine progress;
    progress.show(req.language + ": compiling / starting");
    size_t failed = 0;
    req.on_test = [&](const TestResult& t, size_t index, size_t total) {
        if (t.result.verdict != Verdict::OK) ++failed;
        progress.show("[" + std::to_string(index + 1) + "/" + std::to_string(total) + "] " + t.name + "  " +
                      std::string(verdict_name(t.result.verdict)) +
                      (failed ? "  (" + std::to_string(failed) + " failed)" : ""));
    };
    JobResult result = run_here(global, registry, req);
    req.on_test = nullptr;
    return result;
}

int test_command(const GlobalOptions& global, const TestOptions& opts) {
    const auto server = pick_server(global);
    if (server || opts.run.json) need_remote();
    Registry registry = load_registry(global);
    JobRequest req = build_test_request(registry, opts);
    JobResult result;
    if (server)
        result = remote().grade(global, *server, req);
    else
        result = run_local(global, registry, req);

    if (!opts.junit_file.empty()) {
        std::ofstream out(opts.junit_file, std::ios::binary | std::ios::trunc);
        const std::string suite = opts.suite_name.empty() ? opts.run.file : opts.suite_name;
        out << junit_xml(req, result, suite);
        if (!out.flush()) throw std::runtime_error("cannot write " + opts.junit_file);
    }
    if (opts.run.json) {
        std::cout << remote().job_json(result) << std::endl;
    } else if (opts.tap) {
        std::cout << tap(req, result) << std::flush;
    } else {
        print_table(std::cout, req, result, ::isatty(1) ? TableColor::Ansi : TableColor::Plain);
        std::cout.flush();
    }
    if (result.run.verdict == Verdict::OK) return 0;
    if (result.run.verdict == Verdict::InternalError) {
        print_error("internal error: " + result.run.message);
        return kExitInternalError;
    }
    return kExitTestsFailed;
}

}  // namespace

int grade_solution(const GlobalOptions& global, const RunOptions& run, const std::string& tests_dir) {
    TestOptions opts;
    opts.run = run;
    opts.tests_dir = tests_dir;
    return test_command(global, opts);
}

void add_test_command(CLI::App& app, GlobalOptions& global) {
    auto opts = std::make_shared<TestOptions>();
    CLI::App* cmd = app.add_subcommand("test", "Compile a solution once and run it against a directory of tests");
    add_job_options(cmd, opts->run);
    cmd->add_option("-T,--tests", opts->tests_dir, "Directory of NAME.in / NAME.out pairs (and tests.toml)")
        ->required()
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--junit", opts->junit_file, "Also write a JUnit XML report to this file");
    cmd->add_option("--suite", opts->suite_name, "Test suite name in the JUnit report (default: the solution's path)");
    auto* tap_flag = cmd->add_flag("--tap", opts->tap, "Print TAP version 13 instead of the table");
    cmd->add_flag("--json", opts->run.json, "Print the result as JSON (the API's shape) instead of the table")
        ->excludes(tap_flag);
    cmd->add_flag("-x,--stop-on-failure", opts->stop_on_failure, "Skip the remaining tests after the first failure");
    cmd->callback([&global, opts]() { throw CLI::RuntimeError(test_command(global, *opts)); });
}

}  // namespace execd::cli
