#include "cmd/client.h"

#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cmd/server.h"

namespace execd::cli {

namespace {

// A connected socket to the unix socket `path`; throws Poco::Exception.
Poco::Net::StreamSocket connect_poco_unix(const std::string& path) {
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path), Poco::Timespan(5, 0));
    return socket;
}

}  // namespace

ServerClient::ServerClient(const std::string& url, std::string token) : token_(std::move(token)) {
    if (url.rfind("unix:", 0) == 0) {
        unix_path_ = url.substr(5);
        if (unix_path_.rfind("//", 0) == 0) unix_path_ = unix_path_.substr(2);
        if (unix_path_.empty() || unix_path_[0] != '/')
            throw BadRequest("server", "a unix socket server must look like unix:/path/to/socket, not '" + url + "'");
        where_ = unix_path_;
    } else {
        Poco::URI uri(url);
        if (uri.getScheme() != "http" || uri.getHost().empty())
            throw BadRequest("server", "server URL must look like http://host:port or unix:/path, not '" + url + "'");
        host_ = uri.getHost();
        port_ = uri.getPort();
        where_ = host_ + ":" + std::to_string(port_);
    }
    if (token_.empty())
        if (const char* env = std::getenv("EXEC_TOKEN")) token_ = env;
}

std::pair<int, std::string> ServerClient::request(const std::string& method, const std::string& path,
                                                  const std::string& body, int timeout_s) {
    try {
        std::unique_ptr<Poco::Net::HTTPClientSession> s;
        if (!unix_path_.empty()) {
            Poco::Net::StreamSocket socket = connect_poco_unix(unix_path_);
            // Sources, stdin and the token go only to root's daemon or the
            // user's own.
            const int64_t uid = peer_uid(socket.impl()->sockfd());
            if (uid != 0 && uid != static_cast<int64_t>(::geteuid()))
                throw std::runtime_error("not sending to " + unix_path_ + ": the process listening there runs as uid " +
                                         std::to_string(uid) + ", neither root nor you");
            s = std::make_unique<Poco::Net::HTTPClientSession>(socket);
        } else {
            s = std::make_unique<Poco::Net::HTTPClientSession>(host_, port_);
        }
        s->setTimeout(Poco::Timespan(timeout_s, 0));
        Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        if (!unix_path_.empty()) req.setHost("localhost");
        if (!token_.empty()) req.set("Authorization", "Bearer " + token_);
        // A large body waits for the server's go-ahead, so a refusal (401,
        // 413, 503) is read instead of a reset connection.
        const bool large = body.size() > (size_t{64} << 10);
        if (method == "POST") {
            req.setContentType("application/json");
            req.setContentLength(static_cast<std::streamsize>(body.size()));
            if (large) req.setExpectContinue(true);
        }
        std::ostream& out = s->sendRequest(req);
        Poco::Net::HTTPResponse res;
        if (!large || method != "POST" || s->peekResponse(res)) out << body;
        std::istream& in = s->receiveResponse(res);
        std::string text;
        Poco::StreamCopier::copyToString(in, text);
        if (res.getStatus() >= 400) {
            std::string message = text;
            try {
                Poco::JSON::Parser p;
                auto err = p.parse(text).extract<Poco::JSON::Object::Ptr>()->getObject("error");
                message = err->getValue<std::string>("message");
            } catch (const std::exception&) {
            }
            throw std::runtime_error("server " + where_ + " answered " + std::to_string(res.getStatus()) + ": " +
                                     message);
        }
        return {res.getStatus(), text};
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot reach execd at " + where_ + ": " + e.displayText());
    }
}

std::string ServerClient::submit(const std::string& body) {
    auto [status, text] = request("POST", "/v1/jobs", body, 60);
    Poco::JSON::Parser p;
    return p.parse(text).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("jobId");
}

Poco::JSON::Object::Ptr ServerClient::get(const std::string& id, int64_t wait_ms, std::string* text_out) {
    std::string path = "/v1/jobs/" + id;
    if (wait_ms > 0) path += "?wait=" + std::to_string(wait_ms);
    auto [status, text] = request("GET", path, "", static_cast<int>(wait_ms / 1000) + 30);
    // Keep the server's field order, so --json prints what a local run prints.
    Poco::JSON::Parser p(new Poco::JSON::ParseHandler(true));
    auto job = p.parse(text).extract<Poco::JSON::Object::Ptr>();
    if (text_out) *text_out = std::move(text);
    return job;
}

Poco::JSON::Object::Ptr ServerClient::wait(const std::string& id,
                                           const std::function<void(const std::string&)>& progress, std::string* text) {
    int64_t wait_ms = 10000;
    for (;;) {
        auto job = get(id, wait_ms, text);
        const std::string status = job->getValue<std::string>("status");
        if (status == "completed" || status == "cancelled") return job;
        if (job->has("testsDone") && job->has("testsTotal")) {
            // A graded job reports its tests as they finish: poll often
            // enough for the progress line to move.
            wait_ms = 1000;
            if (progress)
                progress(status + " (" + job->getValue<std::string>("testsDone") + "/" +
                         job->getValue<std::string>("testsTotal") + " tests)");
        } else if (progress) {
            progress(status);
        }
    }
}

std::string ServerClient::cancel(const std::string& id) {
    auto [status, text] = request("DELETE", "/v1/jobs/" + id, "", 30);
    Poco::JSON::Parser p;
    return p.parse(text).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("status");
}

}  // namespace execd::cli
