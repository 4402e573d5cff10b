// Real processes for daemon tests: a redis-server on a free loopback port and
// execd itself on 127.0.0.1:0, each with temporary paths, ended by pid.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "daemon/redis.h"

namespace execd::test {

int free_port();

// The front of an argv that runs the rest in a mount namespace of its own,
// with a tmpfs of `kb` KiB mounted on `dir` (a directory the test made):
// a small filesystem that the test can fill through /proc/<pid>/root<dir>.
std::vector<std::string> on_small_filesystem(const std::string& dir, int64_t kb);

class RedisServer {
public:
    explicit RedisServer(bool append_only = false);
    // Append-only (fsync every second, Redis's default) with its directory
    // on a filesystem of `disk_kb` KiB (on_small_filesystem); DEBUG allowed
    // from loopback, so a test can reload the data from the file.
    static RedisServer on_small_disk(int64_t disk_kb);
    ~RedisServer();
    RedisServer(RedisServer&&) = delete;
    void start();
    void stop();  // SIGTERM and wait
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    daemon::Reply command(const std::vector<std::string>& args);
    pid_t pid() const { return pid_; }
    // Its data directory, as the test sees it (through /proc/<pid>/root on a small disk).
    std::string data_dir() const;

private:
    RedisServer(bool append_only, int64_t disk_kb);
    int port_;
    bool aof_;
    int64_t disk_kb_ = 0;
    std::string dir_;
    pid_t pid_ = -1;
};

class Execd {
public:
    // Starts build/daemon/execd with `args` plus --listen 127.0.0.1:0 and a
    // port file; waits until it listens (or for `worker_only`, until it logs).
    // `wrapper`: the front of the argv that starts it (on_small_filesystem).
    explicit Execd(std::vector<std::string> args, bool worker_only = false, std::vector<std::string> wrapper = {});
    ~Execd();

    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    // Sends `sig` and waits; returns the exit status (128+n if killed).
    int stop(int sig = 15);
    const std::string& log_path() const { return log_; }

private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string dir_, log_;
};

struct HttpReply {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names in lower case
    // A header's value ("" when absent); `name` in any case.
    std::string header(const std::string& name) const;
};

HttpReply http(int port, const std::string& method, const std::string& path, const std::string& body = {},
               const std::map<std::string, std::string>& headers = {{"Content-Type", "application/json"}});

// A field of a JSON object body ("" when absent); numbers come back as text.
std::string json_field(const std::string& body, const std::string& field);

// A fresh key prefix, so tests sharing a Redis never see each other's jobs.
std::string unique_prefix();

// The port of a redis://host:port URL.
int port_of(const std::string& url);

// A field of the `error` object of an error body.
std::string error_field(const std::string& body, const std::string& key);

// A submission body running `code` in `language`; `extra` is added to the
// JSON object as it stands (",\"priority\":3"). python_job: in Python.
std::string job_json(const std::string& language, const std::string& code, const std::string& extra = "");
std::string python_job(const std::string& code, const std::string& extra = "");

// POST /v1/jobs; the job's id. Anything but 202 throws with the reply.
std::string submit(int port, const std::string& body);

// GET /v1/jobs/<id> every 20 ms until its status is "running"; false if it
// is not within `seconds`.
bool wait_running(int port, const std::string& id, int seconds = 10);

// GET /v1/jobs/<id>?wait= until it is completed or cancelled; the last
// reply. Throws if it is neither after `seconds`.
HttpReply wait_done(int port, const std::string& id, int seconds = 90);

}  // namespace execd::test
