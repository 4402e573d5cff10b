// Full disks: Redis's directory, the compile cache and the sandbox's work
// area, each on a small filesystem that the test fills. Each test makes its
// filesystem as a tmpfs in a mount namespace of the process that uses it
// (on_small_filesystem) and fills it through /proc/<pid>/root.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

std::string c_program(const std::string& says) {
    return R"J({"language":"c","code":"#include <stdio.h>\nint main(void) { puts(\")J" + says +
           R"J(\"); return 0; }\n"})J";
}

// Writes <dir>/filler until the filesystem has no room left; returns its size.
int64_t fill(const std::string& dir) {
    const std::string path = dir + "/filler";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    int64_t total = 0;
    for (size_t chunk : {size_t{1} << 16, size_t{4096}, size_t{1}}) {
        const std::string bytes(chunk, 'x');
        for (;;) {
            ssize_t n = ::write(fd, bytes.data(), bytes.size());
            if (n > 0) {
                total += n;
                continue;
            }
            REQUIRE(errno == ENOSPC);
            break;
        }
    }
    ::close(fd);
    return total;
}

void unfill(const std::string& dir) { REQUIRE(::unlink((dir + "/filler").c_str()) == 0); }

// Every name below `dir` (recursively) that starts with "tmp.".
std::vector<std::string> temporaries(const std::string& dir) {
    std::vector<std::string> found;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return found;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (name.rfind("tmp.", 0) == 0) found.push_back(dir + "/" + name);
        if (e->d_type == DT_DIR)
            for (auto& f : temporaries(dir + "/" + name)) found.push_back(std::move(f));
    }
    ::closedir(d);
    return found;
}

// One node whose work area is an 8 MB tmpfs, and that area's path from here:
// execd mounts it at <sandbox dir>/ns in its own mount namespace.
struct SmallWorkArea {
    RedisServer redis;
    std::string sandbox = make_temp_dir("execd-sandbox");
    Execd execd{std::vector<std::string>{"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1",
                                         "--sandbox-dir", sandbox, "--work-area-mb", "8", "--attempts", "2",
                                         "--backoff-ms", "100"}};
    std::string area = "/proc/" + std::to_string(execd.pid()) + "/root" + sandbox + "/ns";
};

}  // namespace

TEST_CASE(
    "Redis's disk fills: submissions get 507 saying so, a finished job's result waits for room, and all resumes "
    "by itself with nothing lost, run twice or corrupted",
    "[daemon]") {
    auto redis = RedisServer::on_small_disk(4096);
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--workers", "1", "--lease-ms", "2000"});
    const int port = execd.port();

    // A job running when the disk fills, which ends while it is full.
    const std::string held = submit(port, python_job("import time\ntime.sleep(2)\nprint('held')"));
    REQUIRE(wait_running(port, held));
    REQUIRE(fill(redis.data_dir()) > 0);

    // Redis learns that the disk is full when it next writes its file (with
    // fsync every second, up to 2 s later): the submissions until then are
    // taken in, kept in memory and written once there is room; then every
    // one is refused.
    std::vector<std::string> accepted;
    HttpReply refused;
    for (int i = 0; i < 100 && refused.status != 507; ++i) {
        auto r = http(port, "POST", "/v1/jobs", python_job("print('later')"));
        if (r.status == 202)
            accepted.push_back(json_field(r.body, "jobId"));
        else
            refused = r;
        std::this_thread::sleep_for(milliseconds(100));
    }
    INFO(refused.body);
    REQUIRE(refused.status == 507);
    CHECK(error_field(refused.body, "code") == "insufficient_storage");
    CHECK_THAT(error_field(refused.body, "message"),
               Contains("cannot write to its disk") && Contains("nothing was queued"));
    INFO(accepted.size() << " taken in before Redis refused");
    CHECK(http(port, "GET", "/v1/jobs/" + held).status == 200);  // reads go on

    // The running job has ended by now (it slept 2 s), its lease has run
    // out by the clock (2 s): its result waits in the worker, and nobody
    // can requeue it, since Redis takes no write.
    std::this_thread::sleep_for(milliseconds(4500));
    CHECK(redis.command({"HGET", prefix + "job:" + held, "status"}).string == "running");
    CHECK_THAT(read_text(execd.log_path()), Contains("Redis cannot persist"));

    // Room again: Redis writes again by itself, and so does everything else.
    unfill(redis.data_dir());
    auto done = wait_done(port, held);
    INFO(done.body);
    CHECK(json_field(done.body, "output") == "held");
    CHECK(redis.command({"HGET", prefix + "job:" + held, "attempts"}).string == "1");  // recorded, not run again
    for (const auto& id : accepted) CHECK(json_field(wait_done(port, id).body, "output") == "later");
    const std::string after = submit(port, python_job("print('after')"));
    CHECK(json_field(wait_done(port, after).body, "output") == "after");

    // Nothing corrupted: the data, reloaded from the append-only file as it
    // is on disk, holds every job as it ended.
    CHECK_THAT(redis.command({"INFO", "persistence"}).string, Contains("aof_last_write_status:ok"));
    REQUIRE(redis.command({"DEBUG", "LOADAOF"}).string == "OK");
    std::vector<std::string> all = accepted;
    all.push_back(held);
    all.push_back(after);
    for (const auto& id : all) {
        INFO(id);
        CHECK(redis.command({"HGET", prefix + "job:" + id, "status"}).string == "completed");
    }
    CHECK(redis.command({"HGET", prefix + "stats", "status:completed"}).string == std::to_string(all.size()));
    CHECK(redis.command({"ZCARD", prefix + "running"}).integer == 0);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE(
    "the compile cache's disk fills: compiled jobs still run, nothing half-written stays, and caching resumes "
    "when room returns",
    "[daemon]") {
    RedisServer redis;
    const std::string cache = make_temp_dir("execd-small-cache");
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "1", "--cache-dir", cache},
                false, on_small_filesystem(cache, 2048));
    const int port = execd.port();
    const std::string seen = "/proc/" + std::to_string(execd.pid()) + "/root" + cache;
    REQUIRE(fill(seen) > 0);

    for (int i = 0; i < 2; ++i) {
        auto done = wait_done(port, submit(port, c_program("full")));
        INFO(done.body);
        CHECK(json_field(done.body, "verdict") == "OK");
        CHECK(json_field(done.body, "output") == "full");
        CHECK(json_field(done.body, "cached") == "false");  // it could not be kept
    }
    CHECK(temporaries(seen).empty());

    unfill(seen);
    auto first = wait_done(port, submit(port, c_program("room")));
    CHECK(json_field(first.body, "output") == "room");
    CHECK(json_field(first.body, "cached") == "false");
    auto second = wait_done(port, submit(port, c_program("room")));
    CHECK(json_field(second.body, "output") == "room");
    CHECK(json_field(second.body, "cached") == "true");
    CHECK(temporaries(seen).empty());
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE(
    "the sandbox's work area fills: a job whose files do not fit ends as an InternalError saying so; jobs run "
    "again once room returns",
    "[daemon]") {
    SmallWorkArea node;
    Execd& execd = node.execd;
    const std::string& area = node.area;
    const int port = execd.port();
    struct statvfs st {};
    REQUIRE(::statvfs(area.c_str(), &st) == 0);
    CHECK(st.f_blocks * st.f_frsize == 8 << 20);
    REQUIRE(fill(area) > 0);

    for (const std::string& body : {python_job("print('no room')"), c_program("no room")}) {
        auto squeezed = wait_done(port, submit(port, body));
        INFO(squeezed.body);
        CHECK(json_field(squeezed.body, "verdict") == "InternalError");
        CHECK_THAT(json_field(squeezed.body, "message"), Contains("work area") && Contains("full"));
    }
    CHECK_THAT(read_text(execd.log_path()), Contains("work area"));

    unfill(area);
    for (const std::string& body : {python_job("print('room')"), c_program("room")}) {
        auto again = wait_done(port, submit(port, body));
        INFO(again.body);
        CHECK(json_field(again.body, "verdict") == "OK");
        CHECK(json_field(again.body, "output") == "room");
    }
    // Nothing of the squeezed jobs stays in the work area.
    REQUIRE(::statvfs(area.c_str(), &st) == 0);
    CHECK(st.f_bfree + 16 >= st.f_blocks);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE(
    "a compiler that finds the work area full ends the job as an InternalError saying so; a compile error that "
    "only says the words stays a CompileError",
    "[daemon]") {
    SmallWorkArea node;
    Execd& execd = node.execd;
    const std::string& area = node.area;
    const int port = execd.port();
    // Room for the source, not for the program the linker writes (4 MB of
    // data, no hole in it); the compiler's own /tmp is a tmpfs of the step's.
    const int64_t filled = fill(area);
    REQUIRE(filled > 0);
    REQUIRE(::truncate((area + "/filler").c_str(), filled - (512 << 10)) == 0);
    const std::string big =
        R"J({"language":"c","code":"#include <stdio.h>\n__asm__(\".data\\n.globl big\\nbig: .fill 4194304, 1, 7)J"
        R"J(\\n.text\\n\");\nextern char big[];\nint main(void) { printf(\"%d\\n\", big[0] + big[4194303]); )J"
        R"J(return 0; }\n"})J";
    auto squeezed = wait_done(port, submit(port, big));
    INFO(squeezed.body);
    CHECK(json_field(squeezed.body, "verdict") == "InternalError");
    CHECK_THAT(json_field(squeezed.body, "message"), Contains("work area is full") && Contains("No space left"));

    // Room again: the same program compiles and runs, and a compile error
    // that only says the words is the program's.
    unfill(area);
    auto again = wait_done(port, submit(port, big));
    INFO(again.body);
    CHECK(json_field(again.body, "verdict") == "OK");
    CHECK(json_field(again.body, "output") == "14");
    const std::string words = R"J({"language":"c","code":"#error No space left on device\n"})J";
    auto error = wait_done(port, submit(port, words));
    INFO(error.body);
    CHECK(json_field(error.body, "verdict") == "CompileError");
    CHECK(execd.stop(SIGTERM) == 0);
}
