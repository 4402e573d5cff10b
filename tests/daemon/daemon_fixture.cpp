#include "tests/daemon/daemon_fixture.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support.h"

namespace execd::test {

using namespace std::chrono;

int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

namespace {

// Starts `args` with its output appended to `log`. The child dies with
// the thread that started it (PR_SET_PDEATHSIG): a test process that fails,
// throws or is killed leaves no redis-server or execd running.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);  // the parent is already gone
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

int wait_exit(pid_t pid, int timeout_s) {
    const auto give_up = steady_clock::now() + seconds(timeout_s);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (steady_clock::now() > give_up) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::vector<std::string> on_small_filesystem(const std::string& dir, int64_t kb) {
    // util-linux's unshare runs the shell in a new mount namespace, whose
    // mounts stay private to it; the shell mounts and execs the command.
    return {"/usr/bin/unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            "mount -t tmpfs -o size=" + std::to_string(kb) + "k,mode=0755 execd-small \"$0\" && exec \"$@\"",
            dir};
}

RedisServer::RedisServer(bool append_only) : RedisServer(append_only, 0) {}

RedisServer::RedisServer(bool append_only, int64_t disk_kb)
    : port_(free_port()), aof_(append_only), disk_kb_(disk_kb), dir_(make_temp_dir("execd-redis")) {
    start();
}

RedisServer RedisServer::on_small_disk(int64_t disk_kb) { return RedisServer(true, disk_kb); }

std::string RedisServer::data_dir() const {
    return disk_kb_ > 0 ? "/proc/" + std::to_string(pid_) + "/root" + dir_ : dir_;
}

RedisServer::~RedisServer() { stop(); }

void RedisServer::start() {
    // A second server on the same port would fail to bind while the first
    // ran on, unowned.
    if (pid_ > 0) throw std::logic_error("RedisServer::start: already running (stop() it first)");
    std::vector<std::string> argv;
    if (disk_kb_ > 0) argv = on_small_filesystem(dir_, disk_kb_);
    argv.insert(argv.end(), {"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
                             "", "--appendonly", aof_ ? "yes" : "no", "--dir", dir_, "--daemonize", "no"});
    if (disk_kb_ > 0) argv.insert(argv.end(), {"--appendfsync", "everysec", "--enable-debug-command", "local"});
    // The log is opened before the small filesystem covers dir_.
    pid_ = spawn(argv, dir_ + "/log");
    for (int i = 0; i < 500; ++i) {
        try {
            daemon::RedisConnection c(url());
            if (c.command({"PING"}).string == "PONG") return;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
}

void RedisServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    wait_exit(pid_, 20);
    pid_ = -1;
}

daemon::Reply RedisServer::command(const std::vector<std::string>& args) {
    daemon::RedisConnection c(url());
    return c.command(args);
}

Execd::Execd(std::vector<std::string> args, bool worker_only, std::vector<std::string> wrapper)
    : dir_(make_temp_dir("execd-daemon")) {
    log_ = dir_ + "/log";
    const std::string port_file = dir_ + "/port";
    std::vector<std::string> argv = std::move(wrapper);
    argv.insert(argv.end(), {EXECD_DAEMON_BINARY, "--listen", "127.0.0.1:0", "--port-file", port_file});
    bool has_state = false, has_languages = false, has_cache = false, has_socket = false;
    for (const auto& a : args) {
        has_socket |= a == "--unix-socket";
        has_state |= a == "--state-dir";
        has_languages |= a == "--languages";
        has_cache |= a == "--cache-dir";
    }
    // A private compile cache: what one test compiled never hides another's compile.
    if (!has_cache) {
        argv.push_back("--cache-dir");
        argv.push_back(dir_ + "/cache");
    }
    // A private API socket: never the host's /run/execd/api.sock.
    if (!has_socket) {
        argv.push_back("--unix-socket");
        argv.push_back(dir_ + "/api.sock");
    }
    if (!has_languages) {
        argv.push_back("--languages");
        argv.push_back(EXECD_SOURCE_DIR "/languages.toml");
    }
    if (!has_state) {
        argv.push_back("--state-dir");
        argv.push_back(dir_ + "/state");
    }
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn(argv, log_);
    const auto give_up = steady_clock::now() + seconds(60);
    while (steady_clock::now() < give_up) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("execd exited at start-up: " + read_text(log_));
        }
        if (worker_only) {
            if (read_text(log_).find("workers started") != std::string::npos) return;
        } else {
            std::string text = read_text(port_file);
            if (!text.empty() && text.back() == '\n') {
                port_ = std::stoi(text);
                return;
            }
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    throw std::runtime_error("execd did not start listening: " + read_text(log_));
}

Execd::~Execd() {
    // Politely first: a killed execd leaves its box cgroups for the next
    // execd process to clean up.
    if (pid_ > 0 && stop(SIGTERM) < 0) stop(SIGKILL);
}

int Execd::stop(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int rc = wait_exit(pid_, 60);
    pid_ = -1;
    return rc;
}

namespace {

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace

HttpReply http(int port, const std::string& method, const std::string& path, const std::string& body,
               const std::map<std::string, std::string>& headers) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(120, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) req.set(k, v);
    // A method that may carry a body says how long it is, even when empty
    // (execd answers 411 otherwise).
    if (!body.empty() || (method != "GET" && method != "HEAD" && method != "DELETE"))
        req.setContentLength(static_cast<std::streamsize>(body.size()));
    // A large body waits for the go-ahead (as curl's does): a refusal from
    // the headers (401, 413, 503) is read, not a reset connection.
    const bool large = body.size() > (size_t{64} << 10);
    if (large) req.setExpectContinue(true);
    std::ostream& request_body = session.sendRequest(req);
    Poco::Net::HTTPResponse res;
    if (!large || session.peekResponse(res)) request_body << body;
    std::istream& in = session.receiveResponse(res);
    HttpReply out;
    out.status = res.getStatus();
    for (const auto& [name, value] : res) out.headers[lower(name)] = value;
    Poco::StreamCopier::copyToString(in, out.body);
    return out;
}

std::string HttpReply::header(const std::string& name) const {
    auto it = headers.find(lower(name));
    return it == headers.end() ? "" : it->second;
}

std::string json_field(const std::string& body, const std::string& field) {
    try {
        Poco::JSON::Parser parser;
        auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
        if (!obj->has(field)) return {};
        auto v = obj->get(field);
        if (v.isEmpty()) return "null";
        if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
            std::ostringstream out;
            v.extract<Poco::JSON::Object::Ptr>()->stringify(out);
            return out.str();
        }
        return v.convert<std::string>();
    } catch (const std::exception&) {
        return "<not json: " + body + ">";
    }
}

std::string unique_prefix() {
    static std::mt19937_64 rng{std::random_device{}()};
    // Appended to a named string, not `"t" + ...`: GCC 12 at -O3 warns
    // (-Wrestrict) about the operator+ overload on a literal.
    std::string prefix = "t";
    prefix += std::to_string(rng() % 1000000000);
    prefix += ':';
    return prefix;
}

int port_of(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

std::string error_field(const std::string& body, const std::string& key) {
    return json_field(json_field(body, "error"), key);
}

std::string job_json(const std::string& language, const std::string& code, const std::string& extra) {
    std::string escaped;
    for (char c : code) {
        if (c == '"' || c == '\\') escaped += '\\';
        if (c == '\n') {
            escaped += "\\n";
            continue;
        }
        escaped += c;
    }
    return R"J({"language":")J" + language + R"J(","code":")J" + escaped + "\"" + extra + "}";
}

std::string python_job(const std::string& code, const std::string& extra) { return job_json("python", code, extra); }

std::string submit(int port, const std::string& body) {
    const HttpReply r = http(port, "POST", "/v1/jobs", body);
    if (r.status != 202) throw std::runtime_error("POST /v1/jobs answered " + std::to_string(r.status) + ": " + r.body);
    return json_field(r.body, "jobId");
}

bool wait_running(int port, const std::string& id, int seconds) {
    const auto give_up = steady_clock::now() + std::chrono::seconds(seconds);
    while (json_field(http(port, "GET", "/v1/jobs/" + id).body, "status") != "running") {
        if (steady_clock::now() >= give_up) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

HttpReply wait_done(int port, const std::string& id, int seconds) {
    const auto give_up = steady_clock::now() + std::chrono::seconds(seconds);
    HttpReply r;
    while (steady_clock::now() < give_up) {
        r = http(port, "GET", "/v1/jobs/" + id + "?wait=5000");
        const std::string status = json_field(r.body, "status");
        if (status == "completed" || status == "cancelled") return r;
    }
    throw std::runtime_error("job " + id + " did not finish in " + std::to_string(seconds) + " s: " + r.body);
}

}  // namespace execd::test
