#include "daemon/http_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "api/api_error.h"
#include "api/codec.h"
#include "core/util/files.h"
#include "daemon/handlers/handlers.h"
#include "daemon/logging.h"
#include "daemon/redis.h"

namespace execd::daemon {
namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

bool same_token(const std::string& a, const std::string& b) {
    // Constant time in the token's length: no early exit on a mismatch.
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

class Connection;

// One listening socket: its own thread pool and its own connection count,
// so a flood on TCP cannot take the unix socket's threads.
struct Listener {
    std::string name;
    bool monitor = false;  // [server] monitor_listen: health checks and metrics only
    int max_connections = 0;
    std::atomic<int> connections{0};  // admitted and not yet finished
    std::atomic<int64_t> last_refusal_log{0};
    std::unique_ptr<Poco::ThreadPool> pool;  // outlives the server
    std::unique_ptr<Poco::Net::TCPServer> server;
};

}  // namespace

struct HttpServer::State {
    explicit State(ServerContext& c) : ctx(c) {}
    ServerContext& ctx;
    std::atomic<int64_t> buffered{0};  // request body bytes held, all requests together
    std::atomic<int> waiters{0};       // long-polls waiting now
    std::atomic<bool> stopping{false};
    std::mutex mutex;  // guards live and wake
    std::condition_variable wake;
    std::set<Connection*> live;  // connections with a thread, for the watchdog
    std::thread watchdog;
    std::vector<std::unique_ptr<Listener>> listeners;
    uint16_t port = 0;          // the API's TCP port
    uint16_t monitor_port = 0;  // monitor_listen's
    std::string unix_path;      // the socket file we made, removed by stop()
    dev_t unix_dev = 0;
    ino_t unix_ino = 0;
};

namespace {

using State = HttpServer::State;

// A whole response written straight to a socket, for when there is no
// session: refusing a connection before it is handed to a thread.
std::string raw_error_response(int status, const char* reason, const std::string& code, const std::string& message) {
    const std::string body = api::error_json(code, message, "");
    return "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nRetry-After: 1\r\nX-Request-Id: " + random_hex(16) + "\r\nConnection: close\r\n\r\n" + body;
}

// One client connection, served by one pool thread from accept to close.
// Poco's HTTPServerConnection, with deadlines: a watchdog shuts the reading
// side of a connection whose deadline passed, so a blocked read ends.
class Connection : public Poco::Net::TCPServerConnection {
public:
    Connection(const Poco::Net::StreamSocket& socket, State& state, Listener& listener,
               Poco::Net::HTTPServerParams::Ptr params)
        : Poco::Net::TCPServerConnection(socket),
          state_(state),
          listener_(listener),
          params_(std::move(params)),
          fd_(this->socket().impl()->sockfd()) {}
    ~Connection() override { --listener_.connections; }

    void run() override;

    // The time by which the current phase (idle wait and headers, or the
    // body) must be over; 0 for none (a handler at work).
    void arm(int64_t deadline_ms) { deadline_.store(deadline_ms); }
    bool timed_out() const { return fired_.load(); }

    // Watchdog side, under State::mutex.
    void check(int64_t now) {
        const int64_t d = deadline_.load();
        if (d != 0 && now >= d && !fired_.exchange(true)) ::shutdown(fd_, SHUT_RD);
    }
    void abort() { ::shutdown(fd_, SHUT_RDWR); }

    std::shared_ptr<const Config> config() const { return state_.ctx.config.get(); }
    bool monitor() const { return listener_.monitor; }
    State& state() { return state_; }

private:
    void send_error(Poco::Net::HTTPServerSession& session, int status, const std::string& code,
                    const std::string& message);

    State& state_;
    Listener& listener_;
    Poco::Net::HTTPServerParams::Ptr params_;
    int fd_;
    std::atomic<int64_t> deadline_{0};
    std::atomic<bool> fired_{false};
};

// Request body bytes held by one request, counted against buffer_max_bytes.
class BodyBudget {
public:
    BodyBudget(std::atomic<int64_t>& total, int64_t max) : total_(total), max_(max) {}
    ~BodyBudget() { total_ -= held_; }
    BodyBudget(const BodyBudget&) = delete;
    BodyBudget& operator=(const BodyBudget&) = delete;
    void take(int64_t n) {
        if (total_.fetch_add(n) + n > max_) {
            total_ -= n;
            throw api::ApiError(503, "overloaded",
                                "the server is holding its limit of " + std::to_string(max_) +
                                    " bytes of request bodies (buffer_max_bytes); try again shortly");
        }
        held_ += n;
    }

private:
    std::atomic<int64_t>& total_;
    int64_t max_;
    int64_t held_ = 0;
};

// One of max_waiters long-poll slots, or none.
class WaitSlot {
public:
    explicit WaitSlot(std::atomic<int>& count) : count_(count) {}
    ~WaitSlot() {
        if (held_) --count_;
    }
    WaitSlot(const WaitSlot&) = delete;
    WaitSlot& operator=(const WaitSlot&) = delete;
    bool take(int max) {
        if (count_.fetch_add(1) >= max) {
            --count_;
            return false;
        }
        held_ = true;
        return true;
    }

private:
    std::atomic<int>& count_;
    bool held_ = false;
};

// A client's X-Request-Id is kept when it is 1 to 128 characters of
// letters, digits and ._~:/+=@- (UUIDs, hex, base64): safe in a log line,
// a header and JSON as it is. Anything else is replaced by one of ours.
bool is_request_id(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::strchr("._~:/+=@-", c) != nullptr;
    });
}

// The methods a path answers ("" for a path that is none), for 405's and
// OPTIONS's Allow header.
std::string allowed_methods(const std::string& p) {
    if (p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/v1/languages" || p == "/v1/version" ||
        p == "/v1/openapi.json")
        return "GET, OPTIONS";
    if (p == "/v1/jobs" || p == "/v1/jobs/") return "GET, POST, OPTIONS";
    if (p == "/v1/jobs/batch") return "POST, OPTIONS";
    if (p.rfind("/v1/jobs/", 0) == 0) return "GET, DELETE, OPTIONS";
    return {};
}

// Whether a browser page from `origin` may read the answers ([server]
// cors_origins). Scheme and host are compared without regard to case.
bool cors_allows(const Config& c, const std::string& origin) {
    if (origin.empty()) return false;
    auto same = [&](const std::string& o) {
        return o.size() == origin.size() && std::equal(o.begin(), o.end(), origin.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
               });
    };
    return std::any_of(c.cors_origins.begin(), c.cors_origins.end(),
                       [&](const std::string& o) { return o == "*" || same(o); });
}

// A method for the metrics' label: the API's own, else "other", so clients
// cannot make series up.
std::string method_label(const std::string& m) {
    for (const char* known : {"GET", "POST", "DELETE", "OPTIONS", "HEAD", "PUT", "PATCH"})
        if (m == known) return m;
    return "other";
}

std::string peer_of(const Poco::Net::HTTPServerRequest& in) {
    try {
        return in.clientAddress().toString();
    } catch (const std::exception&) {
        return "unix";
    }
}

class Router {
public:
    Router(ServerContext& ctx, Connection& conn) : ctx_(ctx), conn_(conn), cfg_(ctx.config.get()) {}

    void handle(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) {
        const auto started = Clock::now();
        std::string request_id = in.get("X-Request-Id", "");
        if (!is_request_id(request_id)) request_id = random_hex(16);
        LogScope scope(request_id, "");
        origin_ = in.get("Origin", "");
        Response res;
        BodyBudget budget(conn_.state().buffered, cfg_->buffer_max_bytes);
        WaitSlot slot(conn_.state().waiters);
        // A body may follow: until it is read, an answer closes the connection.
        const std::string& m = in.getMethod();
        bool body_unread = in.getChunkedTransferEncoding() || in.hasContentLength() || !without_body(m);
        try {
            Request req = head(in);
            req.request_id = request_id;
            req.config = cfg_.get();
            if (admit(in, req, budget)) {
                // Only now, with the headers judged, is the client told to
                // send the body.
                if (in.getExpectContinue()) out.sendContinue();
                read_body(in, req, budget);
            }
            body_unread = false;
            conn_.arm(0);  // a handler may wait (long-polls): no deadline
            limit_wait(req, slot);
            dispatch(req, res);
        } catch (const api::ApiError& e) {
            res.status = e.status();
            res.content_type = "application/json";
            res.body = api::error_json(e.code(), e.what(), e.field());
        } catch (const RedisUnavailable& e) {
            spdlog::warn("{} {}: Redis unavailable: {}", json_escape(in.getMethod()), json_escape(in.getURI()),
                         e.what());
            res.status = 503;
            res.content_type = "application/json";
            res.body = api::error_json("unavailable", "the job store is unavailable; try again shortly", "");
        } catch (const std::exception& e) {
            spdlog::error("{} {}: {}", json_escape(in.getMethod()), json_escape(in.getURI()), e.what());
            res.status = 500;
            res.content_type = "application/json";
            res.body = api::error_json("internal", "internal error", "");
        }
        conn_.arm(0);
        out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(res.status));
        if (res.status != 204) {
            out.setContentType(res.content_type);
            out.setContentLength(static_cast<std::streamsize>(res.body.size()));
        }
        if (res.status == 503) out.set("Retry-After", "1");
        out.set("X-Request-Id", request_id);
        for (const auto& [name, value] : res.headers) out.set(name, value);
        // The answer depends on Origin whenever CORS is on: caches must know.
        if (!cfg_->cors_origins.empty()) out.set("Vary", "Origin");
        if (cors_allows(*cfg_, origin_)) {
            out.set("Access-Control-Allow-Origin", origin_);
            out.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
        }
        // A body left unread (refused from its headers) or cut short is not
        // drained: the connection closes.
        if (body_unread || res.status == 408 || res.status == 411 || res.status == 413) out.setKeepAlive(false);
        if (res.status == 204)
            out.send();
        else
            out.send().write(res.body.data(), static_cast<std::streamsize>(res.body.size()));
        ctx_.metrics.http_requests.add(label("method", method_label(m)) + "," +
                                       label("code", std::to_string(res.status)));
        if (cfg_->access_log)
            log_access({m, in.getURI(), res.status, static_cast<int64_t>(res.body.size()),
                        std::chrono::duration<double, std::milli>(Clock::now() - started).count(), peer_of(in)});
    }

private:
    static Request head(const Poco::Net::HTTPServerRequest& in) {
        Request req;
        req.method = in.getMethod();
        try {
            Poco::URI uri(in.getURI());
            req.path = uri.getPath();
            for (const auto& [k, v] : uri.getQueryParameters()) req.query[k] = v;
        } catch (const Poco::Exception&) {
            throw api::ApiError(400, "bad_request", "the request target is not a valid URI");
        }
        req.content_type = in.getContentType();
        return req;
    }

    // Health checks, the API's contract, and CORS preflights (for which
    // browsers send no token).
    static bool is_public(const Request& req) {
        return (req.method == "GET" &&
                (req.path == "/healthz" || req.path == "/readyz" || req.path == "/v1/openapi.json")) ||
               req.method == "OPTIONS";
    }

    // Methods whose requests carry no body unless they say so.
    static bool without_body(const std::string& m) {
        return m == "GET" || m == "HEAD" || m == "DELETE" || m == "OPTIONS";
    }

    // Judges the request by its headers, before a byte of the body is
    // read: a length, then the token, then the size, then the budget.
    // Returns whether a body is to be read.
    bool admit(const Poco::Net::HTTPServerRequest& in, Request& req, BodyBudget& budget) {
        const std::string& m = req.method;
        const bool chunked = in.getChunkedTransferEncoding();
        const bool has_length = in.hasContentLength();
        if (!chunked && !has_length && m == "POST")
            throw api::ApiError(411, "length_required",
                                m + " needs a Content-Length header or chunked Transfer-Encoding");
        if (!is_public(req)) {
            req.caller = authorize(in);
        } else {
            // Nobody is known yet: no body is held for them.
            int64_t declared = 0;
            try {
                declared = has_length ? in.getContentLength64() : 0;
            } catch (const Poco::Exception&) {
                declared = -1;
            }
            if (chunked || declared != 0)
                throw api::ApiError(413, "body_too_large", m + " " + req.path + " takes no body");
        }
        if (chunked) return true;
        if (!has_length) return false;
        int64_t length = -1;
        try {
            length = in.getContentLength64();
        } catch (const Poco::Exception&) {
        }
        if (length < 0) throw api::ApiError(400, "bad_request", "the Content-Length header is not a byte count");
        const int64_t cap = cfg_->body_max_bytes;
        if (length > cap) throw too_large(cap);
        if (length == 0) return false;
        budget.take(length);
        return true;
    }

    static api::ApiError too_large(int64_t cap) {
        return api::ApiError(413, "body_too_large", "the body is larger than " + std::to_string(cap) + " bytes");
    }

    void read_body(Poco::Net::HTTPServerRequest& in, Request& req, BodyBudget& budget) {
        conn_.arm(now_ms() + cfg_->body_timeout_ms);
        std::istream& body = in.stream();
        char buf[65536];
        if (!in.getChunkedTransferEncoding()) {
            const int64_t length = in.getContentLength64();
            req.body.reserve(static_cast<size_t>(length));
            while (static_cast<int64_t>(req.body.size()) < length) {
                const int64_t want = std::min<int64_t>(sizeof buf, length - static_cast<int64_t>(req.body.size()));
                body.read(buf, want);
                if (body.gcount() <= 0) break;
                req.body.append(buf, static_cast<size_t>(body.gcount()));
            }
            if (static_cast<int64_t>(req.body.size()) < length)
                throw incomplete(std::to_string(req.body.size()) + " of " + std::to_string(length) + " bytes came");
            return;
        }
        const int64_t cap = cfg_->body_max_bytes;
        for (;;) {
            body.read(buf, sizeof buf);
            const int64_t n = body.gcount();
            if (n > 0) {
                if (static_cast<int64_t>(req.body.size()) + n > cap) throw too_large(cap);
                budget.take(n);
                req.body.append(buf, static_cast<size_t>(n));
            }
            if (!body) break;
        }
        if (body.bad()) throw incomplete("the chunked body did not end");
    }

    api::ApiError incomplete(const std::string& what) const {
        return api::ApiError(408, "request_timeout",
                             "the request body was not received in full in time (" + what + "; at most " +
                                 std::to_string(cfg_->header_timeout_ms) + " ms of silence and " +
                                 std::to_string(cfg_->body_timeout_ms) + " ms in all)");
    }

    // Beyond max_waiters long-polls at once, ?wait= answers at once with the
    // current state (a submission that would wait: at once, queued): waiting
    // requests cannot take every thread.
    void limit_wait(Request& req, WaitSlot& slot) {
        if (req.method != "GET" && !(req.method == "POST" && (req.path == "/v1/jobs" || req.path == "/v1/jobs/")))
            return;
        auto it = req.query.find("wait");
        if (it == req.query.end()) return;
        const std::string& w = it->second;
        const bool positive = !w.empty() &&
                              std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                              w.find_first_not_of('0') != std::string::npos;
        if (positive && !slot.take(static_cast<int>(cfg_->max_waiters))) it->second = "0";
    }

    // The caller a request's token names; throws 401 without a valid one.
    // Without tokens (none configured) everyone is the anonymous caller.
    Caller authorize(const Poco::Net::HTTPServerRequest& in) {
        if (cfg_->tokens.empty() && cfg_->admin_tokens.empty()) return {};
        std::string given;
        const std::string auth = in.get("Authorization", "");
        if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
        if (given.empty()) given = in.get("X-Auth-Token", "");
        if (given.empty())
            throw api::ApiError(401, "unauthorized", "an API token is required (Authorization: Bearer <token>)");
        bool ok = false, admin = false;
        for (const auto& t : cfg_->tokens) ok |= same_token(given, t);
        for (const auto& t : cfg_->admin_tokens) admin |= same_token(given, t);
        if (!ok && !admin) throw api::ApiError(401, "unauthorized", "the API token is not valid");
        return Caller{token_owner(given), admin};
    }

    void dispatch(const Request& req, Response& res) {
        const std::string& p = req.path;
        const std::string& m = req.method;
        if (conn_.monitor() && p != "/healthz" && p != "/readyz" && p != "/metrics")
            throw api::ApiError(404, "not_found",
                                "this address (monitor_listen) serves only /healthz, /readyz and /metrics");
        if (m == "OPTIONS") return options(req, res);
        if (p == "/healthz" && m == "GET") return handlers::healthz(ctx_, req, res);
        if (p == "/readyz" && m == "GET") return handlers::readyz(ctx_, req, res);
        if (p == "/metrics" && m == "GET") return handlers::metrics(ctx_, req, res);
        if (p == "/v1/languages" && m == "GET") return handlers::get_languages(ctx_, req, res);
        if (p == "/v1/version" && m == "GET") return handlers::version(ctx_, req, res);
        if (p == "/v1/openapi.json" && m == "GET") return handlers::get_openapi(ctx_, req, res);
        if (p == "/v1/jobs" || p == "/v1/jobs/") {
            if (m == "POST") return handlers::post_job(ctx_, req, res);
            if (m == "GET") return handlers::get_jobs(ctx_, req, res);
            not_allowed(req, res, "/v1/jobs");
        }
        // Before the job prefix below; "batch" can never be a job id (32 hex digits).
        if (p == "/v1/jobs/batch") {
            if (m == "POST") return handlers::post_jobs_batch(ctx_, req, res);
            not_allowed(req, res, "/v1/jobs/batch");
        }
        const std::string prefix = "/v1/jobs/";
        if (p.rfind(prefix, 0) == 0) {
            const std::string id = p.substr(prefix.size());
            if (m == "GET") return handlers::get_job(ctx_, req, res, id);
            if (m == "DELETE") return handlers::delete_job(ctx_, req, res, id);
            not_allowed(req, res, "a job");
        }
        if (!allowed_methods(p).empty()) not_allowed(req, res, p);
        throw api::ApiError(404, "not_found", "no such endpoint: " + m + " " + p);
    }

    // 405, with the Allow header the answer must carry.
    [[noreturn]] static void not_allowed(const Request& req, Response& res, const std::string& what) {
        res.headers.emplace_back("Allow", allowed_methods(req.path));
        throw api::ApiError(405, "method_not_allowed", req.method + " is not allowed on " + what);
    }

    // OPTIONS: what the path allows; for a browser's preflight from an
    // allowed origin, what it may send too.
    void options(const Request& req, Response& res) {
        const std::string allow = allowed_methods(req.path);
        if (allow.empty()) throw api::ApiError(404, "not_found", "no such endpoint: OPTIONS " + req.path);
        res.status = 204;
        res.headers.emplace_back("Allow", allow);
        if (!cors_allows(*cfg_, origin_)) return;
        res.headers.emplace_back("Access-Control-Allow-Methods", allow);
        res.headers.emplace_back("Access-Control-Allow-Headers",
                                 "Authorization, Content-Type, X-Auth-Token, X-Request-Id");
        res.headers.emplace_back("Access-Control-Max-Age", "600");
    }

    ServerContext& ctx_;
    Connection& conn_;
    std::shared_ptr<const Config> cfg_;  // one configuration for the whole request
    std::string origin_;                 // the request's Origin header
};

void Connection::send_error(Poco::Net::HTTPServerSession& session, int status, const std::string& code,
                            const std::string& message) {
    try {
        Poco::Net::HTTPServerResponseImpl response(session);
        response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
        response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
        response.setKeepAlive(false);
        const std::string body = api::error_json(code, message, "");
        response.setContentType("application/json");
        response.set("X-Request-Id", random_hex(16));
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        response.send().write(body.data(), static_cast<std::streamsize>(body.size()));
    } catch (const std::exception&) {
    }
    session.setKeepAlive(false);
    // A request that could not be read has no method to speak of.
    state_.ctx.metrics.http_requests.add(label("method", "other") + "," + label("code", std::to_string(status)));
    if (state_.ctx.config.get()->access_log) {
        std::string peer;
        try {
            peer = socket().peerAddress().toString();
        } catch (const std::exception&) {
            peer = "unix";
        }
        log_access({"-", "-", status, 0, 0, peer});
    }
}

void Connection::run() {
    {
        std::lock_guard lock(state_.mutex);
        state_.live.insert(this);
    }
    const auto config_now = config();
    const Config& c = *config_now;
    // From the connection's start, the first request's headers have
    // header_timeout_ms to arrive.
    arm(now_ms() + c.header_timeout_ms);
    try {
        Poco::Net::HTTPServerSession session(socket(), params_);
        while (!state_.stopping && session.hasMoreRequests()) {
            try {
                Poco::Net::HTTPServerResponseImpl response(session);
                Poco::Net::HTTPServerRequestImpl request(response, session, params_.get());
                response.setDate(Poco::Timestamp());
                response.setVersion(request.getVersion());
                response.setKeepAlive(params_->getKeepAlive() && request.getKeepAlive() && session.canKeepAlive());
                Router(state_.ctx, *this).handle(request, response);
                session.setKeepAlive(params_->getKeepAlive() && response.getKeepAlive() && session.canKeepAlive());
            } catch (const Poco::Net::NoMessageException&) {
                break;  // closed (or cut off) between requests
            } catch (const Poco::Net::MessageException& e) {
                if (timed_out())
                    send_error(
                        session, 408, "request_timeout",
                        "the request headers did not arrive within " + std::to_string(c.header_timeout_ms) + " ms");
                else
                    send_error(session, 400, "bad_request", std::string("malformed request: ") + e.message());
                break;
            } catch (const Poco::SyntaxException&) {
                send_error(session, 400, "bad_request", "the Content-Length header is not a byte count");
                break;
            } catch (const Poco::TimeoutException&) {
                send_error(session, 408, "request_timeout",
                           "the request headers did not arrive within " + std::to_string(c.header_timeout_ms) + " ms");
                break;
            }
            if (timed_out()) break;
            // Idle until the next request, then its headers.
            arm(now_ms() + c.keep_alive_ms + c.header_timeout_ms);
        }
    } catch (const std::exception&) {
        // The peer went away, or a read timed out: nothing more to answer.
    }
    std::lock_guard lock(state_.mutex);
    state_.live.erase(this);
}

class ConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
public:
    ConnectionFactory(State& state, Listener& listener, Poco::Net::HTTPServerParams::Ptr params)
        : state_(state), listener_(listener), params_(std::move(params)) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        return new Connection(socket, state_, listener_, params_);
    }

private:
    State& state_;
    Listener& listener_;
    Poco::Net::HTTPServerParams::Ptr params_;
};

// Runs in the accepting thread: beyond max_connections a connection gets a
// 503 at once and is closed, without taking a thread.
class Admission : public Poco::Net::TCPServerConnectionFilter {
public:
    Admission(Listener& listener, Metrics& metrics) : listener_(listener), metrics_(metrics) {}
    bool accept(const Poco::Net::StreamSocket& socket) override {
        if (listener_.connections.load() < listener_.max_connections) {
            ++listener_.connections;  // given back by ~Connection
            return true;
        }
        const std::string text =
            raw_error_response(503, "Service Unavailable", "overloaded",
                               "the server is serving its limit of " + std::to_string(listener_.max_connections) +
                                   " connections (max_connections); try again shortly");
        const int fd = socket.impl()->sockfd();
        (void)::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        ++metrics_.connections_refused;
        ::shutdown(fd, SHUT_WR);
        const int64_t now = now_ms();
        int64_t last = listener_.last_refusal_log.load();
        if (now - last >= 10000 && listener_.last_refusal_log.compare_exchange_strong(last, now))
            spdlog::warn("{}: refusing connections beyond max_connections ({})", listener_.name,
                         listener_.max_connections);
        return false;
    }

private:
    Listener& listener_;
    Metrics& metrics_;
};

Poco::Net::HTTPServerParams::Ptr make_params(const Config& c) {
    Poco::Net::HTTPServerParams::Ptr p = new Poco::Net::HTTPServerParams;
    const int max = static_cast<int>(c.max_connections);
    p->setMaxThreads(max);
    p->setMaxQueued(max);  // admission keeps admitted ≤ max, so nothing is ever dropped unanswered
    p->setKeepAlive(c.keep_alive_ms > 0);
    p->setKeepAliveTimeout(Poco::Timespan(c.keep_alive_ms * 1000));
    p->setMaxKeepAliveRequests(0);
    // The longest silence while reading a request (headers or body).
    p->setTimeout(Poco::Timespan(c.header_timeout_ms * 1000));
    return p;
}

void start_listener(State& state, const std::string& name, const Poco::Net::ServerSocket& socket,
                    bool monitor = false) {
    auto l = std::make_unique<Listener>();
    l->name = name;
    l->monitor = monitor;
    const auto config = state.ctx.config.get();
    l->max_connections = static_cast<int>(config->max_connections);
    // Poco wants at least as many threads kept as the most it may start.
    l->pool = std::make_unique<Poco::ThreadPool>(std::min(2, l->max_connections), l->max_connections, 60);
    auto params = make_params(*config);
    l->server = std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(state, *l, params), *l->pool, socket,
                                                       Poco::Net::TCPServerParams::Ptr(params.get(), true));
    l->server->setConnectionFilter(new Admission(*l, state.ctx.metrics));
    state.listeners.push_back(std::move(l));
}

// Why a unix socket's directory would not be trusted by `exec`, or "".
std::string untrusted_dir(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return std::strerror(errno);
    if (st.st_uid != 0) return "it is not owned by root";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return "group or others can write it";
    return {};
}

// Prepares `path` for bind: makes its directory (0755) if missing, removes a
// stale socket, refuses a live one or anything that is not a socket.
void clear_unix_path(const std::string& path) {
    const std::string dir = std::filesystem::path(path).parent_path().string();
    if (!dir.empty() && ::mkdir(dir.c_str(), 0755) == 0) ::chmod(dir.c_str(), 0755);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error("unix socket " + path + ": the path exists and is not a socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("unix socket " + path + ": the path is too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const bool live =
        fd >= 0 && (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 || errno == EAGAIN);
    if (fd >= 0) ::close(fd);
    if (live)
        throw std::runtime_error("unix socket " + path +
                                 ": another server is listening there (set [server] unix_socket or --unix-socket to "
                                 "another path, or to \"\" for none)");
    ::unlink(path.c_str());
}

void listen_unix(State& state, const std::string& path) {
    clear_unix_path(path);
    Poco::Net::ServerSocket local;
    local.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path));
    local.listen(1024);
    // Any local user may connect; what they may do is the tokens' business,
    // as on the loopback port.
    ::chmod(path.c_str(), 0666);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        state.unix_path = path;
        state.unix_dev = st.st_dev;
        state.unix_ino = st.st_ino;
    }
    start_listener(state, "unix socket " + path, local);
    spdlog::info("also listening on unix socket {}", path);
    const std::string dir = std::filesystem::path(path).parent_path().string();
    if (std::string why = untrusted_dir(dir); !why.empty() && ::geteuid() == 0)
        spdlog::warn("exec will not use the daemon socket {} by itself: its directory {}: {}", path, dir, why);
}

}  // namespace

HttpServer::HttpServer(ServerContext& context) : state_(std::make_unique<State>(context)) {
    const auto config = context.config.get();
    const Config& c = *config;
    if (!c.monitor_listen.empty()) {
        auto [host, port] = split_host_port(c.monitor_listen);
        Poco::Net::ServerSocket monitor;
        monitor.bind(Poco::Net::SocketAddress(host, port), true);
        monitor.listen(64);
        state_->monitor_port = monitor.address().port();
        start_listener(*state_, "monitor " + c.monitor_listen, monitor, true);
    }
    // A worker node serves no API: at most the monitor address above.
    if (c.role == Role::Worker) return;
    auto [host, port] = split_host_port(c.listen);
    Poco::Net::ServerSocket tcp;
    tcp.bind(Poco::Net::SocketAddress(host, port), true);
    tcp.listen(1024);
    state_->port = tcp.address().port();
    start_listener(*state_, c.listen, tcp);
    if (!c.unix_socket.empty()) {
        try {
            listen_unix(*state_, c.unix_socket);
        } catch (const std::exception& e) {
            // Only root serves the default socket; for anyone else it is
            // skipped. A socket the operator named must work.
            if (::geteuid() == 0 || c.unix_socket != Config{}.unix_socket) throw;
            spdlog::info("not serving on the default unix socket {}: {}", c.unix_socket, e.what());
        }
    }
}

HttpServer::~HttpServer() {
    stop();
    // Threads still in a handler (a long-poll ends within max_wait_ms) get a
    // moment; past it the state is left to them, reachable, rather than
    // destroyed under them, as the process is ending anyway.
    auto busy = [this] {
        return std::any_of(state_->listeners.begin(), state_->listeners.end(),
                           [](const auto& l) { return l->connections.load() > 0; });
    };
    for (int i = 0; i < 100 && busy(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (busy()) {
        static auto* left = new std::vector<std::unique_ptr<State>>;
        left->push_back(std::move(state_));
    }
}

uint16_t HttpServer::port() const noexcept { return state_->port; }
uint16_t HttpServer::monitor_port() const noexcept { return state_->monitor_port; }

void HttpServer::start() {
    for (auto& l : state_->listeners) l->server->start();
    state_->watchdog = std::thread([s = state_.get()] {
        std::unique_lock lock(s->mutex);
        while (!s->stopping) {
            s->wake.wait_for(lock, std::chrono::milliseconds(100));
            const int64_t now = now_ms();
            for (Connection* c : s->live) c->check(now);
        }
    });
}

void HttpServer::stop() {
    if (!state_ || state_->stopping.exchange(true)) return;
    for (auto& l : state_->listeners) l->server->stop();
    {
        std::lock_guard lock(state_->mutex);
        for (Connection* c : state_->live) c->abort();
    }
    state_->wake.notify_all();
    if (state_->watchdog.joinable()) state_->watchdog.join();
    // The socket file goes, unless another process has replaced it since.
    struct stat st {};
    if (!state_->unix_path.empty() && ::lstat(state_->unix_path.c_str(), &st) == 0 && st.st_dev == state_->unix_dev &&
        st.st_ino == state_->unix_ino)
        ::unlink(state_->unix_path.c_str());
}

}  // namespace execd::daemon
