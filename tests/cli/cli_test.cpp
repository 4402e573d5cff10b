// The exec binary, run as a user would: output, exit status, stdin, errors,
// and nothing left behind.
#include <Poco/JSON/Parser.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/registry.h"
#include "core/sandbox/sandbox.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;

namespace {

const std::string kExec = EXECD_EXEC_BINARY;

std::string temp_file(const std::string& name, const std::string& content) {
    static const std::string dir = make_temp_dir("execd-cli");
    std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

Process exec_run(const std::vector<std::string>& args, const std::string& stdin_data = {}) {
    std::vector<std::string> argv{kExec};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, stdin_data);
}

}  // namespace

TEST_CASE("exec run prints the program's output and exits with its status", "[cli]") {
    auto p = exec_run({"run", EXECD_SOURCE_DIR "/examples/hello.py"});
    CHECK(p.out == "hello\n");
    CHECK(p.err.empty());
    CHECK(p.exit_code == 0);

    auto e = exec_run({"run", temp_file("exit3.py", "import sys\nprint('bye', file=sys.stderr)\nsys.exit(3)\n")});
    CHECK(e.exit_code == 3);
    CHECK_THAT(e.err, Contains("bye") && Contains("RuntimeError"));
}

TEST_CASE("exec run passes stdin and arguments", "[cli]") {
    auto p = exec_run({"run", temp_file("cat.py", "import sys\nprint(sys.argv[1:])\nprint(sys.stdin.read(), end='')\n"),
                       "--", "a", "b c"},
                      "one\ntwo\n");
    CHECK(p.exit_code == 0);
    CHECK(p.out == "['a', 'b c']\none\ntwo\n");
}

TEST_CASE("exec run limits and verdict lines", "[cli]") {
    auto tle = exec_run({"run", "--time", "500", temp_file("loop.py", "while True: pass\n")});
    CHECK(tle.exit_code == 124);
    CHECK_THAT(tle.err, Contains("TimeLimitExceeded"));
    auto mle = exec_run({"run", "--memory", "64", temp_file("mem.py", "b = b'x' * (200 << 20)\n")});
    CHECK(mle.exit_code == 137);
    CHECK_THAT(mle.err, Contains("MemoryLimitExceeded"));
    auto ole = exec_run({"run", "--output", "100", temp_file("out.py", "print('y' * 1000)\n")});
    CHECK(ole.exit_code == 153);
    CHECK(ole.out == std::string(100, 'y'));
    auto compile = exec_run({"run", temp_file("bad.c", "int main( { return 0; }\n")});
    CHECK(compile.exit_code != 0);
    CHECK_THAT(compile.err, Contains("CompileError") && Contains("error"));
}

TEST_CASE("exec run --json has the API's shape", "[cli]") {
    auto p = exec_run({"run", "--json", temp_file("four.py", "print(2 + 2)\n")});
    CHECK(p.exit_code == 0);
    Poco::JSON::Parser parser;
    auto obj = parser.parse(p.out).extract<Poco::JSON::Object::Ptr>();
    CHECK(obj->getValue<std::string>("status") == "completed");
    CHECK(obj->getValue<std::string>("verdict") == "OK");
    CHECK(obj->getValue<std::string>("output") == "4");
    CHECK(obj->getValue<std::string>("stdout") == "4\n");
    CHECK(obj->getValue<int>("exitCode") == 0);
    CHECK(obj->has("timeMs"));
    CHECK(obj->has("memoryKb"));
}

TEST_CASE("exec refuses bad input with a clear error", "[cli]") {
    auto unknown = exec_run({"run", temp_file("x.unknownext", "x")});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Contains("--lang"));
    auto bad_lang = exec_run({"run", "--lang", "klingon", temp_file("y.py", "print(1)")});
    CHECK(bad_lang.exit_code == 2);
    CHECK_THAT(bad_lang.err, Contains("klingon"));
    auto missing = exec_run({"run", "/nonexistent/file.py"});
    CHECK(missing.exit_code != 0);
    CHECK_THAT(missing.err, Contains("/nonexistent/file.py"));
    std::string bad =
        temp_file("bad.toml", "[language.x]\nname = \"X\"\nextensions = [\"x\"]\nsource = \"m\"\nrun = \"/bin/x\"\n");
    auto reg = exec_run({"--languages", bad, "languages"});
    CHECK(reg.exit_code == 2);
    CHECK_THAT(reg.err, Contains("bad.toml:5") && Contains("'run' must be an array"));
}

TEST_CASE("exec languages lists what is usable, and what provides what is not", "[cli]") {
    auto p = exec_run({"languages"});
    CHECK(p.exit_code == 0);
    CHECK_THAT(p.out, Contains("python") && Contains("yes") && Contains("Python 3."));

    const std::string file = temp_file(
        "missing-languages.toml",
        "[language.python]\nname = \"Python\"\nextensions = [\"py\"]\nsource = \"main.py\"\npackages = "
        "[\"python3\"]\nversion = [\"/usr/bin/python3\", \"--version\"]\nrun = [\"/usr/bin/python3\", \"main.py\"]\n"
        "[language.zz]\nname = \"Zed\"\nextensions = [\"zz\"]\nsource = \"m.zz\"\npackages = [\"zed-lang\", "
        "\"zed-libs\"]\ncompile = [\"/nonexistent/zedc\", \"m.zz\"]\nrun = [\"./m\"]\nlimits = { memory_mb = 64 }\n");
    auto table = exec_run({"--languages", file, "languages"});
    INFO(table.err);
    CHECK(table.exit_code == 0);
    CHECK_THAT(table.out, Contains("not installed (apt-get install zed-lang zed-libs)"));

    auto json = exec_run({"--languages", file, "languages", "--json"});
    INFO(json.err);
    REQUIRE(json.exit_code == 0);
    CHECK_THAT(json.out,
               Contains(R"("id":"python")") && Contains(R"("version":"Python 3.)") &&
                   Contains(R"("packages":["python3"])") &&
                   Contains(R"("limits":{"timeMs":3000,"cpuMs":3000,"memoryMb":128,"pids":50,"outputBytes":4096})"));
    CHECK_THAT(json.out, Contains(R"("id":"zz")") && Contains(R"("version":"","compiled":true,"usable":false)") &&
                             Contains(R"("packages":["zed-lang","zed-libs"])") && Contains(R"("memoryMb":64)") &&
                             Contains(R"("compileLimits":{"timeMs":15000)"));
}

TEST_CASE("exec keeps a parsed registry and reads an edited file anew", "[cli]") {
    const std::string state = make_temp_dir("execd-registry-snapshot");
    auto registry = [](const std::string& name) {
        return "[language.python]\nname = \"" + name +
               "\"\nextensions = [\"py\"]\nsource = \"main.py\"\nrun = [\"/usr/bin/python3\", \"main.py\"]\n";
    };
    const std::string file = temp_file("snapshot-languages.toml", registry("Alpha Snake"));
    auto languages = [&] { return exec_run({"--state-dir", state, "--languages", file, "languages"}); };

    auto first = languages();
    INFO(first.err);
    CHECK(first.exit_code == 0);
    CHECK_THAT(first.out, Contains("Alpha Snake"));
    // The parsed copy is kept in the compile cache's memo, root's only.
    const std::string memo = state + "/cache/memo";
    auto kept = [&] {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(memo))
            if (read_text(e.path()).rfind("execd-registry ", 0) == 0) names.push_back(e.path());
        return names;
    };
    REQUIRE(kept().size() == 1);
    struct stat st {};
    REQUIRE(stat(memo.c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 0077) == 0);
    CHECK_THAT(languages().out, Contains("Alpha Snake"));

    // Edited: the new text is parsed, never the old copy used.
    std::ofstream(file, std::ios::trunc) << registry("Beta Snake");
    auto edited = languages();
    CHECK_THAT(edited.out, Contains("Beta Snake") && !Contains("Alpha"));
    CHECK(kept().size() == 2);

    // A kept copy that is damaged is ignored: the file is parsed again.
    for (const auto& path : kept()) std::ofstream(path, std::ios::trunc) << "execd-registry 1\nbroken";
    CHECK_THAT(languages().out, Contains("Beta Snake"));
    // And a bad edit is still refused, naming the file and line.
    std::ofstream(file, std::ios::trunc) << registry("Gamma Snake") << "oops\n";
    auto bad = languages();
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.err, Contains("snapshot-languages.toml:6"));
}

TEST_CASE("exec reads the registry installed below its prefix, after /etc/execd/languages.toml", "[cli]") {
    // An installed tree, anywhere: <prefix>/bin/exec, <prefix>/share/execd/languages.toml.
    const std::string prefix = make_temp_dir("execd-prefix");
    std::filesystem::create_directories(prefix + "/bin");
    std::filesystem::create_directories(prefix + "/share/execd");
    const std::string copy = prefix + "/bin/exec", installed = prefix + "/share/execd/languages.toml";
    std::filesystem::copy_file(kExec, copy);
    std::ofstream(installed) << "[language.snake]\nname = \"Installed Snake\"\nextensions = [\"py\"]\n"
                                "source = \"main.py\"\nrun = [\"/usr/bin/python3\", \"main.py\"]\n";
    const std::string state = make_temp_dir("execd-installed-state");
    auto languages = [&](const std::string& env_languages) {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "EXECD_LANGUAGES"};
        if (!env_languages.empty()) argv.push_back("EXECD_LANGUAGES=" + env_languages);
        for (const std::string& a : {copy, std::string("--state-dir"), state, std::string("languages")})
            argv.push_back(a);
        return run_process(argv);
    };

    // The system's file comes first when there is one; else the installed copy.
    const bool system_file = ::access(execd::kSystemLanguagesFile, R_OK) == 0;
    auto found = languages("");
    INFO(found.err);
    CHECK(found.exit_code == 0);
    if (system_file) {
        CHECK_THAT(found.out, !Contains("Installed Snake"));
    } else {
        CHECK_THAT(found.out, Contains("Installed Snake") && !Contains("javascript"));
        // It is read, not passed over: a malformed one is refused by name.
        std::ofstream(installed, std::ios::app) << "oops\n";
        auto bad = languages("");
        CHECK(bad.exit_code == 2);
        CHECK_THAT(bad.err, Contains(installed + ":6"));
    }
    // $EXECD_LANGUAGES comes before both.
    auto named = languages(EXECD_SOURCE_DIR "/languages.toml");
    CHECK_THAT(named.out, Contains("javascript") && !Contains("Installed Snake"));
    // Without an installed copy (nor a system file), the built-in one.
    std::filesystem::remove(installed);
    if (!system_file) CHECK_THAT(languages("").out, Contains("javascript") && !Contains("Installed Snake"));
}

TEST_CASE("exec languages probes a toolchain's version once per binary, again after an upgrade", "[cli]") {
    const std::string state = make_temp_dir("execd-version-memo");
    const std::string dir = make_temp_dir("execd-version-probe");
    ::chmod(dir.c_str(), 0755);
    const std::string probe = dir + "/probe", count = dir + "/count";
    auto write_probe = [&](const std::string& version) {
        std::ofstream(probe, std::ios::trunc) << "#!/bin/sh\necho run >> " << count << "\necho '" << version << "'\n";
        ::chmod(probe.c_str(), 0755);
    };
    write_probe("Probe 1.0");
    const std::string file =
        temp_file("probe-languages.toml",
                  "[language.probed]\nname = \"Probed\"\nextensions = [\"prb\"]\nsource = \"main.prb\"\n"
                  "version = [\"" +
                      probe + "\"]\nrun = [\"/usr/bin/python3\", \"main.prb\"]\n");
    auto languages = [&] { return exec_run({"--state-dir", state, "--languages", file, "languages"}); };
    auto probes = [&] {
        const std::string text = read_text(count);
        return std::count(text.begin(), text.end(), '\n');
    };

    CHECK_THAT(languages().out, Contains("Probe 1.0"));
    CHECK(probes() == 1);
    CHECK_THAT(languages().out, Contains("Probe 1.0"));
    CHECK(probes() == 1);  // remembered
    // An upgrade rewrites the binary (size and mtime change): probed again.
    write_probe("Probe 2.0.1");
    CHECK_THAT(languages().out, Contains("Probe 2.0.1") && !Contains("Probe 1.0"));
    CHECK(probes() == 2);
    // Without the cache, every listing probes.
    CHECK_THAT(exec_run({"--state-dir", state, "--languages", file, "--no-cache", "languages"}).out,
               Contains("Probe 2.0.1"));
    CHECK(probes() == 3);
}

TEST_CASE("exec has no Poco; what needs a server continues in an exec-remote no one else could write", "[cli]") {
    // exec links neither Poco nor (static by default) any shared library.
    auto ldd = run_process({"/usr/bin/ldd", kExec});
    CHECK_THAT(ldd.out + ldd.err, !Contains("libPoco"));

    // A copy of exec without exec-remote runs here all the same.
    const std::string dir = make_temp_dir("execd-remote");
    ::chmod(dir.c_str(), 0755);
    const std::string copy = dir + "/exec";
    std::filesystem::copy_file(kExec, copy);
    const std::string script = temp_file("no-remote.py", "print('here, no exec-remote')\n");
    auto local = run_process({copy, "--warm", "0", "run", script});
    CHECK(local.exit_code == 0);
    CHECK(local.out == "here, no exec-remote\n");

    // A command that needs it says where it looked.
    const std::vector<std::string> status{copy, "--server", "unix:/nonexistent/execd.sock", "status", "x"};
    auto missing = run_process(status);
    CHECK(missing.exit_code != 0);
    CHECK_THAT(missing.err, Contains("exec-remote") && Contains("not there"));

    // One that others could have replaced is not used.
    const std::string remote = dir + "/exec-remote";
    std::filesystem::copy_file(std::filesystem::path(kExec).parent_path() / "exec-remote", remote);
    ::chmod(remote.c_str(), 0777);
    auto writable = run_process(status);
    CHECK(writable.exit_code != 0);
    CHECK_THAT(writable.err, Contains(remote + ": not used") && Contains("writable by others"));
    ::chmod(remote.c_str(), 0755);
    ::chmod(dir.c_str(), 0777);
    CHECK_THAT(run_process(status).err, Contains("not used") && Contains("writable by others"));

    // Root's, 0755, in a directory only root writes: used, and the command
    // goes on to the server (which is not there).
    ::chmod(dir.c_str(), 0755);
    auto used = run_process(status);
    CHECK(used.exit_code != 0);
    CHECK_THAT(used.err, !Contains("not used") && Contains("/nonexistent/execd.sock"));
    // --json needs the API's JSON: handed over too, and the job runs here.
    auto json = run_process({copy, "--warm", "0", "run", "--json", script});
    CHECK(json.exit_code == 0);
    CHECK_THAT(json.out, Contains("\"stdout\":\"here, no exec-remote\\n\""));

    // exec-remote takes no command from an exec of another version.
    auto other =
        run_process({"/usr/bin/env", "EXECD_HANDED_OVER_BY=0.0.0-other", remote, "--warm", "0", "run", script});
    CHECK(other.exit_code != 0);
    CHECK_THAT(other.err, Contains("exec 0.0.0-other") && Contains("one build"));
}

TEST_CASE("exec run leaves no process, cgroup, mount or file behind, nor does its warm sandbox once stopped", "[cli]") {
    // exec ran as this test process's instance (tests/main.cpp); its warm
    // sandboxes from earlier tests are stopped first.
    const std::string& instance = test_instance();
    const uid_t base = execd::instance_uid_base(instance);
    REQUIRE(exec_run({"warm", "--stop"}).exit_code == 0);
    auto nothing_left = [&] {
        CHECK(box_uid_processes(static_cast<int>(base), true).empty());
        CHECK(host_mounts_mentioning("/run/execd").empty());
        // The box cgroups below the instance's parent, and the parent: gone.
        for (const char* c : {"memory", "pids", "cpuacct"}) {
            const std::string parent = std::string("/sys/fs/cgroup/") + c + "/execd-" + instance;
            CHECK(access(parent.c_str(), F_OK) != 0);
            for (int slot = 0; slot < 8; ++slot)
                CHECK(access((parent + "/box-" + std::to_string(base + static_cast<uid_t>(slot))).c_str(), F_OK) != 0);
        }
        for (const auto& entry : std::filesystem::directory_iterator("/run/execd/locks"))
            CHECK_THAT(entry.path().filename().string(), !Contains("." + instance + "."));
    };
    const std::string bg =
        temp_file("bg.py", "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\nprint('done')\n");
    // In-process (--warm 0): all of it ends with exec.
    auto p = exec_run({"--warm", "0", "run", bg});
    CHECK(p.exit_code == 0);
    nothing_left();
    // Warm: the job's processes end with it; the rest when stopped.
    auto w = exec_run({"run", bg});
    CHECK(w.exit_code == 0);
    CHECK(box_uid_processes_after(static_cast<int>(base)).empty());
    CHECK_THAT(exec_run({"warm", "--stop"}).out, Contains("stopped the warm sandbox of instance " + instance));
    nothing_left();
}

TEST_CASE("exec --instance runs boxes in a uid range and cgroups of their own", "[cli]") {
    // The default engine's range starts at 61000; a named instance's does not,
    // and its box cgroups are below execd-NAME while it runs.
    const std::string name = "cli-" + std::to_string(getpid());
    const uid_t base = execd::instance_uid_base(name);
    CHECK(base != execd::instance_uid_base(""));
    CHECK(execd::instance_uid_base("") == 61000);
    const std::string script = temp_file("uid.py",
                                         "import os\n"
                                         "print(os.getuid())\n");
    auto p = exec_run({"--instance", name, "run", script});
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    const long uid = std::stol(p.out);
    CHECK(uid >= static_cast<long>(base));
    CHECK(uid < static_cast<long>(base) + 256);
    // Its warm sandbox is its own too.
    CHECK_THAT(exec_run({"--instance", name, "warm", "--stop"}).out,
               Contains("stopped the warm sandbox of instance " + name));
    // A name that could not be a cgroup's (or a file's) is refused, naming it.
    for (const char* command : {"run", "warm"}) {
        auto bad = exec_run({"--instance", "../x", command, script});
        if (std::string(command) == "warm") bad = exec_run({"--instance", "../x", "warm"});
        CHECK(bad.exit_code != 0);
        CHECK_THAT(bad.err, Contains("'../x' is not an instance name"));
    }
}
