// The job store (daemon/store.h) and its scripts (daemon/lua/*.lua) against a
// real redis-server, without execd: pop, leases, retry backoff, the reaper,
// cancel, TTLs, and a worker that dies between the pop reply and its lease.
// Leases and backoffs are a few hundred ms, so the whole file runs in seconds.
#include "daemon/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/lua_scripts.h"
#include "daemon/redis.h"
#include "tests/daemon/daemon_fixture.h"

using namespace execd::test;
using namespace execd::daemon;
using Catch::Matchers::Contains;
using namespace std::chrono;

namespace {

const std::string kLost = R"({"status":"completed","verdict":"InternalError","reason":"lost"})";
const std::string kExhausted = R"({"status":"completed","verdict":"InternalError","reason":"exhausted"})";
const std::string kCancelled = R"({"status":"cancelled"})";

StoreSettings fast_settings() {
    StoreSettings s{Config{}};
    s.prefix = unique_prefix();
    s.lease_ms = 300;
    s.attempts = 3;
    s.backoff_ms = 200;
    s.result_ttl_s = 60;
    return s;
}

// A private redis-server and a store on it, as one node sees them.
struct Rig {
    explicit Rig(StoreSettings s = fast_settings()) : pool(redis.url()), store(pool, std::move(s)) {}

    std::string key(const std::string& name) const { return store.settings().prefix + name; }

    // Redis's clock in ms: leases and backoffs are measured against it.
    int64_t now_ms() {
        Reply t = redis.command({"TIME"});
        REQUIRE(t.elements.size() == 2);
        return std::stoll(t.elements[0].string) * 1000 + std::stoll(t.elements[1].string) / 1000;
    }

    // A member's score in a sorted set, or nullopt.
    std::optional<int64_t> score(const std::string& set, const std::string& id) {
        Reply r = redis.command({"ZSCORE", key(set), id});
        if (r.nil()) return std::nullopt;
        return static_cast<int64_t>(std::stod(r.string));
    }

    // A member's score that must be there.
    int64_t must_score(const std::string& set, const std::string& id) {
        auto s = score(set, id);
        REQUIRE(s);
        return *s;
    }

    // Sleeps until Redis's clock has passed `deadline_ms`.
    void sleep_past(int64_t deadline_ms) {
        while (now_ms() <= deadline_ms) std::this_thread::sleep_for(milliseconds(20));
    }

    int64_t counter(const std::string& name) {
        for (const auto& [k, v] : store.counters())
            if (k == name) return v;
        return 0;
    }

    RedisServer redis;
    RedisPool pool;
    JobStore store;
};

std::string request(const std::string& name) { return R"({"language":"python","code":")" + name + R"("})"; }

// A TCP relay between a client and Redis that swallows the first reply sent
// back on its first connection and closes that connection: to the client,
// the reply is lost on the wire. Later connections pass through. Ended (and
// its thread joined) by its destructor.
class ReplyDroppingProxy {
public:
    explicit ReplyDroppingProxy(int upstream_port) : upstream_port_(upstream_port) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a = loopback(0);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener_, 4) == 0);
        socklen_t len = sizeof a;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~ReplyDroppingProxy() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    bool dropped() const { return dropped_; }

private:
    static sockaddr_in loopback(int port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        return a;
    }

    void serve() {
        for (bool first = true; !stop_;) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in a = loopback(upstream_port_);
            if (::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) relay(client, upstream, first);
            ::close(upstream);
            ::close(client);
            first = false;
        }
    }

    void relay(int client, int upstream, bool drop_first_reply) {
        char buf[65536];
        while (!stop_) {
            pollfd p[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
            if (::poll(p, 2, 50) <= 0) continue;
            if (p[0].revents) {
                ssize_t n = ::read(client, buf, sizeof buf);
                if (n <= 0 || ::write(upstream, buf, static_cast<size_t>(n)) != n) return;
            }
            if (p[1].revents) {
                ssize_t n = ::read(upstream, buf, sizeof buf);
                if (n <= 0) return;
                if (drop_first_reply) {
                    dropped_ = true;
                    return;
                }
                if (::write(client, buf, static_cast<size_t>(n)) != n) return;
            }
        }
    }

    int upstream_port_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false}, dropped_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE("store: pop takes jobs by priority, FIFO within one, each once, under a lease", "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;
    const int64_t submitted = rig.now_ms();
    REQUIRE(store.submit("a", request("a"), 10) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.submit("b", request("b"), 5) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.submit_all({{"c", request("c"), 10, "", "request-c"}, {"d", request("d"), 5, "", ""}}) ==
            JobStore::SubmitOutcome::Queued);
    CHECK(store.queue_depth() == 4);
    CHECK(store.get("a")->state == JobState::Queued);
    CHECK(store.get("c")->request_id == "request-c");
    CHECK(store.get("a")->request_id.empty());

    std::vector<std::string> order;
    for (int i = 0; i < 4; ++i) {
        const int64_t before = rig.now_ms();
        auto job = store.pop("w1");
        REQUIRE(job);
        order.push_back(job->id);
        CHECK(job->request_json == request(job->id));
        CHECK(job->attempt == 1);
        CHECK(job->request_id == (job->id == "c" ? "request-c" : ""));
        CHECK(job->waited_ms >= 0);
        CHECK(job->waited_ms <= rig.now_ms() - submitted);  // since its submission, by Redis's clock
        // The lease is taken in the same script: running, scored now + lease_ms.
        auto deadline = rig.score("running", job->id);
        REQUIRE(deadline);
        CHECK(*deadline >= before + 300);
        CHECK(*deadline <= rig.now_ms() + 300);
        CHECK_FALSE(rig.score("queued_at", job->id));
    }
    CHECK(order == std::vector<std::string>{"b", "d", "a", "c"});
    CHECK_FALSE(store.pop("w2"));
    CHECK(store.queue_depth() == 0);
    CHECK(store.running_count() == 4);
    auto a = store.get("a");
    REQUIRE(a);
    CHECK(a->state == JobState::Running);
    CHECK(a->attempts == 1);
    CHECK(rig.redis.command({"HGET", rig.key("job:a"), "worker"}).string == "w1");

    // An id left in the queue whose job is gone is dropped; the next is taken.
    REQUIRE(store.submit("gone", request("gone"), 1) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.submit("next", request("next"), 2) == JobStore::SubmitOutcome::Queued);
    rig.redis.command({"DEL", rig.key("job:gone")});
    auto next = store.pop("w1");
    REQUIRE(next);
    CHECK(next->id == "next");
    CHECK(store.queue_depth() == 0);

    // get_all answers in the order asked, unknown ids as nullopt.
    auto all = store.get_all({"c", "nope", "b"});
    REQUIRE(all.size() == 3);
    CHECK((all[0] && all[0]->state == JobState::Running));
    CHECK_FALSE(all[1]);
    CHECK((all[2] && all[2]->state == JobState::Running));

    // Every key the scripts wrote is under the store's prefix.
    CHECK(rig.redis.command({"DBSIZE"}).integer ==
          static_cast<int64_t>(rig.redis.command({"KEYS", rig.key("*")}).elements.size()));
}

TEST_CASE("store: complete can take the worker's next job in the same round trip, as pop would", "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;
    for (const char* id : {"a", "b", "c"})
        REQUIRE(store.submit(id, request(id), 10) == JobStore::SubmitOutcome::Queued);
    auto a = store.pop("w1");
    REQUIRE(a);
    CHECK(a->id == "a");
    CHECK(a->more);  // b and c still wait

    std::optional<PoppedJob> next;
    CHECK(store.complete("a", R"({"by":"w1"})", JobState::Completed, "OK", "w1", &next));
    REQUIRE(next);
    CHECK(next->id == "b");
    CHECK(next->request_json == request("b"));
    CHECK(next->attempt == 1);
    CHECK(next->more);
    // Taken as pop takes: running, leased to w1, out of the queue.
    auto b = store.get("b");
    REQUIRE(b);
    CHECK(b->state == JobState::Running);
    CHECK(rig.score("running", "b").has_value());
    CHECK_FALSE(rig.score("queue", "b").has_value());
    CHECK_FALSE(rig.score("queued_at", "b").has_value());
    CHECK(store.get("a")->result_json == R"({"by":"w1"})");

    // A result that was recorded already still takes the next job.
    CHECK_FALSE(store.complete("a", R"({"again":1})", JobState::Completed, "OK", "w1", &next));
    REQUIRE(next);
    CHECK(next->id == "c");
    CHECK_FALSE(next->more);
    CHECK(store.get("a")->result_json == R"({"by":"w1"})");

    // Nothing left: the result is recorded and no job comes back; without
    // `next` nothing is taken.
    CHECK(store.complete("b", "{}", JobState::Completed, "OK", "w1", &next));
    CHECK_FALSE(next);
    REQUIRE(store.submit("d", request("d"), 10) == JobStore::SubmitOutcome::Queued);
    CHECK(store.complete("c", "{}", JobState::Completed, "OK"));
    CHECK(store.get("d")->state == JobState::Queued);
    CHECK(rig.counter("verdict:OK") == 3);
}

TEST_CASE("store: a lease is renewed by its holder only, and carries a cancel request", "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;
    REQUIRE(store.submit("j", request("j"), 10) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.pop("w1"));
    const int64_t first = rig.must_score("running", "j");

    std::this_thread::sleep_for(milliseconds(100));
    bool cancel = true;
    CHECK(store.renew("j", "w1", cancel));
    CHECK_FALSE(cancel);
    const int64_t renewed = rig.must_score("running", "j");
    CHECK(renewed >= first + 90);

    CHECK_FALSE(store.renew("j", "w2", cancel));
    CHECK(rig.must_score("running", "j") == renewed);

    // Progress only from the holder.
    store.progress("j", "w2", "1/5");
    CHECK(store.get("j")->progress.empty());
    store.progress("j", "w1", "2/5");
    CHECK(store.get("j")->progress == "2/5");

    // A cancel of a running job is a request its worker sees on renew.
    CHECK(store.cancel("j", kCancelled) == JobStore::CancelOutcome::Requested);
    CHECK(store.get("j")->state == JobState::Running);
    CHECK(store.renew("j", "w1", cancel));
    CHECK(cancel);

    CHECK(store.complete("j", kCancelled, JobState::Cancelled, ""));
    auto j = store.get("j");
    REQUIRE(j);
    CHECK(j->state == JobState::Cancelled);
    CHECK(j->progress.empty());
    CHECK_FALSE(store.renew("j", "w1", cancel));
    CHECK(store.running_count() == 0);
    CHECK(rig.redis.command({"HEXISTS", rig.key("job:j"), "cancel"}).integer == 0);
}

TEST_CASE("store: a failed attempt waits out a doubling backoff; the last one ends as an InternalError",
          "[store][daemon]") {
    StoreSettings s = fast_settings();
    s.lease_ms = 10000;  // no lease lapses here
    Rig rig(s);
    auto& store = rig.store;
    REQUIRE(store.submit("r", request("r"), 10) == JobStore::SubmitOutcome::Queued);

    for (int attempt = 1; attempt <= 2; ++attempt) {
        auto job = store.pop("w1");
        REQUIRE(job);
        CHECK(job->attempt == attempt);
        const int64_t before = rig.now_ms();
        store.retry("r", kExhausted);
        const int64_t after = rig.now_ms();
        const int64_t backoff = 200 << (attempt - 1);
        auto due = rig.score("delayed", "r");
        REQUIRE(due);
        CHECK(*due >= before + backoff);
        CHECK(*due <= after + backoff);
        CHECK_FALSE(rig.score("running", "r"));
        CHECK(rig.score("queued_at", "r"));
        auto r = store.get("r");
        REQUIRE(r);
        CHECK(r->state == JobState::Queued);
        CHECK(r->attempts == attempt);

        // Not before its time...
        CHECK(store.reap(kLost) == 0);
        CHECK_FALSE(store.pop("w1"));
        // ...then back in the queue.
        rig.sleep_past(*due);
        CHECK(store.reap(kLost) == 1);
        CHECK_FALSE(rig.score("delayed", "r"));
    }
    auto last = store.pop("w1");
    REQUIRE(last);
    CHECK(last->attempt == 3);
    store.retry("r", kExhausted);
    auto r = store.get("r");
    REQUIRE(r);
    CHECK(r->state == JobState::Completed);
    CHECK(r->result_json == kExhausted);
    CHECK_FALSE(rig.score("delayed", "r"));
    CHECK(rig.counter("verdict:InternalError") == 1);
    CHECK(rig.counter("status:completed") == 1);

    // A retry of a finished job changes nothing.
    store.retry("r", kLost);
    CHECK(store.get("r")->result_json == kExhausted);
    CHECK(rig.counter("status:completed") == 1);
}

TEST_CASE("store: the reaper requeues a lapsed lease at its old place, and fails a job out of attempts",
          "[store][daemon]") {
    StoreSettings s = fast_settings();
    s.attempts = 2;
    Rig rig(s);
    auto& store = rig.store;
    REQUIRE(store.submit("a", request("a"), 10) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.submit("b", request("b"), 10) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.pop("w1")->id == "a");
    REQUIRE(store.submit("c", request("c"), 10) == JobStore::SubmitOutcome::Queued);

    CHECK(store.reap(kLost) == 0);  // the lease still holds
    CHECK(store.get("a")->state == JobState::Running);
    rig.sleep_past(rig.must_score("running", "a"));
    CHECK(store.reap(kLost) == 1);
    CHECK(store.reap(kLost) == 0);
    auto a = store.get("a");
    REQUIRE(a);
    CHECK(a->state == JobState::Queued);
    CHECK(a->attempts == 1);
    CHECK(rig.redis.command({"HEXISTS", rig.key("job:a"), "worker"}).integer == 0);
    CHECK(rig.score("queued_at", "a"));

    // Its original score: ahead of b and c, submitted after it.
    auto again = store.pop("w2");
    REQUIRE(again);
    CHECK(again->id == "a");
    CHECK(again->attempt == 2);
    for (const char* id : {"b", "c"}) {
        auto job = store.pop("w2");
        REQUIRE(job);
        CHECK(job->id == id);
        CHECK(store.complete(id, "{}", JobState::Completed, "OK"));
    }

    // Its last attempt lapses too: an InternalError, counted once.
    rig.sleep_past(rig.must_score("running", "a"));
    CHECK(store.reap(kLost) == 1);
    a = store.get("a");
    REQUIRE(a);
    CHECK(a->state == JobState::Completed);
    CHECK(a->result_json == kLost);
    CHECK_FALSE(store.pop("w2"));
    CHECK(store.running_count() == 0);
    CHECK(rig.counter("verdict:InternalError") == 1);
    CHECK(rig.counter("verdict:OK") == 2);
    CHECK(rig.counter("status:completed") == 3);
}

TEST_CASE("store: a reap leaves a job whose lease was renewed after its first half saw it lapse", "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;
    REQUIRE(store.submit("j", request("j"), 10) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.pop("w1"));
    rig.sleep_past(rig.must_score("running", "j"));

    // The first half, as reap() runs it, names the lapsed lease...
    RedisConnection c(rig.redis.url());
    const Script due(std::string(lua::kPrelude) + lua::kReapDue);
    Reply found = c.eval(due, {rig.key("running"), rig.key("delayed"), rig.key("queued_at")}, {"86400"});
    REQUIRE(found.elements.size() == 3);
    REQUIRE(found.elements[0].elements.size() == 1);
    CHECK(found.elements[0].elements[0].string == "j");

    // ...its worker renews it in between...
    bool cancel = false;
    REQUIRE(store.renew("j", "w1", cancel));

    // ...and the second half leaves it alone.
    const Script reap(std::string(lua::kPrelude) + lua::kReap);
    std::vector<std::string> keys;
    for (const char* name :
         {"queue", "running", "delayed", "queued_at", "queued_bytes", "stats", "no-such-key", "wake"})
        keys.push_back(rig.key(name));
    keys.push_back(rig.key("job:j"));
    keys.push_back(rig.key("done:j"));
    Reply r = c.eval(reap, keys, {"3", kLost, "60", "86400", "{}", "1", "0", "0", "j"});
    REQUIRE(r.kind == Reply::Kind::Array);
    REQUIRE(r.elements.size() == 2);
    CHECK(r.elements[0].integer == 0);
    CHECK(r.elements[1].elements.empty());
    auto j = store.get("j");
    REQUIRE(j);
    CHECK(j->state == JobState::Running);
    CHECK(rig.score("running", "j"));
    CHECK(store.queue_depth() == 0);
    CHECK(rig.redis.command({"HGET", rig.key("job:j"), "worker"}).string == "w1");
}

TEST_CASE("store: cancel", "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;
    const std::string big(1000, 'x');

    SECTION("a queued job ends at once, waking a waiter, and gives its bytes back") {
        REQUIRE(store.submit("q", request(big), 10) == JobStore::SubmitOutcome::Queued);
        CHECK(std::stoll(rig.redis.command({"GET", rig.key("queued_bytes")}).string) > 1000);
        std::optional<StoredJob> waited;
        std::thread waiter([&] { waited = store.wait("q", 5000); });
        std::this_thread::sleep_for(milliseconds(200));
        const auto t0 = steady_clock::now();
        CHECK(store.cancel("q", kCancelled) == JobStore::CancelOutcome::Cancelled);
        waiter.join();
        CHECK(steady_clock::now() - t0 < seconds(2));
        REQUIRE(waited);
        CHECK(waited->state == JobState::Cancelled);
        CHECK(waited->result_json == kCancelled);
        CHECK(store.queue_depth() == 0);
        CHECK_FALSE(rig.score("queued_at", "q"));
        CHECK(rig.redis.command({"GET", rig.key("queued_bytes")}).string == "0");
        CHECK(rig.redis.command({"HEXISTS", rig.key("job:q"), "request"}).integer == 0);
        CHECK_FALSE(store.pop("w1"));
        CHECK(rig.counter("status:cancelled") == 1);
        CHECK(store.cancel("q", kCancelled) == JobStore::CancelOutcome::AlreadyFinished);
        CHECK(rig.counter("status:cancelled") == 1);
    }
    SECTION("a running job is asked to stop; a finished one is already finished") {
        REQUIRE(store.submit("r", request("r"), 10) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.pop("w1"));
        CHECK(store.cancel("r", kCancelled) == JobStore::CancelOutcome::Requested);
        CHECK(store.get("r")->state == JobState::Running);
        CHECK(store.complete("r", "{}", JobState::Completed, "OK"));
        CHECK(store.cancel("r", kCancelled) == JobStore::CancelOutcome::AlreadyFinished);
        CHECK(store.get("r")->state == JobState::Completed);
    }
    SECTION("an unknown job, and another owner's, are unknown") {
        CHECK(store.cancel("nope", kCancelled) == JobStore::CancelOutcome::Unknown);
        REQUIRE(store.submit("mine", request("mine"), 10, "alice") == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.submit("also", request("also"), 10, "alice") == JobStore::SubmitOutcome::Queued);
        CHECK(store.get("mine")->owner == "alice");
        CHECK(store.cancel("mine", kCancelled, OwnerCheck::only("bob")) == JobStore::CancelOutcome::Unknown);
        CHECK(store.get("mine")->state == JobState::Queued);
        CHECK(store.queue_depth() == 2);
        CHECK(store.cancel("mine", kCancelled, OwnerCheck::only("alice")) == JobStore::CancelOutcome::Cancelled);
        CHECK(store.cancel("also", kCancelled, OwnerCheck::anyone()) == JobStore::CancelOutcome::Cancelled);
        CHECK(store.queue_depth() == 0);
    }
}

TEST_CASE("store: every long-poll on a job wakes with its result when it ends, one that comes late too",
          "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;
    REQUIRE(store.submit("w", request("w"), 10) == JobStore::SubmitOutcome::Queued);
    REQUIRE(store.pop("w1"));
    // Three waiters on the one job, one of them handed the job as just read.
    std::vector<std::optional<StoredJob>> woke(3);
    std::vector<std::thread> waiters;
    for (size_t i = 0; i < woke.size(); ++i)
        waiters.emplace_back([&, i] { woke[i] = store.wait("w", 5000, i == 0 ? store.get("w") : std::nullopt); });
    std::this_thread::sleep_for(milliseconds(200));
    const auto t0 = steady_clock::now();
    REQUIRE(store.complete("w", R"({"status":"completed","verdict":"OK"})", JobState::Completed, "OK"));
    for (auto& t : waiters) t.join();
    CHECK(steady_clock::now() - t0 < seconds(2));
    for (const auto& job : woke) {
        REQUIRE(job);
        CHECK(job->state == JobState::Completed);
        CHECK(job->result_json == R"({"status":"completed","verdict":"OK"})");
    }
    // The signal is still there, with the result's lifetime, for a late waiter.
    CHECK(rig.redis.command({"LLEN", rig.key("done:w")}).integer >= 1);
    CHECK(rig.redis.command({"TTL", rig.key("done:w")}).integer > 0);
    auto late = store.wait("w", 5000, StoredJob{JobState::Running, "", 1, "", "", "", ""});
    REQUIRE(late);
    CHECK(late->state == JobState::Completed);
}

TEST_CASE("store: TTLs of finished jobs and of queued ones", "[store][daemon]") {
    StoreSettings s = fast_settings();
    s.queue_ttl_s = 1;
    Rig rig(s);
    auto& store = rig.store;

    SECTION("a finished job and its done signal expire after result_ttl_s; an unfinished one never does") {
        REQUIRE(store.submit("f", request("f"), 10) == JobStore::SubmitOutcome::Queued);
        CHECK(rig.redis.command({"TTL", rig.key("job:f")}).integer == -1);
        REQUIRE(store.pop("w1"));
        CHECK(rig.redis.command({"TTL", rig.key("job:f")}).integer == -1);
        CHECK(store.complete("f", "{}", JobState::Completed, "OK"));
        for (const char* k : {"job:f", "done:f"}) {
            const int64_t ttl = rig.redis.command({"TTL", rig.key(k)}).integer;
            CHECK(ttl > 50);
            CHECK(ttl <= 60);
        }
        CHECK(rig.redis.command({"LLEN", rig.key("done:f")}).integer == 1);
        // A second completion records nothing.
        CHECK_FALSE(store.complete("f", "{\"again\":1}", JobState::Completed, "OK"));
        CHECK(store.get("f")->result_json == "{}");
        CHECK(rig.counter("verdict:OK") == 1);
    }
    SECTION("a job still queued queue_ttl_s after its submission expires; a running one does not") {
        REQUIRE(store.submit("run", request("run"), 1) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.submit("wait", request("wait"), 10) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.pop("w1")->id == "run");
        const int64_t created = rig.must_score("queued_at", "wait");
        CHECK(store.reap(kLost) == 0);
        CHECK(store.get("wait")->state == JobState::Queued);
        for (int i = 0; i < 6; ++i) {  // the running job's lease holds throughout
            std::this_thread::sleep_for(milliseconds(200));
            bool cancel = false;
            REQUIRE(store.renew("run", "w1", cancel));
        }
        REQUIRE(rig.now_ms() > created + 1000);
        CHECK(store.reap(kLost) == 0);
        auto w = store.get("wait");
        REQUIRE(w);
        CHECK(w->state == JobState::Cancelled);
        CHECK_THAT(w->result_json, Contains("expired"));
        CHECK(store.queue_depth() == 0);
        CHECK_FALSE(rig.score("queued_at", "wait"));
        CHECK(rig.counter("status:expired") == 1);
        CHECK(rig.counter("status:cancelled") == 0);
        CHECK(store.get("run")->state == JobState::Running);
    }
    SECTION("a job whose lease lapsed past its queue TTL is requeued and expires in the same reap") {
        REQUIRE(store.submit("late", request("late"), 10) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.pop("w1"));
        rig.sleep_past(rig.must_score("running", "late"));
        rig.sleep_past(std::stoll(rig.redis.command({"HGET", rig.key("job:late"), "created_ms"}).string) + 1000);
        CHECK(store.reap(kLost) == 1);
        auto l = store.get("late");
        REQUIRE(l);
        CHECK(l->state == JobState::Cancelled);
        CHECK_THAT(l->result_json, Contains("expired"));
        CHECK_FALSE(store.pop("w1"));
        CHECK(rig.counter("status:expired") == 1);
    }
}

TEST_CASE("store: a worker dying between the pop reply and its lease costs one more run, never a lost or second one",
          "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;

    SECTION("the pop's reply reaches a worker that dies before acting on it") {
        REQUIRE(store.submit("j", request("j"), 10) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.submit("k", request("k"), 20) == JobStore::SubmitOutcome::Queued);
        {
            // Another node: it takes the job, and is gone before it renews,
            // runs or records anything.
            RedisPool dead_pool(rig.redis.url());
            JobStore dead(dead_pool, store.settings());
            auto taken = dead.pop("dead/0");
            REQUIRE(taken);
            CHECK(taken->id == "j");
        }
        // Under the lease nobody else gets it, and nothing reaps it.
        auto k = store.pop("live/0");
        REQUIRE(k);
        CHECK(k->id == "k");
        CHECK_FALSE(store.pop("live/0"));
        CHECK(store.reap(kLost) == 0);
        CHECK(store.complete("k", "{}", JobState::Completed, "OK"));

        // Once it lapses the reaper requeues it, once...
        rig.sleep_past(rig.must_score("running", "j"));
        CHECK(store.reap(kLost) == 1);
        CHECK(store.reap(kLost) == 0);
        // ...and it runs again, exactly once.
        auto again = store.pop("live/0");
        REQUIRE(again);
        CHECK(again->id == "j");
        CHECK(again->request_json == request("j"));
        CHECK(again->attempt == 2);
        CHECK_FALSE(store.pop("live/1"));
        CHECK(store.complete("j", R"({"by":"live"})", JobState::Completed, "OK"));

        // The dead worker's lease and result, were they to arrive late, count for nothing.
        bool cancel = false;
        CHECK_FALSE(store.renew("j", "dead/0", cancel));
        CHECK_FALSE(store.complete("j", R"({"by":"dead"})", JobState::Completed, "OK"));
        auto j = store.get("j");
        REQUIRE(j);
        CHECK(j->state == JobState::Completed);
        CHECK(j->result_json == R"({"by":"live"})");
        CHECK(j->attempts == 2);
        CHECK(rig.counter("status:completed") == 2);
        CHECK(store.running_count() == 0);
        CHECK(store.queue_depth() == 0);
    }
    SECTION("the pop's reply is lost on the wire") {
        // The script is loaded once, so the relay's first reply is the pop's,
        // not a NOSCRIPT.
        REQUIRE_FALSE(store.pop("warm-up"));
        REQUIRE(store.submit("j", request("j"), 10) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.submit("k", request("k"), 20) == JobStore::SubmitOutcome::Queued);

        ReplyDroppingProxy proxy(std::stoi(rig.redis.url().substr(rig.redis.url().rfind(':') + 1)));
        std::optional<PoppedJob> got;
        {
            RedisPool pool(proxy.url());
            JobStore worker(pool, store.settings());
            // The connection breaks before the reply arrives; the store sends
            // the pop once more on a new connection, which takes the next job.
            got = worker.pop("w/0");
        }
        CHECK(proxy.dropped());
        REQUIRE(got);
        CHECK(got->id == "k");
        CHECK(got->attempt == 1);
        CHECK(store.complete("k", "{}", JobState::Completed, "OK"));

        // "j" was taken by the lost reply: leased to a worker that never
        // heard of it. It lapses, is requeued once and runs once more.
        auto j = store.get("j");
        REQUIRE(j);
        CHECK(j->state == JobState::Running);
        CHECK(j->attempts == 1);
        CHECK_FALSE(store.pop("w/1"));
        rig.sleep_past(rig.must_score("running", "j"));
        CHECK(store.reap(kLost) == 1);
        auto again = store.pop("w/1");
        REQUIRE(again);
        CHECK(again->id == "j");
        CHECK(again->attempt == 2);
        CHECK_FALSE(store.pop("w/1"));
        CHECK(store.complete("j", "{}", JobState::Completed, "OK"));
        CHECK(rig.counter("status:completed") == 2);
        CHECK(store.running_count() == 0);
        CHECK(store.queue_depth() == 0);
    }
}
