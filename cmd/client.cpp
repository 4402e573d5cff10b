#include "client.h"

#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <cstdlib>
#include <iostream>

#include "codec.h"

namespace execd::cli {

std::optional<std::string> pick_server(const GlobalOptions& o) {
    if (o.local) return std::nullopt;
    if (!o.server.empty()) return o.server;
    if (const char* env = std::getenv("EXEC_SERVER"); env && *env) return std::string(env);
    // A daemon on the default address, if one answers at once.
    try {
        Poco::Net::HTTPClientSession s("127.0.0.1", 3001);
        s.setTimeout(Poco::Timespan(0, 300'000));
        Poco::Net::HTTPRequest req("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
        s.sendRequest(req);
        Poco::Net::HTTPResponse res;
        std::istream& in = s.receiveResponse(res);
        std::string body;
        Poco::StreamCopier::copyToString(in, body);
        if (res.getStatus() == 200 && body.find("\"ok\"") != std::string::npos) return std::string("http://127.0.0.1:3001");
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

ServerClient::ServerClient(const std::string& url, std::string token) : token_(std::move(token)) {
    Poco::URI uri(url);
    if (uri.getScheme() != "http" || uri.getHost().empty())
        throw BadRequest("server", "server URL must look like http://host:port, not '" + url + "'");
    host_ = uri.getHost();
    port_ = uri.getPort();
    if (token_.empty())
        if (const char* env = std::getenv("EXEC_TOKEN")) token_ = env;
}

std::pair<int, std::string> ServerClient::request(const std::string& method, const std::string& path,
                                                  const std::string& body, int timeout_s) {
    try {
        Poco::Net::HTTPClientSession s(host_, port_);
        s.setTimeout(Poco::Timespan(timeout_s, 0));
        Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        if (!token_.empty()) req.set("Authorization", "Bearer " + token_);
        if (method == "POST") {
            req.setContentType("application/json");
            req.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        s.sendRequest(req) << body;
        Poco::Net::HTTPResponse res;
        std::istream& in = s.receiveResponse(res);
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
            throw std::runtime_error("server " + host_ + ":" + std::to_string(port_) + " answered " +
                                     std::to_string(res.getStatus()) + ": " + message);
        }
        return {res.getStatus(), text};
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot reach execd at " + host_ + ":" + std::to_string(port_) + ": " + e.displayText());
    }
}

std::string ServerClient::submit(const std::string& body) {
    auto [status, text] = request("POST", "/v1/jobs", body, 60);
    Poco::JSON::Parser p;
    return p.parse(text).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("jobId");
}

Poco::JSON::Object::Ptr ServerClient::get(const std::string& id, int64_t wait_ms) {
    std::string path = "/v1/jobs/" + id;
    if (wait_ms > 0) path += "?wait=" + std::to_string(wait_ms);
    auto [status, text] = request("GET", path, "", static_cast<int>(wait_ms / 1000) + 30);
    // Keep the server's field order, so --json prints what a local run prints.
    Poco::JSON::Parser p(new Poco::JSON::ParseHandler(true));
    return p.parse(text).extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr ServerClient::wait(const std::string& id, const std::function<void(const std::string&)>& progress) {
    int64_t wait_ms = 10000;
    for (;;) {
        auto job = get(id, wait_ms);
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

int exit_status_for(const std::string& verdict, std::optional<int> exit_code) {
    if (verdict == "InternalError" || !exit_code) return kExitInternalError;
    return *exit_code;
}

int exit_status_of(const Poco::JSON::Object::Ptr& job) {
    const std::string verdict = job->has("verdict") ? job->getValue<std::string>("verdict") : "InternalError";
    std::optional<int> code;
    if (job->has("exitCode") && !job->get("exitCode").isEmpty()) code = job->getValue<int>("exitCode");
    return exit_status_for(verdict, code);
}

int print_remote_result(const Poco::JSON::Object::Ptr& job, bool base64) {
    if (job->getValue<std::string>("status") == "cancelled") {
        print_error("the job was cancelled");
        return kExitInternalError;
    }
    auto text = [&](const char* field) {
        if (!job->has(field)) return std::string();
        std::string v = job->getValue<std::string>(field);
        if (!base64) return v;
        return api::base64_decode(v).value_or(v);
    };
    const std::string out = text("stdout"), err = text("stderr");
    std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
    std::cout.flush();
    std::cerr.write(err.data(), static_cast<std::streamsize>(err.size()));
    const std::string verdict = job->getValue<std::string>("verdict");
    const std::string message = job->has("message") ? job->getValue<std::string>("message") : "";
    if (verdict == "CompileError") std::cerr << message;
    if (verdict != "OK") print_error(verdict + (verdict != "CompileError" && !message.empty() ? ": " + message : ""));
    return exit_status_of(job);
}

}  // namespace execd::cli
