// What a client can do to execd's HTTP side, tried over raw sockets against a
// real execd: bodies refused from their headers (no token, too large, over the
// buffer budget), stalled and slow requests, idle keep-alives, too many
// connections or long-polls; and what the CLI will talk to by default (only a
// root-owned unix socket served by root, never a TCP port it was not given).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "tests/daemon/daemon_fixture.h"
#include "tests/support.h"

using namespace execd::test;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

int connect_tcp(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One raw client connection.
class Raw {
public:
    explicit Raw(int port) : fd_(connect_tcp(port)) {}
    ~Raw() {
        if (fd_ >= 0) ::close(fd_);
    }
    Raw(const Raw&) = delete;
    Raw& operator=(const Raw&) = delete;
    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    // False once the server has closed or reset the connection.
    bool send(const std::string& data) {
        size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }

private:
    int fd_;
};

struct RawReply {
    int status = 0;       // 0: no response (yet)
    std::string text;     // what was read, headers and body
    bool closed = false;  // the server closed (or reset) the connection
    std::string body() const {
        auto end = text.find("\r\n\r\n");
        return end == std::string::npos ? std::string() : text.substr(end + 4);
    }
};

// Reads one final response (a "100 Continue" before it is skipped), waiting
// at most `timeout_ms` in all.
RawReply read_reply(int fd, int timeout_ms) {
    RawReply r;
    const auto give_up = steady_clock::now() + milliseconds(timeout_ms);
    std::string buf;
    for (;;) {
        // Is a whole response in?
        for (;;) {
            auto end = buf.find("\r\n\r\n");
            if (end == std::string::npos) break;
            if (buf.rfind("HTTP/1.1 100", 0) == 0 || buf.rfind("HTTP/1.0 100", 0) == 0) {
                buf.erase(0, end + 4);
                continue;
            }
            int status = buf.size() > 12 ? std::atoi(buf.c_str() + 9) : 0;
            size_t length = 0;
            std::string head = buf.substr(0, end);
            for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (auto at = head.find("content-length:"); at != std::string::npos)
                length = std::strtoull(head.c_str() + at + 15, nullptr, 10);
            if (buf.size() >= end + 4 + length) {
                r.status = status;
                r.text = buf.substr(0, end + 4 + length);
                return r;
            }
            break;
        }
        const auto left = duration_cast<milliseconds>(give_up - steady_clock::now()).count();
        if (left <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        char chunk[65536];
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            r.closed = true;
            break;
        }
        buf.append(chunk, static_cast<size_t>(n));
    }
    r.text = buf;
    return r;
}

// Peak resident memory of a process, in kB.
long vm_hwm_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}

std::string error_code(const RawReply& r) { return json_field(json_field(r.body(), "error"), "code"); }

const char* kBashJob = R"J({"language":"bash","code":"echo hi"})J";

std::string post_headers(const std::string& path, int64_t length, const std::string& extra = "") {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(length) + "\r\n" + extra + "\r\n";
}

}  // namespace

// ---------------------------------------------------------------------------
// Bodies are judged by their headers.

TEST_CASE("a 60 MB body without a valid token is refused from its headers and costs execd no memory", "[daemon]") {
    const std::string token = "hardening-test-token-0123456789";
    Execd execd({"--workers", "1", "--token", token});
    const int port = execd.port();
    // Warm up: the threads and buffers any request needs are made first.
    for (int i = 0; i < 3; ++i) {
        CHECK(http(port, "GET", "/healthz").status == 200);
        CHECK(http(port, "POST", "/v1/jobs", std::string(100000, 'x')).status == 401);
    }
    const long before = vm_hwm_kb(execd.pid());
    REQUIRE(before > 0);

    const int64_t size = int64_t{60} << 20;
    for (const std::string auth : {"", "Authorization: Bearer wrong-token-wrong-token-000\r\n"}) {
        INFO("auth header: " << auth);
        Raw c(port);
        REQUIRE(c.ok());
        REQUIRE(c.send(post_headers("/v1/jobs", size, auth)));
        // The answer comes before a byte of the body is sent.
        RawReply early = read_reply(c.fd(), 3000);
        CHECK(early.status == 401);
        RawReply reply = early;
        if (early.status == 0) {
            // Not answered from the headers: send the body, as a client would.
            const std::string mb(1 << 20, 'x');
            for (int64_t sent = 0; sent < size && c.send(mb); sent += mb.size()) {
            }
            reply = read_reply(c.fd(), 60000);
        }
        CHECK(reply.status == 401);
        CHECK(error_code(reply) == "unauthorized");
    }
    const long after = vm_hwm_kb(execd.pid());
    INFO("VmHWM before " << before << " kB, after " << after << " kB");
    CHECK(after - before < 2048);
    // The daemon still serves.
    CHECK(http(port, "GET", "/healthz").status == 200);
}

TEST_CASE("a body over body_max_bytes gets 413 from its headers; Expect: 100-continue is answered after the checks",
          "[daemon]") {
    const std::string token = "hardening-test-token-0123456789";
    Execd execd({"--workers", "1", "--token", token, "--body-max-bytes", "1048576"});
    const std::string auth = "Authorization: Bearer " + token + "\r\n";
    {
        Raw c(execd.port());
        REQUIRE(c.send(post_headers("/v1/jobs", 2 << 20, auth)));
        RawReply r = read_reply(c.fd(), 3000);
        CHECK(r.status == 413);
        CHECK(error_code(r) == "body_too_large");
        CHECK_THAT(r.text, Contains("Connection: close", Catch::CaseSensitive::No));
    }
    {
        // A refused request gets no 100 Continue, only the refusal.
        Raw c(execd.port());
        REQUIRE(c.send(post_headers("/v1/jobs", 100, "Expect: 100-continue\r\n")));
        RawReply r = read_reply(c.fd(), 3000);
        CHECK(r.status == 401);
        CHECK_THAT(r.text, !Contains("100 Continue"));
    }
    {
        // An accepted one is told to go on, then queued.
        Raw c(execd.port());
        const std::string body = kBashJob;
        REQUIRE(c.send(post_headers("/v1/jobs", static_cast<int64_t>(body.size()), auth + "Expect: 100-continue\r\n")));
        char buf[256];
        pollfd p{c.fd(), POLLIN, 0};
        REQUIRE(::poll(&p, 1, 3000) == 1);
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
        REQUIRE(n > 0);
        CHECK_THAT(std::string(buf, static_cast<size_t>(n)), Catch::Matchers::StartsWith("HTTP/1.1 100 Continue"));
        REQUIRE(c.send(body));
        RawReply r = read_reply(c.fd(), 10000);
        CHECK(r.status == 202);
    }
}

TEST_CASE("request bodies held at once are capped by buffer_max_bytes; over it, 503 at once", "[daemon]") {
    Execd execd({"--role", "api", "--body-max-bytes", "1048576", "--buffer-max-bytes", "2097152"});
    const int port = execd.port();
    // Two requests each announce 1 MiB and send half of it: the budget is spent.
    Raw a(port), b(port);
    const std::string half(512 << 10, ' ');
    REQUIRE(a.send(post_headers("/v1/jobs", 1 << 20) + half));
    REQUIRE(b.send(post_headers("/v1/jobs", 1 << 20) + half));
    std::this_thread::sleep_for(milliseconds(300));
    {
        Raw c(port);
        REQUIRE(c.send(post_headers("/v1/jobs", 1 << 20)));
        RawReply r = read_reply(c.fd(), 3000);
        CHECK(r.status == 503);
        CHECK(error_code(r) == "overloaded");
        CHECK_THAT(json_field(json_field(r.body(), "error"), "message"), Contains("2097152"));
    }
    // A finishes (a body of spaces is not JSON: 400), and its share comes back.
    REQUIRE(a.send(half));
    RawReply ra = read_reply(a.fd(), 10000);
    CHECK(ra.status == 400);
    {
        Raw d(port);
        REQUIRE(d.send(post_headers("/v1/jobs", 1 << 20) + half + half));
        RawReply r = read_reply(d.fd(), 10000);
        CHECK(r.status == 400);
    }
    // Requests without a body are never refused for the budget.
    CHECK(http(port, "GET", "/healthz").status == 200);
}

// ---------------------------------------------------------------------------
// Stalled requests, slow headers, idle connections, long-polls.

TEST_CASE("150 connections that send headers and no body starve neither /healthz nor a submission", "[daemon]") {
    Execd execd({"--workers", "1"});
    const int port = execd.port();
    struct Stalled {
        std::unique_ptr<Raw> c;
        std::string method;
        bool has_length;
        steady_clock::time_point sent;
    };
    std::vector<Stalled> stalled;
    const char* methods[] = {"POST", "PUT", "PATCH", "OPTIONS"};
    for (int i = 0; i < 150; ++i) {
        Stalled s{std::make_unique<Raw>(port), methods[i % 4], i % 2 == 0, {}};
        REQUIRE(s.c->ok());
        std::string head = s.method + " /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
        if (s.has_length) head += "Content-Length: 1000\r\n";
        REQUIRE(s.c->send(head + "\r\n"));
        s.sent = steady_clock::now();
        stalled.push_back(std::move(s));
    }
    {
        const auto t0 = steady_clock::now();
        Raw h(port);
        REQUIRE(h.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        RawReply r = read_reply(h.fd(), 5000);
        const auto took = steady_clock::now() - t0;
        CHECK(r.status == 200);
        CHECK(took < seconds(1));
    }
    {
        const auto t0 = steady_clock::now();
        Raw p(port);
        const std::string body = kBashJob;
        REQUIRE(p.send(post_headers("/v1/jobs", static_cast<int64_t>(body.size())) + body));
        RawReply r = read_reply(p.fd(), 5000);
        const auto took = steady_clock::now() - t0;
        INFO(r.text);
        CHECK(r.status == 202);
        CHECK(took < seconds(1));
    }
    // Each stalled request is answered in under 10 s: without a length, at
    // once (PUT is not allowed there, 405; OPTIONS has no body, 204), with
    // one, a timeout for a body that never comes (408).
    int answered = 0;
    for (auto& s : stalled) {
        const auto left = duration_cast<milliseconds>(s.sent + seconds(12) - steady_clock::now()).count();
        RawReply r = read_reply(s.c->fd(), static_cast<int>(std::max<int64_t>(left, 1)));
        const auto took = steady_clock::now() - s.sent;
        INFO(s.method << (s.has_length ? " with" : " without") << " Content-Length: " << r.text);
        const int expected = s.has_length ? 408 : s.method == "OPTIONS" ? 204 : 405;
        CHECK(r.status == expected);
        CHECK(took < seconds(10));
        answered += r.status == expected;
    }
    CHECK(answered == 150);
    CHECK(http(port, "GET", "/healthz").status == 200);
}

TEST_CASE("slow headers and idle keep-alive connections are cut off", "[daemon]") {
    Execd execd({"--role", "api", "--header-timeout-ms", "1000", "--keep-alive-ms", "1000"});
    const int port = execd.port();
    // A keep-alive connection, idle after one answer: closed by the server.
    {
        Raw c(port);
        REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        CHECK(read_reply(c.fd(), 3000).status == 200);
        const auto t0 = steady_clock::now();
        RawReply r = read_reply(c.fd(), 10000);
        CHECK(r.closed);
        CHECK(steady_clock::now() - t0 < seconds(10));
    }
    // Headers trickled one byte at a time, never finished: cut off.
    {
        Raw c(port);
        REQUIRE(c.send("GET /healthz HTTP/1.1\r\nX-Slow: "));
        const auto t0 = steady_clock::now();
        bool cut = false;
        while (!cut && steady_clock::now() - t0 < seconds(10)) {
            if (!c.send("a")) cut = true;
            pollfd p{c.fd(), POLLIN, 0};
            if (::poll(&p, 1, 200) == 1) cut = true;  // an answer (408) or the close
        }
        CHECK(cut);
    }
    CHECK(http(port, "GET", "/healthz").status == 200);
}

TEST_CASE("more connections than max_connections get a 503 JSON error at once", "[daemon]") {
    Execd execd({"--role", "api", "--max-connections", "8"});
    const int port = execd.port();
    std::vector<std::unique_ptr<Raw>> held;
    for (int i = 0; i < 8; ++i) {
        held.push_back(std::make_unique<Raw>(port));
        REQUIRE(held.back()->send(post_headers("/v1/jobs", 1000)));
    }
    std::this_thread::sleep_for(milliseconds(200));
    Raw extra(port);
    REQUIRE(extra.ok());
    RawReply r = read_reply(extra.fd(), 3000);
    CHECK(r.status == 503);
    CHECK(error_code(r) == "overloaded");
    CHECK_THAT(json_field(json_field(r.body(), "error"), "message"), Contains("8"));
    // The held requests time out (408), and the server takes connections again.
    for (auto& c : held) CHECK(read_reply(c->fd(), 15000).status == 408);
    held.clear();
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {
        served = http(port, "GET", "/healthz").status == 200;
        if (!served) std::this_thread::sleep_for(milliseconds(100));
    }
    CHECK(served);
}

TEST_CASE("long-polls beyond max_waiters answer at once with the current state", "[daemon]") {
    // An api node runs no jobs: what is submitted stays queued.
    Execd execd({"--role", "api", "--max-waiters", "2"});
    const int port = execd.port();
    auto submitted = http(port, "POST", "/v1/jobs", kBashJob);
    REQUIRE(submitted.status == 202);
    const std::string id = json_field(submitted.body, "jobId");
    std::vector<std::unique_ptr<Raw>> waiters;
    for (int i = 0; i < 2; ++i) {
        waiters.push_back(std::make_unique<Raw>(port));
        REQUIRE(waiters.back()->send("GET /v1/jobs/" + id + "?wait=8000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    }
    std::this_thread::sleep_for(milliseconds(300));
    const auto t0 = steady_clock::now();
    auto third = http(port, "GET", "/v1/jobs/" + id + "?wait=8000");
    CHECK(third.status == 200);
    CHECK(json_field(third.body, "status") == "queued");
    CHECK(steady_clock::now() - t0 < seconds(5));
    // The batch form too.
    auto batch = http(port, "GET", "/v1/jobs?ids=" + id + "&wait=8000");
    CHECK(batch.status == 200);
    CHECK(steady_clock::now() - t0 < seconds(10));
    // And a submission that would wait: queued, answered at once.
    const auto t1 = steady_clock::now();
    auto posted = http(port, "POST", "/v1/jobs?wait=8000", kBashJob);
    CHECK(posted.status == 202);
    CHECK(json_field(posted.body, "status") == "queued");
    CHECK(steady_clock::now() - t1 < seconds(5));
    // The first two are still waiting.
    for (auto& w : waiters) CHECK(read_reply(w->fd(), 100).status == 0);
    CHECK(http(port, "GET", "/healthz").status == 200);
}

// ---------------------------------------------------------------------------
// The CLI's choice of server.

namespace {

// A listener on a unix socket that answers whatever comes like a daemon
// would, and counts what it was sent.
class FakeUnixListener {
public:
    // Binds `path` as root; listens with effective uid `listen_euid`.
    FakeUnixListener(const std::string& path, uid_t listen_euid = 0) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        ::chmod(path.c_str(), 0666);
        // SO_PEERCRED reports the credentials listen() was called with. The
        // raw system call changes this thread only, and back.
        if (listen_euid != 0) REQUIRE(::syscall(SYS_setresuid, -1, listen_euid, -1) == 0);
        const int rc = ::listen(fd_, 16);
        if (listen_euid != 0) REQUIRE(::syscall(SYS_setresuid, -1, 0, -1) == 0);
        REQUIRE(rc == 0);
    }
    ~FakeUnixListener() { ::close(fd_); }
    // Bytes sent by every client that connected so far.
    size_t bytes_received() {
        size_t total = 0;
        for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
            char buf[4096];
            pollfd p{c, POLLIN, 0};
            while (::poll(&p, 1, 200) == 1) {
                ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                total += static_cast<size_t>(n);
            }
            ::close(c);
        }
        return total;
    }

private:
    int fd_ = -1;
};

std::string write_script(const std::string& dir) {
    const std::string file = dir + "/hello.sh";
    std::ofstream(file) << "echo hi\n";
    return file;
}

Process exec_with_socket(const std::string& socket_path, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/env",
                                  "-u",
                                  "EXEC_SERVER",
                                  "EXECD_SOCKET=" + socket_path,
                                  EXECD_EXEC_BINARY,
                                  "--languages",
                                  EXECD_SOURCE_DIR "/languages.toml"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
}

}  // namespace

TEST_CASE(
    "exec ignores a daemon socket that is not root's, lies in a directory others can write, or is served by "
    "a non-root process",
    "[cli]") {
    const std::string base = make_temp_dir("execd-fake-sock");
    const std::string script = write_script(base);
    struct Case {
        std::string name;
        mode_t dir_mode;
        uid_t socket_owner;
        uid_t listener_euid;
        std::string reason;
    };
    const std::vector<Case> cases{
        {"owned", 0755, 65534, 0, "not owned by root"},
        {"writable", 0777, 0, 0, "writable"},
        {"peer", 0755, 0, 65534, "not root"},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        const std::string dir = base + "/" + c.name;
        REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
        REQUIRE(::chmod(dir.c_str(), c.dir_mode) == 0);
        const std::string path = dir + "/api.sock";
        FakeUnixListener fake(path, c.listener_euid);
        if (c.socket_owner != 0) REQUIRE(::chown(path.c_str(), c.socket_owner, c.socket_owner) == 0);
        auto p = exec_with_socket(path, {"submit", script});
        INFO(p.out << p.err);
        CHECK(p.exit_code == 2);
        CHECK_THAT(p.err, Contains("needs a server"));
        CHECK_THAT(p.err, Contains(path) && Contains(c.reason));
        CHECK(fake.bytes_received() == 0);
    }
}

TEST_CASE("exec never contacts a listener on 127.0.0.1:3001 unless told to", "[cli]") {
    // In a network namespace of its own, a fake daemon answers on
    // 127.0.0.1:3001 and counts the connections exec makes to it.
    const std::string dir = make_temp_dir("execd-fake-tcp");
    const std::string script = write_script(dir);
    const std::string fake = R"PY(
import socket, subprocess, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 3001))
srv.listen(16)
srv.settimeout(0.1)
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
contacted = 0
deadline = time.time() + 60
while p.poll() is None and time.time() < deadline:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    contacted += 1
    c.settimeout(2)
    try:
        data = c.recv(65536)
    except Exception:
        data = b""
    body = b'{"status":"ok"}' if b"/healthz" in data else b'{"jobId":"forged","status":"queued"}'
    code = b"200 OK" if b"/healthz" in data else b"202 Accepted"
    c.sendall(b"HTTP/1.1 " + code + b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    c.close()
if p.poll() is None:
    p.kill()
out, err = p.communicate()
print("contacted", contacted)
print("exit", p.returncode)
print("out", out.decode(errors="replace").strip())
)PY";
    auto p = run_process({"/usr/bin/env", "-u", "EXEC_SERVER", "EXECD_SOCKET=" + dir + "/no-such.sock",
                          "/usr/bin/unshare", "--net", "--", "/bin/sh", "-c",
                          "/usr/sbin/ip link set lo up && exec /usr/bin/python3 -c \"$0\" \"$@\"", fake,
                          EXECD_EXEC_BINARY, "--languages", EXECD_SOURCE_DIR "/languages.toml", "submit", script});
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == 0);
    CHECK_THAT(p.out, Contains("contacted 0"));
    CHECK_THAT(p.out, Contains("exit 2"));
}

TEST_CASE("exec finds a real execd on its unix socket and uses it", "[daemon]") {
    const std::string dir = make_temp_dir("execd-sock");
    const std::string sock = dir + "/api.sock";
    const std::string script = write_script(dir);
    Execd execd({"--workers", "1", "--unix-socket", sock});
    struct stat st {};
    REQUIRE(::lstat(sock.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0666);  // any user may connect

    auto submitted = exec_with_socket(sock, {"submit", script});
    INFO(submitted.out << submitted.err);
    REQUIRE(submitted.exit_code == 0);
    const std::string id = submitted.out.substr(0, submitted.out.find('\n'));
    CHECK(id.size() == 32);
    // It is this execd's job.
    CHECK(http(execd.port(), "GET", "/v1/jobs/" + id).status == 200);
    auto waited = exec_with_socket(sock, {"wait", id});
    INFO(waited.err);
    CHECK(waited.exit_code == 0);
    CHECK(waited.out == "hi\n");
    // exec run goes through it too, and a unix socket can be named.
    auto run = exec_with_socket(sock, {"run", script});
    CHECK(run.exit_code == 0);
    CHECK(run.out == "hi\n");
    auto named = run_process({EXECD_EXEC_BINARY, "--server", "unix:" + sock, "status", id});
    INFO(named.err);
    CHECK(named.exit_code == 0);
    CHECK_THAT(named.out, Contains("completed"));
    CHECK(execd.stop(SIGTERM) == 0);
    // The socket goes with the daemon.
    CHECK(::access(sock.c_str(), F_OK) != 0);
}
