#include "http_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "api_error.h"
#include "codec.h"
#include "handlers/handlers.h"
#include "redis.h"

namespace execd::daemon {
namespace {

bool same_token(const std::string& a, const std::string& b) {
    // Constant time in the token's length: no early exit on a mismatch.
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

class Router : public Poco::Net::HTTPRequestHandler {
public:
    explicit Router(ServerContext& ctx) : ctx_(ctx) {}

    void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
        ++ctx_.metrics.http_requests;
        Response res;
        try {
            Request req = read(in);
            dispatch(in, req, res);
        } catch (const api::ApiError& e) {
            res.status = e.status();
            res.content_type = "application/json";
            res.body = api::error_json(e.code(), e.what(), e.field());
        } catch (const RedisUnavailable& e) {
            spdlog::warn("{} {}: Redis unavailable: {}", in.getMethod(), in.getURI(), e.what());
            res.status = 503;
            res.content_type = "application/json";
            res.body = api::error_json("unavailable", "the job store is unavailable; try again shortly", "");
        } catch (const std::exception& e) {
            spdlog::error("{} {}: {}", in.getMethod(), in.getURI(), e.what());
            res.status = 500;
            res.content_type = "application/json";
            res.body = api::error_json("internal", "internal error", "");
        }
        out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(res.status));
        out.setContentType(res.content_type);
        out.setContentLength(static_cast<std::streamsize>(res.body.size()));
        if (res.status == 413) out.setKeepAlive(false);  // the rest of the body was not read
        out.send().write(res.body.data(), static_cast<std::streamsize>(res.body.size()));
    }

private:
    Request read(Poco::Net::HTTPServerRequest& in) {
        Request req;
        req.method = in.getMethod();
        Poco::URI uri(in.getURI());
        req.path = uri.getPath();
        for (const auto& [k, v] : uri.getQueryParameters()) req.query[k] = v;
        req.content_type = in.getContentType();
        const int64_t cap = ctx_.config.body_max_bytes;
        std::istream& body = in.stream();
        char buf[65536];
        int64_t seen = 0;
        while (body.read(buf, sizeof buf) || body.gcount() > 0) {
            seen += body.gcount();
            if (seen <= cap) req.body.append(buf, static_cast<size_t>(body.gcount()));
            // Past the cap the rest is read and dropped, so the client sees
            // the 413 instead of a reset; past 64 MiB more it is cut off.
            if (seen > cap + (int64_t{64} << 20)) break;
        }
        if (seen > cap)
            throw api::ApiError(413, "body_too_large", "the body is larger than " + std::to_string(cap) + " bytes");
        return req;
    }

    // The caller a request's token names; throws 401 without a valid one.
    // Without tokens (none configured) everyone is the anonymous caller.
    Caller authorize(const Poco::Net::HTTPServerRequest& in) {
        if (ctx_.config.tokens.empty() && ctx_.config.admin_tokens.empty()) return {};
        std::string given;
        const std::string auth = in.get("Authorization", "");
        if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
        if (given.empty()) given = in.get("X-Auth-Token", "");
        if (given.empty())
            throw api::ApiError(401, "unauthorized", "an API token is required (Authorization: Bearer <token>)");
        bool ok = false, admin = false;
        for (const auto& t : ctx_.config.tokens) ok |= same_token(given, t);
        for (const auto& t : ctx_.config.admin_tokens) admin |= same_token(given, t);
        if (!ok && !admin) throw api::ApiError(401, "unauthorized", "the API token is not valid");
        return Caller{token_owner(given), admin};
    }

    void dispatch(Poco::Net::HTTPServerRequest& in, Request& req, Response& res) {
        const std::string& p = req.path;
        const std::string& m = req.method;
        if (p == "/healthz" && m == "GET") return handlers::healthz(ctx_, req, res);
        if (p == "/readyz" && m == "GET") return handlers::readyz(ctx_, req, res);
        req.caller = authorize(in);
        if (p == "/metrics" && m == "GET") return handlers::metrics(ctx_, req, res);
        if (p == "/v1/languages" && m == "GET") return handlers::get_languages(ctx_, req, res);
        if (p == "/v1/jobs" || p == "/v1/jobs/") {
            if (m == "POST") return handlers::post_job(ctx_, req, res);
            if (m == "GET") return handlers::get_jobs(ctx_, req, res);
            throw api::ApiError(405, "method_not_allowed", m + " is not allowed on /v1/jobs");
        }
        // Before the job prefix below; "batch" can never be a job id (32 hex digits).
        if (p == "/v1/jobs/batch") {
            if (m == "POST") return handlers::post_jobs_batch(ctx_, req, res);
            throw api::ApiError(405, "method_not_allowed", m + " is not allowed on /v1/jobs/batch");
        }
        const std::string prefix = "/v1/jobs/";
        if (p.rfind(prefix, 0) == 0) {
            const std::string id = p.substr(prefix.size());
            if (m == "GET") return handlers::get_job(ctx_, req, res, id);
            if (m == "DELETE") return handlers::delete_job(ctx_, req, res, id);
            throw api::ApiError(405, "method_not_allowed", m + " is not allowed on a job");
        }
        throw api::ApiError(404, "not_found", "no such endpoint: " + m + " " + p);
    }

    ServerContext& ctx_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit Factory(ServerContext& ctx) : ctx_(ctx) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new Router(ctx_);
    }

private:
    ServerContext& ctx_;
};

Poco::Net::HTTPServerParams::Ptr params() {
    Poco::Net::HTTPServerParams::Ptr p = new Poco::Net::HTTPServerParams;
    p->setMaxThreads(128);
    p->setMaxQueued(4096);
    p->setKeepAlive(true);
    p->setTimeout(Poco::Timespan(120, 0));
    return p;
}

}  // namespace

HttpServer::HttpServer(ServerContext& context) : context_(context) {
    auto [host, port] = split_host_port(context_.config.listen);
    Poco::Net::ServerSocket tcp;
    tcp.bind(Poco::Net::SocketAddress(host, port), true);
    tcp.listen(1024);
    port_ = tcp.address().port();
    tcp_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(context_), tcp, params());
    if (!context_.config.unix_socket.empty()) {
        ::unlink(context_.config.unix_socket.c_str());
        Poco::Net::ServerSocket local;
        local.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, context_.config.unix_socket));
        local.listen(1024);
        unix_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(context_), local, params());
    }
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
    tcp_->start();
    if (unix_) unix_->start();
}

void HttpServer::stop() {
    if (tcp_) tcp_->stopAll(true);
    if (unix_) unix_->stopAll(true);
}

}  // namespace execd::daemon
