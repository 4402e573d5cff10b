#include "core/job_wire.h"

#include "core/util/wire.h"

namespace execd {
namespace {

// The formats: bump one whenever a field is added or changes meaning.
constexpr std::string_view kRequestMagic = "execd-job-request 2\n";
constexpr std::string_view kResultMagic = "execd-job-result 1\n";
constexpr std::string_view kProgressMagic = "execd-job-progress 1\n";

void write_files(wire::Writer& w, const std::vector<SourceFile>& files) {
    w.integer(static_cast<int64_t>(files.size()));
    for (const auto& f : files) {
        w.text(f.name);
        w.text(f.content);
    }
}

std::vector<SourceFile> read_files(wire::Reader& r) {
    std::vector<SourceFile> files(r.count(16));
    for (auto& f : files) {
        f.name = r.text();
        f.content = r.text();
    }
    return files;
}

void write_step(wire::Writer& w, const StepResult& s) {
    w.integer(static_cast<int64_t>(s.verdict));
    w.maybe(s.exit_code ? std::optional<int64_t>(*s.exit_code) : std::nullopt);
    w.text(s.stdout_data);
    w.text(s.stderr_data);
    w.integer(s.time_ms);
    w.integer(s.cpu_ms);
    w.integer(s.memory_kb);
    w.text(s.message);
}

StepResult read_step(wire::Reader& r) {
    StepResult s;
    const int64_t verdict = r.integer();
    if (verdict < 0 || verdict > static_cast<int64_t>(Verdict::InternalError)) r.fail();
    s.verdict = static_cast<Verdict>(verdict);
    if (auto code = r.maybe()) s.exit_code = static_cast<int>(*code);
    s.stdout_data = r.text();
    s.stderr_data = r.text();
    s.time_ms = r.integer();
    s.cpu_ms = r.integer();
    s.memory_kb = r.integer();
    s.message = r.text();
    return s;
}

void write_test_result(wire::Writer& w, const TestResult& t) {
    w.text(t.name);
    write_step(w, t.result);
    w.flag(t.output_truncated);
}

TestResult read_test_result(wire::Reader& r) {
    TestResult t;
    t.name = r.text();
    t.result = read_step(r);
    t.output_truncated = r.flag();
    return t;
}

}  // namespace

std::string encode_request(const JobRequest& q) {
    wire::Writer w(kRequestMagic);
    w.text(q.language);
    w.text(q.code);
    write_files(w, q.files);
    w.text(q.stdin_data);
    w.texts(q.args);
    encode_limits(w, q.limits);
    w.integer(static_cast<int64_t>(q.tests.size()));
    for (const auto& t : q.tests) {
        w.text(t.name);
        w.text(t.stdin_data);
        w.maybe_text(t.expected_output);
        w.texts(t.args);
        w.maybe(t.time_ms);
        w.maybe(t.memory_mb);
    }
    const CheckerSpec& c = q.checker;
    w.integer(static_cast<int64_t>(c.kind));
    w.real(c.abs_tolerance);
    w.real(c.rel_tolerance);
    w.text(c.language);
    w.text(c.code);
    write_files(w, c.files);
    encode_limits(w, c.limits);
    w.flag(q.stop_on_failure);
    w.integer(q.max_output_bytes);
    return w.take();
}

std::optional<JobRequest> decode_request(std::string_view bytes) {
    wire::Reader r(bytes);
    if (!r.expect(kRequestMagic)) return std::nullopt;
    JobRequest q;
    q.language = r.text();
    q.code = r.text();
    q.files = read_files(r);
    q.stdin_data = r.text();
    q.args = r.texts();
    q.limits = decode_limits(r);
    q.tests.resize(r.count(64));
    for (auto& t : q.tests) {
        t.name = r.text();
        t.stdin_data = r.text();
        t.expected_output = r.maybe_text();
        t.args = r.texts();
        t.time_ms = r.maybe();
        t.memory_mb = r.maybe();
    }
    CheckerSpec& c = q.checker;
    const int64_t kind = r.integer();
    if (kind < 0 || kind > static_cast<int64_t>(CheckerKind::Program)) r.fail();
    c.kind = static_cast<CheckerKind>(kind);
    c.abs_tolerance = r.real();
    c.rel_tolerance = r.real();
    c.language = r.text();
    c.code = r.text();
    c.files = read_files(r);
    c.limits = decode_limits(r);
    q.stop_on_failure = r.flag();
    q.max_output_bytes = r.integer();
    if (!r.at_end()) return std::nullopt;
    return q;
}

std::string encode_result(const JobResult& j) {
    wire::Writer w(kResultMagic);
    w.text(j.language);
    write_step(w, j.run);
    w.flag(j.compile.has_value());
    if (j.compile) write_step(w, *j.compile);
    w.flag(j.cached);
    w.integer(static_cast<int64_t>(j.tests.size()));
    for (const auto& t : j.tests) write_test_result(w, t);
    w.text(j.failed_test);
    w.flag(j.cancelled);
    return w.take();
}

std::optional<JobResult> decode_result(std::string_view bytes) {
    wire::Reader r(bytes);
    if (!r.expect(kResultMagic)) return std::nullopt;
    JobResult j;
    j.language = r.text();
    j.run = read_step(r);
    if (r.flag()) j.compile = read_step(r);
    j.cached = r.flag();
    j.tests.resize(r.count(64));
    for (auto& t : j.tests) t = read_test_result(r);
    j.failed_test = r.text();
    j.cancelled = r.flag();
    if (!r.at_end()) return std::nullopt;
    return j;
}

std::string encode_test_progress(const TestResult& test, size_t index, size_t total) {
    wire::Writer w(kProgressMagic);
    write_test_result(w, test);
    w.integer(static_cast<int64_t>(index));
    w.integer(static_cast<int64_t>(total));
    return w.take();
}

std::optional<TestProgress> decode_test_progress(std::string_view bytes) {
    wire::Reader r(bytes);
    if (!r.expect(kProgressMagic)) return std::nullopt;
    TestProgress p;
    p.test = read_test_result(r);
    const int64_t index = r.integer(), total = r.integer();
    if (index < 0 || total < 0 || index >= total) r.fail();
    p.index = static_cast<size_t>(index);
    p.total = static_cast<size_t>(total);
    if (!r.at_end()) return std::nullopt;
    return p;
}

}  // namespace execd
