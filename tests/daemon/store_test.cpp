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
#include "tests/daemon/redis_proxy.h"

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

// Each job script as store.cpp sends it (with the prelude where it takes
// it): the SHA1 a cut is aimed at.
const Script kSubmitScript(std::string(lua::kPrelude) + lua::kSubmit);
const Script kPopScript(std::string(lua::kPrelude) + lua::kPop);
const Script kCompleteScript(std::string(lua::kPrelude) + lua::kComplete);
const Script kRetryScript(std::string(lua::kPrelude) + lua::kRetry);
const Script kRenewScript(std::string(lua::kPrelude) + lua::kRenew);
const Script kProgressScript(lua::kProgress);
const Script kCancelScript(std::string(lua::kPrelude) + lua::kCancel);
const Script kReapScript(std::string(lua::kPrelude) + lua::kReap);

// Loads every script, so that a cut meets the script's EVALSHA, not the
// NOSCRIPT answer before it.
void load_scripts(RedisServer& redis) {
    for (const Script* s : {&kSubmitScript, &kPopScript, &kCompleteScript, &kRetryScript, &kRenewScript,
                            &kProgressScript, &kCancelScript, &kReapScript}) {
        Reply r = redis.command({"SCRIPT", "LOAD", s->source});
        REQUIRE(r.string == s->sha);
    }
    REQUIRE(redis.command({"SCRIPT", "LOAD", std::string(lua::kPrelude) + lua::kReapDue}).kind == Reply::Kind::String);
}

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
    CHECK(store.complete("a", a->lease, R"({"by":"w1"})", JobState::Completed, "OK", "w1", &next));
    REQUIRE(next);
    CHECK(next->id == "b");
    CHECK(next->lease != a->lease);
    const std::string b_lease = next->lease;
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

    // Another attempt's result, once one was recorded, records nothing but
    // still takes the next job.
    CHECK_FALSE(store.complete("a", "another attempt", R"({"again":1})", JobState::Completed, "OK", "w1", &next));
    REQUIRE(next);
    CHECK(next->id == "c");
    CHECK_FALSE(next->more);
    const std::string c_lease = next->lease;
    CHECK(store.get("a")->result_json == R"({"by":"w1"})");

    // Nothing left: the result is recorded and no job comes back; without
    // `next` nothing is taken.
    CHECK(store.complete("b", b_lease, "{}", JobState::Completed, "OK", "w1", &next));
    CHECK_FALSE(next);
    REQUIRE(store.submit("d", request("d"), 10) == JobStore::SubmitOutcome::Queued);
    CHECK(store.complete("c", c_lease, "{}", JobState::Completed, "OK"));
    CHECK(store.get("d")->state == JobState::Queued);
    CHECK(rig.counter("verdict:OK") == 3);
}

TEST_CASE("store: a lease is renewed by its holder only, and carries a cancel request", "[store][daemon]") {
    Rig rig;
    auto& store = rig.store;
    REQUIRE(store.submit("j", request("j"), 10) == JobStore::SubmitOutcome::Queued);
    auto taken = store.pop("w1");
    REQUIRE(taken);
    const std::string lease = taken->lease;
    CHECK(lease.size() == 16);
    const int64_t first = rig.must_score("running", "j");

    std::this_thread::sleep_for(milliseconds(100));
    bool cancel = true;
    CHECK(store.renew("j", lease, cancel));
    CHECK_FALSE(cancel);
    const int64_t renewed = rig.must_score("running", "j");
    CHECK(renewed >= first + 90);

    // Not by another attempt's token, nor by the worker's name.
    CHECK_FALSE(store.renew("j", JobStore::new_lease(), cancel));
    CHECK_FALSE(store.renew("j", "w1", cancel));
    CHECK(rig.must_score("running", "j") == renewed);

    // Progress only from the holder.
    store.progress("j", JobStore::new_lease(), "1/5");
    CHECK(store.get("j")->progress.empty());
    store.progress("j", lease, "2/5");
    CHECK(store.get("j")->progress == "2/5");

    // A cancel of a running job is a request its worker sees on renew.
    CHECK(store.cancel("j", kCancelled) == JobStore::CancelOutcome::Requested);
    CHECK(store.get("j")->state == JobState::Running);
    CHECK(store.renew("j", lease, cancel));
    CHECK(cancel);

    CHECK(store.complete("j", lease, kCancelled, JobState::Cancelled, ""));
    auto j = store.get("j");
    REQUIRE(j);
    CHECK(j->state == JobState::Cancelled);
    CHECK(j->progress.empty());
    CHECK_FALSE(store.renew("j", lease, cancel));
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
        CHECK_FALSE(store.retry("r", JobStore::new_lease(), kExhausted));  // not this attempt's: nothing
        CHECK(rig.score("running", "r"));
        store.retry("r", job->lease, kExhausted);
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
    CHECK(store.retry("r", last->lease, kExhausted));
    auto r = store.get("r");
    REQUIRE(r);
    CHECK(r->state == JobState::Completed);
    CHECK(r->result_json == kExhausted);
    CHECK_FALSE(rig.score("delayed", "r"));
    CHECK(rig.counter("verdict:InternalError") == 1);
    CHECK(rig.counter("status:completed") == 1);

    // A retry of a finished job changes nothing.
    CHECK_FALSE(store.retry("r", JobStore::new_lease(), kLost));
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
    CHECK(rig.redis.command({"HEXISTS", rig.key("job:a"), "lease"}).integer == 0);
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
        CHECK(store.complete(id, job->lease, "{}", JobState::Completed, "OK"));
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
    auto taken = store.pop("w1");
    REQUIRE(taken);
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
    REQUIRE(store.renew("j", taken->lease, cancel));

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
        auto r = store.pop("w1");
        REQUIRE(r);
        CHECK(store.cancel("r", kCancelled) == JobStore::CancelOutcome::Requested);
        CHECK(store.get("r")->state == JobState::Running);
        CHECK(store.complete("r", r->lease, "{}", JobState::Completed, "OK"));
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
    auto taken = store.pop("w1");
    REQUIRE(taken);
    // Three waiters on the one job, one of them handed the job as just read.
    std::vector<std::optional<StoredJob>> woke(3);
    std::vector<std::thread> waiters;
    for (size_t i = 0; i < woke.size(); ++i)
        waiters.emplace_back([&, i] { woke[i] = store.wait("w", 5000, i == 0 ? store.get("w") : std::nullopt); });
    std::this_thread::sleep_for(milliseconds(200));
    const auto t0 = steady_clock::now();
    REQUIRE(store.complete("w", taken->lease, R"({"status":"completed","verdict":"OK"})", JobState::Completed, "OK"));
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
        auto f = store.pop("w1");
        REQUIRE(f);
        CHECK(rig.redis.command({"TTL", rig.key("job:f")}).integer == -1);
        CHECK(store.complete("f", f->lease, "{}", JobState::Completed, "OK"));
        for (const char* k : {"job:f", "done:f"}) {
            const int64_t ttl = rig.redis.command({"TTL", rig.key(k)}).integer;
            CHECK(ttl > 50);
            CHECK(ttl <= 60);
        }
        CHECK(rig.redis.command({"LLEN", rig.key("done:f")}).integer == 1);
        // A second completion, another attempt's, records nothing.
        CHECK_FALSE(store.complete("f", JobStore::new_lease(), "{\"again\":1}", JobState::Completed, "OK"));
        CHECK(store.get("f")->result_json == "{}");
        CHECK(rig.counter("verdict:OK") == 1);
    }
    SECTION("a job still queued queue_ttl_s after its submission expires; a running one does not") {
        REQUIRE(store.submit("run", request("run"), 1) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.submit("wait", request("wait"), 10) == JobStore::SubmitOutcome::Queued);
        auto run = store.pop("w1");
        REQUIRE(run);
        REQUIRE(run->id == "run");
        const int64_t created = rig.must_score("queued_at", "wait");
        CHECK(store.reap(kLost) == 0);
        CHECK(store.get("wait")->state == JobState::Queued);
        for (int i = 0; i < 6; ++i) {  // the running job's lease holds throughout
            std::this_thread::sleep_for(milliseconds(200));
            bool cancel = false;
            REQUIRE(store.renew("run", run->lease, cancel));
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
        std::string dead_lease;
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
            dead_lease = taken->lease;
        }
        // Under the lease nobody else gets it, and nothing reaps it.
        auto k = store.pop("live/0");
        REQUIRE(k);
        CHECK(k->id == "k");
        CHECK_FALSE(store.pop("live/0"));
        CHECK(store.reap(kLost) == 0);
        CHECK(store.complete("k", k->lease, "{}", JobState::Completed, "OK"));

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
        CHECK(store.complete("j", again->lease, R"({"by":"live"})", JobState::Completed, "OK"));

        // The dead worker's lease and result, were they to arrive late, count for nothing.
        bool cancel = false;
        CHECK_FALSE(store.renew("j", dead_lease, cancel));
        CHECK_FALSE(store.complete("j", dead_lease, R"({"by":"dead"})", JobState::Completed, "OK"));
        auto j = store.get("j");
        REQUIRE(j);
        CHECK(j->state == JobState::Completed);
        CHECK(j->result_json == R"({"by":"live"})");
        CHECK(j->attempts == 2);
        CHECK(rig.counter("status:completed") == 2);
        CHECK(store.running_count() == 0);
        CHECK(store.queue_depth() == 0);
    }
    SECTION("the pop's reply is lost on the wire: sent again, the pop gives the same job, still attempt 1") {
        load_scripts(rig.redis);
        REQUIRE(store.submit("j", request("j"), 10) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.submit("k", request("k"), 20) == JobStore::SubmitOutcome::Queued);

        RedisProxy proxy(port_of(rig.redis.url()));
        RedisPool pool(proxy.url());
        JobStore worker(pool, store.settings());
        // The connection breaks once Redis has run the pop; the store sends
        // it once more, on a new connection, with the same token.
        proxy.cut_next(kPopScript.sha, RedisProxy::Cut::After);
        auto got = worker.pop("w/0");
        CHECK(proxy.cuts() == 1);
        REQUIRE(got);
        CHECK(got->id == "j");
        CHECK(got->attempt == 1);
        CHECK(store.get("j")->attempts == 1);
        CHECK(store.get("k")->state == JobState::Queued);
        CHECK(store.queue_depth() == 1);
        CHECK(worker.complete("j", got->lease, "{}", JobState::Completed, "OK"));

        // Both sendings cut: the pop fails, and the worker's next take, with
        // the same token, gets the job the lost reply held.
        proxy.cut_every(1, kPopScript.sha, RedisProxy::Cut::After);
        const std::string token = JobStore::new_lease();
        CHECK_THROWS_AS(worker.pop("w/0", token), RedisUnavailable);
        CHECK(proxy.cuts() == 3);
        proxy.cut_every(0, "", RedisProxy::Cut::After);
        CHECK(store.get("k")->state == JobState::Running);
        auto k = worker.pop("w/0", token);
        REQUIRE(k);
        CHECK(k->id == "k");
        CHECK(k->attempt == 1);
        CHECK(k->lease == token);
        CHECK(worker.complete("k", k->lease, "{}", JobState::Completed, "OK"));
        // A token takes once: sent again once its job is over, it takes
        // nothing; a new token takes the next job.
        REQUIRE(store.submit("l", request("l"), 10) == JobStore::SubmitOutcome::Queued);
        CHECK_FALSE(worker.pop("w/0", token));
        CHECK(store.get("l")->state == JobState::Queued);
        auto l = worker.pop("w/0");
        REQUIRE(l);
        CHECK(l->id == "l");
        CHECK(worker.complete("l", l->lease, "{}", JobState::Completed, "OK"));
        CHECK(rig.counter("status:completed") == 3);
        CHECK(store.running_count() == 0);
        CHECK(store.queue_depth() == 0);
        CHECK(store.get("j")->attempts == 1);
        CHECK(store.get("k")->attempts == 1);
    }
}

TEST_CASE("store: a connection cut before or after Redis runs a script: sent again, each acts once and answers as once",
          "[store][daemon]") {
    for (const auto when : {RedisProxy::Cut::Before, RedisProxy::Cut::After}) {
        INFO((when == RedisProxy::Cut::Before ? "cut before Redis runs it" : "cut after, the reply lost"));
        StoreSettings settings = fast_settings();
        settings.lease_ms = 60000;  // nothing lapses unless the test says so
        Rig rig(settings);
        auto& store = rig.store;  // straight to Redis: set-up and checks
        load_scripts(rig.redis);
        RedisProxy proxy(port_of(rig.redis.url()));
        RedisPool pool(proxy.url());
        JobStore cut(pool, store.settings());  // every call under test goes through the proxy
        int cuts = 0;
        auto arm = [&](const std::string& marker) {
            proxy.cut_next(marker, when);
            ++cuts;
        };
        auto llen = [&](const std::string& key) { return rig.redis.command({"LLEN", rig.key(key)}).integer; };

        // submit: one job, then a batch; each queued once.
        arm(kSubmitScript.sha);
        CHECK(cut.submit("a", request("a"), 10) == JobStore::SubmitOutcome::Queued);
        CHECK(proxy.cuts() == cuts);
        CHECK(store.queue_depth() == 1);
        CHECK(rig.redis.command({"GET", rig.key("seq")}).string == "1");
        CHECK(rig.redis.command({"GET", rig.key("queued_bytes")}).string == std::to_string(request("a").size()));
        arm(kSubmitScript.sha);
        CHECK(cut.submit_all({{"b", request("b"), 10, "", ""}, {"c", request("c"), 10, "", ""}}) ==
              JobStore::SubmitOutcome::Queued);
        CHECK(proxy.cuts() == cuts);
        CHECK(store.queue_depth() == 3);
        CHECK(rig.redis.command({"GET", rig.key("seq")}).string == "3");
        CHECK(llen("wake") == 3);

        // pop: one job, once.
        arm(kPopScript.sha);
        auto a = cut.pop("w/0");
        CHECK(proxy.cuts() == cuts);
        REQUIRE(a);
        CHECK(a->id == "a");
        CHECK(a->attempt == 1);
        CHECK(store.get("a")->attempts == 1);
        CHECK(store.queue_depth() == 2);
        CHECK(store.running_count() == 1);

        // renew and progress.
        arm(kRenewScript.sha);
        bool cancel = true;
        CHECK(cut.renew("a", a->lease, cancel));
        CHECK_FALSE(cancel);
        CHECK(proxy.cuts() == cuts);
        arm(kProgressScript.sha);
        cut.progress("a", a->lease, "1/2");
        CHECK(proxy.cuts() == cuts);
        CHECK(store.get("a")->progress == "1/2");

        // complete, taking the next job: recorded (and counted) once, one job taken.
        arm(kCompleteScript.sha);
        std::optional<PoppedJob> b;
        CHECK(cut.complete("a", a->lease, R"({"r":"a"})", JobState::Completed, "OK", "w/0", &b));
        CHECK(proxy.cuts() == cuts);
        REQUIRE(b);
        CHECK(b->id == "b");
        CHECK(b->attempt == 1);
        CHECK(store.get("a")->result_json == R"({"r":"a"})");
        CHECK(rig.counter("status:completed") == 1);
        CHECK(rig.counter("verdict:OK") == 1);
        CHECK(llen("done:a") == 1);
        CHECK(store.get("b")->attempts == 1);
        CHECK(store.get("c")->state == JobState::Queued);

        // retry: delayed once, answered "delayed" (false).
        arm(kRetryScript.sha);
        CHECK_FALSE(cut.retry("b", b->lease, kExhausted));
        CHECK(proxy.cuts() == cuts);
        CHECK(rig.score("delayed", "b"));
        CHECK(store.get("b")->state == JobState::Queued);
        CHECK(rig.counter("verdict:InternalError") == 0);

        // cancel of a running job: asked; its result, without a next job.
        auto c = store.pop("w/1");
        REQUIRE(c);
        REQUIRE(c->id == "c");
        arm(kCancelScript.sha);
        CHECK(cut.cancel("c", kCancelled) == JobStore::CancelOutcome::Requested);
        CHECK(proxy.cuts() == cuts);
        arm(kCompleteScript.sha);
        CHECK(cut.complete("c", c->lease, kCancelled, JobState::Cancelled, ""));
        CHECK(proxy.cuts() == cuts);
        CHECK(rig.counter("status:cancelled") == 1);

        // cancel of a queued job (b waits out its backoff): cancelled, once.
        arm(kCancelScript.sha);
        CHECK(cut.cancel("b", kCancelled) == JobStore::CancelOutcome::Cancelled);
        CHECK(proxy.cuts() == cuts);
        CHECK(rig.counter("status:cancelled") == 2);
        CHECK(llen("done:b") == 1);
        CHECK(rig.redis.command({"GET", rig.key("queued_bytes")}).string == "0");

        // retry with no attempt left: completed as exhausted, counted once.
        REQUIRE(store.submit("d", request("d"), 10) == JobStore::SubmitOutcome::Queued);
        auto d = store.pop("w/2");
        REQUIRE(d);
        StoreSettings one = cut.settings();
        one.attempts = 1;
        cut.update(one);
        arm(kRetryScript.sha);
        CHECK(cut.retry("d", d->lease, kExhausted));
        CHECK(proxy.cuts() == cuts);
        CHECK(store.get("d")->result_json == kExhausted);
        CHECK(rig.counter("verdict:InternalError") == 1);
        CHECK(rig.counter("status:completed") == 2);
        cut.update(store.settings());

        // reap: a lapsed lease requeued once (its count is that sending's).
        REQUIRE(store.submit("e", request("e"), 10) == JobStore::SubmitOutcome::Queued);
        REQUIRE(store.pop("w/3"));
        rig.redis.command({"ZADD", rig.key("running"), "XX", "1", "e"});  // its lease ran out long ago
        const int64_t wakes = llen("wake");
        arm(kReapScript.sha);
        const int requeued = cut.reap(kLost);
        CHECK(proxy.cuts() == cuts);
        CHECK(requeued == (when == RedisProxy::Cut::Before ? 1 : 0));
        CHECK(store.get("e")->state == JobState::Queued);
        CHECK(store.queue_depth() == 1);
        CHECK(llen("wake") == wakes + 1);
        auto e = store.pop("w/3");
        REQUIRE(e);
        CHECK(e->attempt == 2);

        // A long-poll whose BLPOP is cut still answers once the job ends,
        // not when its wait runs out.
        std::optional<StoredJob> waited;
        arm("BLPOP");
        const auto t0 = steady_clock::now();
        std::thread waiter([&] { waited = cut.wait("e", 30000); });
        std::this_thread::sleep_for(milliseconds(300));  // the BLPOP is sent, or cut, by then
        REQUIRE(store.complete("e", e->lease, R"({"r":"e"})", JobState::Completed, "OK"));
        waiter.join();
        CHECK(proxy.cuts() == cuts);
        REQUIRE(waited);
        CHECK(waited->state == JobState::Completed);
        CHECK(steady_clock::now() - t0 < seconds(20));

        // In all: every job ended once; nothing left running or queued.
        CHECK(rig.counter("status:completed") == 3);
        CHECK(rig.counter("status:cancelled") == 2);
        CHECK(store.running_count() == 0);
        CHECK(store.queue_depth() == 0);
        CHECK(rig.redis.command({"ZCARD", rig.key("delayed")}).integer == 0);
    }
}
