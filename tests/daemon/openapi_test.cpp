// The API's contract: real execd processes are driven through every endpoint
// and every class of error they can produce, each response (status, headers,
// body) is recorded, and tests/api/validate_responses.py checks every one
// against the OpenAPI document execd serves at GET /v1/openapi.json.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "api/codec.h"
#include "core/util/base64.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

const char* kValidator = EXECD_SOURCE_DIR "/tests/api/validate_responses.py";
const char* kOrigin = "https://grader.example.com";
const char* kToken = "token-of-the-first-client-0001";
const char* kOtherToken = "token-of-the-second-client-002";
const char* kAdminToken = "token-of-the-administrator-03";

int connect_loopback(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (fd >= 0) ::close(fd);
        FAIL("cannot connect to 127.0.0.1:" << port << ": " << std::strerror(errno));
    }
    return fd;
}

void send_all(int fd, const std::string& data) {
    for (size_t off = 0; off < data.size();) {
        const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;  // the server stopped reading; its answer says why
        off += static_cast<size_t>(n);
    }
}

// What came back on one connection.
struct Exchange {
    int status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
};

// Reads until the server closes the connection (every request here says
// Connection: close, and execd closes after every error it answers from the
// headers), then splits the one response.
Exchange read_response(int fd) {
    std::string text;
    char buf[65536];
    // Only a guard against a hang: long-polls here wait 60 s at most.
    const auto give_up = steady_clock::now() + seconds(180);
    for (;;) {
        const auto left = duration_cast<milliseconds>(give_up - steady_clock::now()).count();
        if (left <= 0) FAIL("no end of the response after 180 s; so far: " << text);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    Exchange e;
    const auto end = text.find("\r\n\r\n");
    if (text.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) FAIL("not an HTTP response: '" << text << "'");
    e.status = std::atoi(text.c_str() + 9);
    std::istringstream head(text.substr(0, end));
    std::string line;
    std::getline(head, line);  // the status line
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto value = line.find_first_not_of(' ', colon + 1);
        e.headers[name] = value == std::string::npos ? "" : line.substr(value);
    }
    e.body = text.substr(end + 4);
    if (auto it = e.headers.find("content-length"); it != e.headers.end())
        e.body.resize(std::min(e.body.size(), static_cast<size_t>(std::stoull(it->second))));
    return e;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request as the tests send it.
struct Request {
    Request(std::string m, std::string t, std::string b = {}, Headers h = {}, std::string n = {})
        : method(std::move(m)), target(std::move(t)), body(std::move(b)), headers(std::move(h)), note(std::move(n)) {}
    std::string method;
    std::string target;
    std::string body;
    Headers headers;          // beyond Host, Connection and the body's
    std::string note;         // what the request exercises, for the validator's report
    bool send_length = true;  // Content-Length for a body, and for an empty POST, PUT or PATCH
    bool send_body = true;    // false: the headers only, as a client waiting for 100-continue would
};

Request without_length(Request r) {
    r.send_length = false;
    return r;
}

Request headers_only(Request r) {
    r.send_body = false;
    return r;
}

// Sends requests, records each response as a line of JSON for the
// validator, and counts the statuses seen.
class Recorder {
public:
    explicit Recorder(std::string path) : path_(std::move(path)) {}

    Exchange send(int port, const Request& r) {
        std::string text = r.method + " " + r.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
        bool has_type = false;
        for (const auto& [k, v] : r.headers) {
            text += k + ": " + v + "\r\n";
            has_type |= k == "Content-Type";
        }
        if (!r.body.empty() && !has_type) text += "Content-Type: application/json\r\n";
        const bool may_carry = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
        if (r.send_length && (!r.body.empty() || may_carry))
            text += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
        text += "\r\n";
        if (r.send_body) text += r.body;
        return raw(port, text, r);
    }

    // Sends `text` as it is (a malformed request, a partial one) and
    // records the response under r's method and target.
    Exchange raw(int port, const std::string& text, const Request& r, int pause_ms = 0) {
        const int fd = connect_loopback(port);
        send_all(fd, text);
        if (pause_ms) std::this_thread::sleep_for(milliseconds(pause_ms));
        Exchange e = read_response(fd);
        record(r, e);
        return e;
    }

    void record(const Request& r, const Exchange& e) {
        Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        o->set("method", r.method);
        o->set("target", r.target);
        o->set("status", e.status);
        Poco::JSON::Object::Ptr h = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        for (const auto& [k, v] : e.headers) h->set(k, v);
        o->set("headers", h);
        o->set("body", e.body);
        // What the server accepted, for the validator to hold against the
        // document's request schemas.
        if (e.status / 100 == 2 && !r.body.empty()) o->set("request", r.body);
        if (!r.note.empty()) o->set("note", r.note);
        std::ofstream(path_, std::ios::app) << execd::api::stringify(o) << "\n";
        statuses_.insert(e.status);
        ++count_;
    }

    const std::set<int>& statuses() const { return statuses_; }
    size_t count() const { return count_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::set<int> statuses_;
    size_t count_ = 0;
};

std::string error_code(const Exchange& e) { return json_field(json_field(e.body, "error"), "code"); }

// The first record of `records` for that request and status, changed by
// `spoil`, as a line.
std::string spoilt(const std::string& records, const std::string& method, const std::string& target, int status,
                   const std::function<void(Poco::JSON::Object&)>& spoil) {
    std::istringstream lines(read_text(records));
    for (std::string line; std::getline(lines, line);) {
        Poco::JSON::Object::Ptr r = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
        if (r->getValue<std::string>("method") != method || r->getValue<std::string>("target") != target ||
            r->getValue<int>("status") != status)
            continue;
        spoil(*r);
        return execd::api::stringify(r) + "\n";
    }
    FAIL("no " << method << " " << target << " answered " << status << " among the records");
    return {};
}

// GET /v1/jobs/{id}?wait= until the job has finished, each answer recorded.
Exchange wait_final(Recorder& rec, int port, const std::string& id, const Headers& headers = {}) {
    const auto give_up = steady_clock::now() + seconds(120);
    Exchange e;
    while (steady_clock::now() < give_up) {
        e = rec.send(port, {"GET", "/v1/jobs/" + id + "?wait=5000", "", headers});
        REQUIRE(e.status == 200);
        const std::string status = json_field(e.body, "status");
        if (status == "completed" || status == "cancelled") return e;
    }
    FAIL("job " << id << " did not finish: " << e.body);
    return e;
}

std::string submit(Recorder& rec, int port, const std::string& body, const std::string& note, Headers headers = {}) {
    Exchange e = rec.send(port, {"POST", "/v1/jobs", body, std::move(headers), note});
    INFO(note << ": " << e.body);
    REQUIRE(e.status == 202);
    return json_field(e.body, "jobId");
}

std::string bearer(const char* token) { return std::string("Bearer ") + token; }

}  // namespace

TEST_CASE("every response execd gives, for every endpoint and class of error, is as its OpenAPI document says",
          "[daemon]") {
    const std::string dir = make_temp_dir("execd-openapi");
    Recorder rec(dir + "/responses.jsonl");
    RedisServer redis;
    // A language whose run command cannot start: the engine's failure, an
    // InternalError (daemon_test.cpp does the same).
    const std::string languages = dir + "/languages.toml";
    std::ofstream(languages) << read_text(EXECD_SOURCE_DIR "/languages.toml")
                             << "\n[language.broken]\nname = \"Broken\"\nextensions = [\"broken\"]\n"
                                "source = \"main.broken\"\nrun = [\"./missing\"]\n";
    const std::string unknown_id = "0123456789abcdef0123456789abcdef";
    std::string document;
    std::string seed;  // the first job's id

    {
        Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--workers", "2", "--languages",
                     languages, "--attempts", "1", "--lease-ms", "1000", "--body-max-bytes", "100000", "--cors-origin",
                     kOrigin});
        const int port = execd.port();

        // The node itself.
        for (const char* path : {"/healthz", "/readyz", "/metrics", "/v1/languages"})
            CHECK(rec.send(port, {"GET", path, "", {{"X-Request-Id", "check-7"}}}).status == 200);
        const Exchange version = rec.send(port, {"GET", "/v1/version"});
        CHECK(version.status == 200);
        CHECK(json_field(version.body, "version") == EXECD_PROJECT_VERSION);
        const Exchange served = rec.send(port, {"GET", "/v1/openapi.json"});
        REQUIRE(served.status == 200);
        CHECK(served.headers.at("content-type") == "application/json");
        document = served.body;
        CHECK(json_field(json_field(document, "info"), "version") == EXECD_PROJECT_VERSION);
        CHECK(rec.send(port, {"GET", "/v1/languages", "", {{"Origin", kOrigin}}, "CORS"})
                  .headers.count("access-control-allow-origin") == 1);
        CHECK(rec.send(port, {"HEAD", "/healthz"}).status == 405);
        CHECK(rec.send(port, {"DELETE", "/metrics"}).status == 405);
        CHECK(rec.send(port, {"POST", "/v1/languages", "{}"}).status == 405);
        CHECK(rec.send(port, {"PUT", "/v1/openapi.json", "{}"}).status == 405);
        CHECK(rec.send(port, {"GET", "/v2/jobs"}).status == 404);
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + unknown_id + "/more"}).status == 404);
        for (const char* path : {"/healthz", "/v1/jobs", "/v1/jobs/batch", "/v1/version", "/v1/openapi.json"})
            CHECK(rec.send(port, {"OPTIONS", path}).status == 204);
        const Exchange preflight = rec.send(port, {"OPTIONS",
                                                   "/v1/jobs/" + unknown_id,
                                                   "",
                                                   {{"Origin", kOrigin},
                                                    {"Access-Control-Request-Method", "DELETE"},
                                                    {"Access-Control-Request-Headers", "authorization"}},
                                                   "CORS preflight"});
        CHECK(preflight.status == 204);
        CHECK(preflight.headers.count("access-control-allow-methods") == 1);
        CHECK(rec.send(port, {"OPTIONS", "/nowhere"}).status == 404);

        // Jobs: every verdict that is cheap to produce, and the documents
        // around them.
        std::vector<std::pair<std::string, std::string>> jobs;  // id, what
        auto job = [&](const std::string& body, const std::string& what, Headers headers = {}) {
            jobs.emplace_back(submit(rec, port, body, what, std::move(headers)), what);
        };
        job(R"J({"language":"python","code":"print(2 + 2)","priority":10,"timeoutMs":3000,"metadata":{}})J",
            "the seed's example", {{"X-Request-Id", "seed-request-1"}});
        job(R"J({"language":"python","code":"import sys\nprint(input(), sys.argv[1:])","stdin":"x\n","args":["a"],)J"
            R"J("priority":5,"cpuMs":2000,"memoryMb":128,"pids":20,"outputBytes":4096,)J"
            R"J("metadata":{"user":"ada","n":[1,2.5,null,true],"nested":{"k":"\u00e9"}}})J",
            "stdin, args, every limit, metadata");
        job(R"J({"language":"c","code":"#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"})J",
            "a compiled language: compile and cached");
        job(R"J({"language":"c","code":"int main( {"})J", "CompileError");
        job(R"J({"language":"python","code":"import sys\nsys.exit(3)"})J", "RuntimeError");
        job(R"J({"language":"python","code":"import sys\nsys.stdout.buffer.write(b'\\xff\\n')"})J",
            "output that is not UTF-8");
        job(R"J({"language":"python","code":"while True: pass","timeoutMs":500})J", "TimeLimitExceeded");
        job(R"J({"language":"python","code":"chunks = [b'x' * (1 << 20) for _ in range(1024)]","memoryMb":64})J",
            "MemoryLimitExceeded");
        job(R"J({"language":"python","code":"print('x' * 100000)","outputBytes":1000})J", "OutputLimitExceeded");
        job(R"J({"language":"python","code":"import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n)J"
            R"J(        pass\n","pids":8,"timeoutMs":1500})J",
            "ProcessLimitExceeded");
        job(R"J({"language":"python","code":"print(int(input()) * 2)","checker":{"type":"tokens"},"stopOnFailure":true,)J"
            R"J("tests":[{"name":"one","stdin":"1\n","expectedOutput":"2\n"},{"name":"two","stdin":"2\n",)J"
            R"J("expectedOutput":"5\n"},{"stdin":"3\n","expectedOutput":"6\n","args":["x"],"timeoutMs":2000,)J"
            R"J("memoryMb":64}]})J",
            "WrongAnswer, then Skipped");
        job(R"J({"language":"python","code":"print(input())","tests":[{"stdin":"1\n","expectedOutput":"1\n"},)J"
            R"J({"stdin":"2\n","expectedOutput":"3\n"}],"checker":{"type":"program","language":"python",)J"
            R"J("timeoutMs":2000,"memoryMb":64,"code":"import sys\nprint('looked')\n)J"
            R"J(sys.exit(0 if open(sys.argv[2]).read() == open(sys.argv[3]).read() else 3)\n"}})J",
            "a checker program's comment, then CheckerError");
        job(R"J({"language":"python","code":"print(3.141592)","tests":[{"expectedOutput":"3.14159\n"}],)J"
            R"J("checker":{"type":"float","absTolerance":0.001,"relTolerance":0}})J",
            "the float checker");
        job(R"J({"language":"python","files":[{"name":"main.py","content":"from lib import util\nprint(util.x)"},)J"
            R"J({"name":"lib/util.py","content":"x = 5"}]})J",
            "several files");
        job(R"J({"language":"python","encoding":"base64","code":")J" + execd::base64_encode("print('hi')") +
                R"J(","stdin":""})J",
            "base64");
        job(R"J({"language":"broken","code":"x"})J", "InternalError");
        for (const auto& [id, what] : jobs) {
            INFO(what);
            const Exchange done = wait_final(rec, port, id);
            CHECK(json_field(done.body, "status") == "completed");
        }
        const std::map<std::string, std::string> verdicts{
            {"CompileError", "CompileError"},
            {"RuntimeError", "RuntimeError"},
            {"TimeLimitExceeded", "TimeLimitExceeded"},
            {"MemoryLimitExceeded", "MemoryLimitExceeded"},
            {"OutputLimitExceeded", "OutputLimitExceeded"},
            {"ProcessLimitExceeded", "ProcessLimitExceeded"},
            {"WrongAnswer, then Skipped", "WrongAnswer"},
            {"a checker program's comment, then CheckerError", "CheckerError"},
            {"InternalError", "InternalError"},
        };
        for (const auto& [id, what] : jobs) {
            const Exchange e = rec.send(port, {"GET", "/v1/jobs/" + id, "", {}, what});
            const auto it = verdicts.find(what);
            INFO(what << ": " << e.body);
            CHECK(json_field(e.body, "verdict") == (it == verdicts.end() ? "OK" : it->second));
        }
        seed = jobs[0].first;
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + seed}).status == 409);

        // A running graded job, its progress, and cancelling it.
        const std::string slow = submit(
            rec, port,
            R"J({"language":"python","code":"import time\ntime.sleep(1)\nprint(input())","tests":[)J"
            R"J({"stdin":"1\n","expectedOutput":"1\n"},{"stdin":"2\n","expectedOutput":"2\n"},)J"
            R"J({"stdin":"3\n","expectedOutput":"3\n"},{"stdin":"4\n","expectedOutput":"4\n"}],"timeoutMs":5000})J",
            "a graded job to cancel while it runs");
        // Until a test has finished (each takes a second), or it is over.
        Exchange running;
        for (const auto give_up = steady_clock::now() + seconds(60); steady_clock::now() < give_up;) {
            running = rec.send(port, {"GET", "/v1/jobs/" + slow});
            const std::string status = json_field(running.body, "status");
            if ((status == "running" && !json_field(running.body, "testsDone").empty()) || status == "completed") break;
            std::this_thread::sleep_for(milliseconds(50));
        }
        INFO(running.body);
        REQUIRE(json_field(running.body, "status") == "running");
        CHECK(json_field(running.body, "testsTotal") == "4");
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + slow}).status == 202);
        CHECK(json_field(wait_final(rec, port, slow).body, "status") == "cancelled");

        // Batches and lookups.
        const Exchange batch = rec.send(
            port, {"POST", "/v1/jobs/batch",
                   R"J({"jobs":[{"language":"python","code":"print(6 * 7)"},{"language":"bash","code":"echo hi",)J"
                   R"J("metadata":{"i":1}}]})J"});
        REQUIRE(batch.status == 202);
        std::vector<std::string> batch_ids;
        for (size_t at = 0; (at = batch.body.find("\"jobId\":\"", at)) != std::string::npos; at += 9)
            batch_ids.push_back(batch.body.substr(at + 9, 32));
        REQUIRE(batch_ids.size() == 2);
        const std::string ids = batch_ids[0] + "," + unknown_id + ",not-an-id," + batch_ids[1] + "," + batch_ids[0];
        CHECK(rec.send(port, {"GET", "/v1/jobs?ids=" + ids + "&wait=60000"}).status == 200);
        CHECK(rec.send(port, {"GET", "/v1/jobs?ids=" + ids}).status == 200);
        CHECK(rec.send(port, {"GET", "/v1/jobs?ids=" + seed + "," + slow}).status == 200);
        std::string too_many = "a";
        for (int i = 0; i < 100; ++i) too_many += ",a";
        for (const std::string& target :
             std::vector<std::string>{"/v1/jobs", "/v1/jobs?ids=", "/v1/jobs?ids=a,,b", "/v1/jobs?ids=" + too_many,
                                      "/v1/jobs?ids=a&wait=soon"}) {
            const Exchange e = rec.send(port, {"GET", target});
            CHECK(e.status == 400);
            CHECK(error_code(e) == "invalid_field");
        }
        const std::string ok_job = R"J({"language":"python","code":"1"})J";
        for (const std::string& body :
             std::vector<std::string>{"{}", R"J({"jobs":[]})J", R"J({"jobs":5})J", R"J({"jobs":[5]})J",
                                      R"J({"jobs":[)J" + ok_job + R"J(,{"language":"klingon","code":"x"}]})J",
                                      R"J({"jobs":[)J" + ok_job + R"J(],"more":1})J"}) {
            const Exchange e = rec.send(port, {"POST", "/v1/jobs/batch", body});
            CHECK(e.status == 400);
            CHECK(error_code(e) == "invalid_field");
        }
        CHECK(rec.send(port, {"POST", "/v1/jobs/batch", "[1]"}).status == 400);
        CHECK(rec.send(port, {"POST", "/v1/jobs/batch", ok_job, {{"Content-Type", "text/plain"}}}).status == 415);

        // Refused submissions.
        for (const std::string& body : std::vector<std::string>{"{not json", "[1,2]", "{\"a\":\"\xff\"}"}) {
            const Exchange e = rec.send(port, {"POST", "/v1/jobs", body});
            CHECK(e.status == 400);
            CHECK(error_code(e) == "invalid_json");
        }
        for (const std::string& body : std::vector<std::string>{
                 R"J({"language":"klingon","code":"x"})J",
                 R"J({"code":"x"})J",
                 R"J({"language":"python","code":"x","timeoutMs":999999})J",
                 R"J({"language":"python","code":"x","timeoutMs":2.5})J",
                 R"J({"language":"python","code":"x","colour":"blue"})J",
                 R"J({"language":"python","code":"x","files":[{"name":"main.py","content":"x"}]})J",
                 R"J({"language":"python","code":"x","stdin":"1","tests":[{"stdin":"1"}]})J",
                 R"J({"language":"python","code":"x","checker":{"type":"exact"}})J",
                 R"J({"language":"python","code":"x","tests":[{"stdin":5}]})J",
                 R"J({"language":"python","code":"x","metadata":[]})J",
                 R"J({"language":"python","code":"!!!","encoding":"base64"})J",
             }) {
            const Exchange e = rec.send(port, {"POST", "/v1/jobs", body});
            INFO(body << " -> " << e.body);
            CHECK(e.status == 400);
            CHECK(error_code(e) == "invalid_field");
        }
        CHECK(rec.send(port, {"POST", "/v1/jobs", ok_job, {{"Content-Type", "text/plain"}}}).status == 415);
        // Submit and wait in one request: finished in time (200), not (202),
        // a wait that is no number (400).
        CHECK(rec.send(port, {"POST", "/v1/jobs?wait=30000", ok_job, {}, "submit and wait"}).status == 200);
        CHECK(rec.send(port, {"POST",
                              "/v1/jobs?wait=300",
                              R"J({"language":"python","code":"import time\ntime.sleep(1)"})J",
                              {},
                              "a wait that runs out"})
                  .status == 202);
        CHECK(rec.send(port, {"POST", "/v1/jobs?wait=soon", ok_job}).status == 400);
        CHECK(rec.send(port, without_length({"POST", "/v1/jobs", "", {}, "no Content-Length"})).status == 411);
        CHECK(rec.send(port, without_length({"POST", "/nowhere", "", {}, "no Content-Length"})).status == 411);
        CHECK(rec.send(port, without_length({"PUT", "/v1/jobs", "", {}, "no Content-Length"})).status == 405);
        CHECK(rec.send(port, headers_only({"POST", "/v1/jobs", std::string(200000, ' '), {}, "over body_max_bytes"}))
                  .status == 413);
        CHECK(rec.send(port, {"PUT", "/v1/jobs"}).status == 405);
        CHECK(rec.send(port, {"GET", "/v1/jobs/batch"}).status == 405);
        CHECK(rec.send(port, {"POST", "/v1/jobs/" + seed}).status == 405);
        CHECK(rec.send(port, {"PATCH", "/v1/jobs/" + seed}).status == 405);
        for (const std::string& target : std::vector<std::string>{"/v1/jobs/" + unknown_id, "/v1/jobs/NOT-A-JOB-ID",
                                                                  "/v1/jobs/" + unknown_id + "?wait=100"})
            CHECK(rec.send(port, {"GET", target}).status == 404);
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + unknown_id}).status == 404);
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + seed + "?wait=-1"}).status == 400);

        // Malformed requests, answered before any handler.
        CHECK(rec.raw(port, "GET /healthz HTTPS/1.1\r\nHost: x\r\n\r\n",
                      {"GET", "/healthz", "", {}, "a malformed request line"})
                  .status == 400);
        CHECK(rec.raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n" + std::string(300, 'X') + ": 1\r\n\r\n",
                      {"GET", "/healthz", "", {}, "a header name too long"})
                  .status == 400);
        CHECK(rec.raw(port, "GET /v1/jobs/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                      {"GET", "/v1/jobs/%zz", "", {}, "a request target that is no URI"})
                  .status == 400);
        CHECK(rec.raw(port, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n",
                      {"POST", "/v1/jobs", "", {}, "a Content-Length that is no number"})
                  .status == 400);

        // Draining: a job runs, SIGTERM; the node refuses new work until it ends.
        const std::string last =
            submit(rec, port, R"J({"language":"python","code":"import time\ntime.sleep(30)","timeoutMs":30000})J",
                   "a sleeper");
        Exchange state;
        for (const auto give_up = steady_clock::now() + seconds(60); steady_clock::now() < give_up;) {
            state = rec.send(port, {"GET", "/v1/jobs/" + last});
            if (json_field(state.body, "status") != "queued") break;
            std::this_thread::sleep_for(milliseconds(20));
        }
        REQUIRE(json_field(state.body, "status") == "running");
        ::kill(execd.pid(), SIGTERM);
        Exchange ready;
        for (const auto give_up = steady_clock::now() + seconds(60); steady_clock::now() < give_up;) {
            ready = rec.send(port, {"GET", "/readyz"});
            if (ready.status == 503) break;
            std::this_thread::sleep_for(milliseconds(20));
        }
        CHECK(error_code(ready) == "draining");
        CHECK(rec.send(port, {"POST", "/v1/jobs", ok_job}).status == 503);
        CHECK(rec.send(port, {"POST", "/v1/jobs/batch", R"J({"jobs":[)J" + ok_job + "]}"}).status == 503);
        // Cancelled, the sleeper lets the drain end at once.
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + last}).status == 202);
        CHECK(execd.stop(SIGTERM) == 0);
    }

    {
        // Tokens, queued jobs that never run (no workers), a full queue, a
        // full Redis and no Redis.
        RedisServer own;
        Execd execd({"--redis", own.url(), "--key-prefix", unique_prefix(), "--role", "api", "--token", kToken,
                     "--token", kOtherToken, "--admin-token", kAdminToken, "--queue-max", "2", "--queue-max-bytes",
                     "200000"});
        const int port = execd.port();
        const Headers mine{{"Authorization", bearer(kToken)}};
        const Headers theirs{{"X-Auth-Token", kOtherToken}};
        const Headers admin{{"Authorization", bearer(kAdminToken)}};
        for (const char* path : {"/v1/languages", "/v1/version", "/metrics", "/v1/jobs?ids=a"})
            CHECK(rec.send(port, {"GET", path, "", {}, "no token"}).status == 401);
        // The contract is public: a client reads it before it has a token.
        CHECK(rec.send(port, {"GET", "/v1/openapi.json", "", {}, "no token"}).status == 200);
        CHECK(rec.send(port, {"GET", "/v1/languages", "", {{"Authorization", "Bearer not-a-token-at-all"}}}).status ==
              401);
        CHECK(
            rec.send(
                   port,
                   headers_only(
                       {"POST", "/v1/jobs", R"J({"language":"python","code":"1"})J", {}, "no token, the body unsent"}))
                .status == 401);
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + unknown_id, "", theirs}).status == 404);
        CHECK(rec.send(port, {"GET", "/v1/openapi.json", "", mine}).status == 200);
        CHECK(rec.send(port, {"GET", "/healthz"}).status == 200);
        CHECK(rec.send(port, {"GET", "/readyz"}).status == 200);
        CHECK(rec.send(port, {"OPTIONS", "/v1/jobs", "", {}, "no token"}).status == 204);

        auto with = [](Headers h, const char* k, const char* v) {
            h.emplace_back(k, v);
            return h;
        };
        const std::string first = submit(rec, port, R"J({"language":"python","code":"print(1)","metadata":{"a":1}})J",
                                         "queued for good", with(mine, "X-Request-Id", "first-job"));
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + first, "", mine}).status == 200);
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + first, "", admin}).status == 200);
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + first, "", theirs}).status == 404);
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + first, "", theirs}).status == 404);
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + first + "?wait=300", "", mine, "?wait= runs out"}).status == 200);
        CHECK(rec.send(port, {"GET", "/v1/jobs?ids=" + first + "," + first + "&wait=300", "", mine, "?wait= runs out"})
                  .status == 200);
        CHECK(rec.send(port, {"GET", "/v1/jobs?ids=" + first, "", theirs}).status == 200);
        const std::string second = submit(rec, port, R"J({"language":"python","code":"print(2)"})J", "second", mine);
        const Exchange full = rec.send(port, {"POST", "/v1/jobs", R"J({"language":"python","code":"3"})J", mine});
        CHECK(full.status == 429);
        CHECK(rec.send(port, {"POST", "/v1/jobs/batch", R"J({"jobs":[{"language":"python","code":"3"}]})J", mine})
                  .status == 429);
        const std::string huge = R"J({"language":"python","code":"# )J" + std::string(250000, 'x') + R"J("})J";
        const Exchange too_large = rec.send(port, {"POST", "/v1/jobs", huge, mine});
        CHECK(too_large.status == 413);
        CHECK(error_code(too_large) == "too_large");
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + first, "", mine}).status == 200);
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + first, "", mine}).status == 200);
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + first, "", mine}).status == 409);
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + second, "", admin}).status == 200);

        // Redis at its maxmemory: any write is refused.
        own.command({"CONFIG", "SET", "maxmemory", "1"});
        const Exchange oom = rec.send(port, {"POST", "/v1/jobs", R"J({"language":"python","code":"4"})J", mine});
        CHECK(oom.status == 507);
        CHECK(rec.send(port, {"POST", "/v1/jobs/batch", R"J({"jobs":[{"language":"python","code":"4"}]})J", mine})
                  .status == 507);
        own.command({"CONFIG", "SET", "maxmemory", "0"});

        // No Redis at all.
        own.stop();
        CHECK(rec.send(port, {"GET", "/readyz"}).status == 503);
        // This node's own figures are still served; execd_redis_up says 0.
        const Exchange gone = rec.send(port, {"GET", "/metrics", "", mine});
        CHECK(gone.status == 200);
        CHECK_THAT(gone.body, Contains("\nexecd_redis_up 0\n"));
        CHECK(gone.body.find("execd_cluster_") == std::string::npos);
        CHECK(rec.send(port, {"POST", "/v1/jobs", R"J({"language":"python","code":"5"})J", mine}).status == 503);
        CHECK(rec.send(port, {"GET", "/v1/jobs/" + first, "", mine}).status == 503);
        CHECK(rec.send(port, {"GET", "/v1/jobs?ids=" + first, "", mine}).status == 503);
        CHECK(rec.send(port, {"DELETE", "/v1/jobs/" + first, "", mine}).status == 503);
        CHECK(execd.stop(SIGTERM) == 0);
    }

    {
        // An expired job, timeouts and a connection too many.
        Execd execd({"--redis", redis.url(), "--key-prefix", unique_prefix(), "--role", "api", "--queue-ttl", "1",
                     "--max-connections", "2", "--header-timeout-ms", "1000", "--body-timeout-ms", "1000"});
        const int port = execd.port();
        const std::string id = submit(rec, port, R"J({"language":"python","code":"print(1)"})J", "left to expire");
        const Exchange expired = wait_final(rec, port, id);
        CHECK(json_field(expired.body, "reason") == "expired");

        const Exchange slow_headers = rec.raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n",
                                              {"GET", "/healthz", "", {}, "headers that never end"});
        CHECK(slow_headers.status == 408);
        const Exchange slow_body =
            rec.raw(port,
                    "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
                    "\r\n{\"language\"",
                    {"POST", "/v1/jobs", "", {}, "a body that never ends"});
        CHECK(slow_body.status == 408);

        // Two connections open (and silent), the next is refused at once.
        const int held[] = {connect_loopback(port), connect_loopback(port)};
        const Exchange refused = rec.raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                         {"GET", "/healthz", "", {}, "one connection over max_connections"});
        for (int fd : held) ::close(fd);
        CHECK(refused.status == 503);
        CHECK(error_code(refused) == "overloaded");
        CHECK(execd.stop(SIGTERM) == 0);
    }

    // Every class of answer came up.
    for (int status : {200, 202, 204, 400, 401, 404, 405, 408, 409, 411, 413, 415, 429, 503, 507}) {
        INFO("status " << status);
        CHECK(rec.statuses().count(status) == 1);
    }

    const std::string served = dir + "/openapi.json";
    std::ofstream(served) << document;
    const Process valid = run_process({"/usr/bin/python3", kValidator, served, rec.path()});
    INFO(valid.out << valid.err);
    REQUIRE(valid.exit_code == 0);
    CHECK_THAT(valid.out, Contains(std::to_string(rec.count()) + " of " + std::to_string(rec.count())));

    // The validator is no rubber stamp: it refuses responses that are not as
    // documented, and a document that is not OpenAPI 3.1.
    {
        // Four real responses, each spoilt in one way.
        const std::string broken = dir + "/broken.jsonl";
        std::ofstream out(broken);
        out << spoilt(rec.path(), "GET", "/v1/jobs/" + seed, 200, [](Poco::JSON::Object& r) {
            r.set("body", "{\"colour\":\"blue\"," + r.getValue<std::string>("body").substr(1));
        });
        out << spoilt(rec.path(), "GET", "/healthz", 200, [](Poco::JSON::Object& r) { r.set("status", 418); });
        out << spoilt(rec.path(), "POST", "/v1/jobs", 202,
                      [](Poco::JSON::Object& r) { r.set("body", std::string("{\"status\":\"queued\"}")); });
        out << spoilt(rec.path(), "GET", "/v1/version", 200, [](Poco::JSON::Object& r) {
            r.getObject("headers")->set("content-type", std::string("text/html"));
        });
        out.close();
        const Process invalid = run_process({"/usr/bin/python3", kValidator, served, broken});
        INFO(invalid.out << invalid.err);
        CHECK(invalid.exit_code == 1);
        CHECK_THAT(invalid.out, Contains("0 of 4 responses are as documented"));
        CHECK_THAT(invalid.out, Contains("'colour' was unexpected"));
        CHECK_THAT(invalid.out, Contains("the status 418 is not documented"));
        CHECK_THAT(invalid.out, Contains("'jobId' is a required property"));
        CHECK_THAT(invalid.out, Contains("the Content-Type 'text/html' is not documented"));
    }
    {
        const std::string old = dir + "/openapi-3.0.json";
        std::string text = document;
        const auto at = text.find("\"openapi\":\"3.1.");
        REQUIRE(at != std::string::npos);
        text.replace(at, 15, "\"openapi\":\"3.0.");
        std::ofstream(old) << text;
        const Process invalid = run_process({"/usr/bin/python3", kValidator, old, rec.path()});
        INFO(invalid.out << invalid.err);
        CHECK(invalid.exit_code == 2);
        CHECK_THAT(invalid.out, Contains("not a sound OpenAPI 3.1 document"));
    }
}
