// Jobs belong to the token that created them, and tokens can be given
// without putting them in argv: a real redis-server and real execd processes.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

const std::string kAlice = "alice-token-0123456789abcdef";
const std::string kBob = "bob-token-0123456789abcdef";
const std::string kAdmin = "admin-token-0123456789abcdef";
const char* kPrint = R"J({"language":"python","code":"print(1)"})J";

std::map<std::string, std::string> as(const std::string& token) {
    return {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
}

std::string submit_as(int port, const std::string& token, const std::string& body = kPrint) {
    auto r = http(port, "POST", "/v1/jobs", body, as(token));
    INFO(r.body);
    REQUIRE(r.status == 202);
    return json_field(r.body, "jobId");
}

// The "status" of each element of a GET /v1/jobs?ids= answer, in order.
std::vector<std::string> statuses(const std::string& body) {
    Poco::JSON::Parser parser;
    auto list = parser.parse(body).extract<Poco::JSON::Object::Ptr>()->getArray("jobs");
    REQUIRE(list);
    std::vector<std::string> out;
    for (size_t i = 0; i < list->size(); ++i)
        out.push_back(list->getObject(static_cast<unsigned int>(i))->getValue<std::string>("status"));
    return out;
}

// Every string Redis holds under `prefix`: key names, and the fields and
// values of hashes, strings, lists and sorted sets.
std::string everything_stored(RedisServer& redis, const std::string& prefix) {
    std::string all;
    for (const auto& key : redis.command({"KEYS", prefix + "*"}).elements) {
        all += key.string + "\n";
        const std::string type = redis.command({"TYPE", key.string}).string;
        execd::daemon::Reply r;
        if (type == "hash")
            r = redis.command({"HGETALL", key.string});
        else if (type == "string")
            r = redis.command({"GET", key.string});
        else if (type == "list")
            r = redis.command({"LRANGE", key.string, "0", "-1"});
        else if (type == "zset")
            r = redis.command({"ZRANGE", key.string, "0", "-1"});
        all += r.string + "\n";
        for (const auto& e : r.elements) all += e.string + "\n";
    }
    return all;
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
}

}  // namespace

TEST_CASE("with tokens on, a job belongs to its token: another token gets 404 on GET, ?ids=, ?wait and DELETE",
          "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    // No workers: every job stays queued, so what is seen is ownership alone.
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api", "--token", kAlice, "--token", kBob});
    const int port = execd.port();
    const std::string alices = submit_as(port, kAlice);
    const std::string bobs = submit_as(port, kBob);

    // Alice sees her job; Bob does not, by any road.
    CHECK(json_field(http(port, "GET", "/v1/jobs/" + alices, {}, as(kAlice)).body, "status") == "queued");
    auto get = http(port, "GET", "/v1/jobs/" + alices, {}, as(kBob));
    INFO(get.body);
    CHECK(get.status == 404);
    CHECK(error_field(get.body, "code") == "not_found");
    // A long-poll on someone else's job is refused at once, not after the wait.
    const auto t0 = steady_clock::now();
    auto waited = http(port, "GET", "/v1/jobs/" + alices + "?wait=3000", {}, as(kBob));
    CHECK(waited.status == 404);
    CHECK(steady_clock::now() - t0 < milliseconds(2500));
    auto batch = http(port, "GET", "/v1/jobs?ids=" + alices + "," + bobs, {}, as(kBob));
    CHECK(batch.status == 200);
    CHECK(statuses(batch.body) == std::vector<std::string>{"unknown", "queued"});
    CHECK(statuses(http(port, "GET", "/v1/jobs?ids=" + alices + "," + bobs, {}, as(kAlice)).body) ==
          std::vector<std::string>{"queued", "unknown"});
    auto cancel = http(port, "DELETE", "/v1/jobs/" + alices, {}, as(kBob));
    CHECK(cancel.status == 404);
    CHECK(error_field(cancel.body, "code") == "not_found");
    // Bob's attempt changed nothing: the job is still Alice's, still queued.
    CHECK(redis.command({"HGET", prefix + "job:" + alices, "status"}).string == "queued");
    CHECK(http(port, "DELETE", "/v1/jobs/" + alices, {}, as(kAlice)).status == 200);
    CHECK(json_field(http(port, "GET", "/v1/jobs/" + alices, {}, as(kAlice)).body, "status") == "cancelled");
    CHECK(http(port, "GET", "/v1/jobs/" + alices, {}, as(kBob)).status == 404);

    // What ties a job to its token is derived from it, never the token itself.
    const std::string stored = everything_stored(redis, prefix);
    CHECK(stored.find(kAlice) == std::string::npos);
    CHECK(stored.find(kBob) == std::string::npos);
    const std::string alice_owner = redis.command({"HGET", prefix + "job:" + alices, "owner"}).string;
    const std::string bob_owner = redis.command({"HGET", prefix + "job:" + bobs, "owner"}).string;
    CHECK(alice_owner.size() >= 16);
    CHECK(bob_owner.size() >= 16);
    CHECK(alice_owner != bob_owner);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("an admin token sees and cancels every job; ordinary tokens still see only their own", "[daemon]") {
    RedisServer redis;
    const std::string prefix = unique_prefix();
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api", "--token", kAlice, "--token", kBob,
                 "--admin-token", kAdmin});
    const int port = execd.port();
    const std::string alices = submit_as(port, kAlice);
    const std::string bobs = submit_as(port, kBob);
    const std::string admins = submit_as(port, kAdmin);

    CHECK(json_field(http(port, "GET", "/v1/jobs/" + alices, {}, as(kAdmin)).body, "status") == "queued");
    CHECK(statuses(http(port, "GET", "/v1/jobs?ids=" + alices + "," + bobs + "," + admins, {}, as(kAdmin)).body) ==
          std::vector<std::string>{"queued", "queued", "queued"});
    // The admin's own job is not Alice's.
    CHECK(http(port, "GET", "/v1/jobs/" + admins, {}, as(kAlice)).status == 404);
    CHECK(http(port, "DELETE", "/v1/jobs/" + admins, {}, as(kBob)).status == 404);
    // A bounded long-poll by the admin on Alice's job waits and answers.
    auto waited = http(port, "GET", "/v1/jobs/" + alices + "?wait=300", {}, as(kAdmin));
    CHECK(waited.status == 200);
    CHECK(json_field(waited.body, "status") == "queued");
    auto cancel = http(port, "DELETE", "/v1/jobs/" + bobs, {}, as(kAdmin));
    CHECK(cancel.status == 200);
    CHECK(json_field(http(port, "GET", "/v1/jobs/" + bobs, {}, as(kBob)).body, "status") == "cancelled");
    // Without a token, or with a wrong one, nothing changes: 401.
    CHECK(http(port, "GET", "/v1/jobs/" + alices).status == 401);
    CHECK(http(port, "DELETE", "/v1/jobs/" + alices, {}, as("not-a-token-0123456789")).status == 401);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("without tokens every client sees every job, as before", "[daemon]") {
    RedisServer redis;
    Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--role", "api"});
    auto r = http(execd.port(), "POST", "/v1/jobs", kPrint);
    REQUIRE(r.status == 202);
    const std::string id = json_field(r.body, "jobId");
    CHECK(json_field(http(execd.port(), "GET", "/v1/jobs/" + id).body, "status") == "queued");
    CHECK(http(execd.port(), "DELETE", "/v1/jobs/" + id).status == 200);
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("execd --token-file and EXECD_TOKENS: tokens that are not in argv", "[daemon]") {
    RedisServer redis;
    const std::string dir = make_temp_dir("execd-tokens");
    const std::string file = write_file(
        dir, "tokens", "# API tokens, one a line\n\n  " + kAlice + "  \r\n# " + kBob + " is commented out\n", 0600);
    const std::string admin_file = write_file(dir, "admin", kAdmin + "\n", 0644);
    const std::string prefix = unique_prefix();
    ::setenv("EXECD_TOKENS", ("env-token-0123456789abcdef, " + kBob).c_str(), 1);
    Execd execd({"--redis", redis.url(), "--key-prefix", prefix, "--role", "api", "--token-file", file,
                 "--admin-token-file", admin_file});
    ::unsetenv("EXECD_TOKENS");
    const int port = execd.port();
    const std::string alices = submit_as(port, kAlice);
    submit_as(port, kBob);
    submit_as(port, "env-token-0123456789abcdef");
    CHECK(http(port, "GET", "/v1/jobs/" + alices, {}, as(kAdmin)).status == 200);
    CHECK(http(port, "POST", "/v1/jobs", kPrint).status == 401);
    CHECK(http(port, "POST", "/v1/jobs", kPrint, as("# API tokens, one a line")).status == 401);
    // The admin file is readable by others: the log says so, naming the file
    // but never a token.
    const std::string log = read_text(execd.log_path());
    CHECK_THAT(log, Contains(admin_file + " is readable by group or others"));
    CHECK(log.find(kAdmin) == std::string::npos);
    CHECK(log.find(kAlice) == std::string::npos);
    CHECK_THAT(log, !Contains(file + " is readable"));  // the 0600 file draws no warning

    // The exec CLI reads its token from a file too.
    const std::string mine = write_file(dir, "mine", "# mine\n" + kAlice + "\n", 0600);
    const std::string server = "--server=http://127.0.0.1:" + std::to_string(port);
    auto ok = run_process({EXECD_EXEC_BINARY, "status", alices, server, "--token-file", mine});
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Contains("queued"));
    auto denied = run_process({EXECD_EXEC_BINARY, "status", alices, server});
    CHECK(denied.exit_code != 0);
    CHECK_THAT(denied.err, Contains("401"));
    auto missing = run_process({EXECD_EXEC_BINARY, "status", alices, server, "--token-file", dir + "/none"});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Contains(dir + "/none"));
    CHECK(execd.stop(SIGTERM) == 0);
}

TEST_CASE("a bad token file stops execd with the file and line", "[daemon]") {
    const std::string dir = make_temp_dir("execd-badtokens");
    const std::string file = write_file(dir, "tokens", "# ok\nfine-token-0123456789abcdef\nshort\n", 0600);
    auto p = run_process({EXECD_DAEMON_BINARY, "--state-dir", dir + "/state", "--role", "api", "--token-file", file});
    CHECK(p.exit_code == 2);
    CHECK_THAT(p.err, Contains(file + ":3") && Contains("16 characters"));
    CHECK(p.err.find("fine-token") == std::string::npos);
    auto spaced = run_process({EXECD_DAEMON_BINARY, "--state-dir", dir + "/state", "--role", "api", "--token-file",
                               write_file(dir, "spaced", "two words-0123456789abcdef\n", 0600)});
    CHECK(spaced.exit_code == 2);
    CHECK_THAT(spaced.err, Contains(dir + "/spaced:1"));
    auto none = run_process(
        {EXECD_DAEMON_BINARY, "--state-dir", dir + "/state", "--role", "api", "--token-file", dir + "/absent"});
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Contains(dir + "/absent"));
}
