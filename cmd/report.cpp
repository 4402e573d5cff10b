#include "cmd/report.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/util/utf8.h"
#include "core/verdict.h"

namespace execd::cli {
namespace {

// What a verdict counts as in a report.
enum class Outcome {
    Passed,
    Failed,   // the program's fault: JUnit <failure>
    Errored,  // the program could not be judged: JUnit <error>
    Skipped,
};

Outcome outcome_of(Verdict v) {
    switch (v) {
        case Verdict::OK: return Outcome::Passed;
        case Verdict::Skipped: return Outcome::Skipped;
        case Verdict::CompileError:
        case Verdict::CheckerError:
        case Verdict::InternalError: return Outcome::Errored;
        case Verdict::RuntimeError:
        case Verdict::TimeLimitExceeded:
        case Verdict::MemoryLimitExceeded:
        case Verdict::OutputLimitExceeded:
        case Verdict::ProcessLimitExceeded:
        case Verdict::WrongAnswer: return Outcome::Failed;
    }
    return Outcome::Errored;
}

bool failed(Verdict v) {
    const Outcome o = outcome_of(v);
    return o == Outcome::Failed || o == Outcome::Errored;
}

// ---- text -----------------------------------------------------------------

constexpr uint32_t kReplacement = 0xFFFD;

// Valid UTF-8 that is safe in XML 1.0 and on a terminal. XML 1.0 forbids C0
// controls but tab, LF and CR, and U+FFFE/U+FFFF; a terminal obeys C0 and C1
// controls (ESC, and U+009B, a one-character CSI). C0 controls (CR too, so a
// CRLF shows in a diff) and DEL become their control pictures, U+2400 + c and
// U+2421, which show what was there; the rest becomes U+FFFD.
std::string clean_text(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c == '\t' || c == '\n' || (c >= 0x20 && c < 0x7F))
                out += static_cast<char>(c);
            else if (c == 0x7F)
                append_utf8(out, 0x2421);
            else
                append_utf8(out, 0x2400 + c);
            ++i;
            continue;
        }
        uint32_t cp = 0;
        const size_t len = utf8_sequence(s, i, cp);
        if (len == 0) {
            append_utf8(out, kReplacement);
            ++i;  // resynchronise on the next byte
            continue;
        }
        if ((cp >= 0x80 && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF)
            append_utf8(out, kReplacement);
        else
            out.append(s.substr(i, len));
        i += len;
    }
    return out;
}

// `s` cut to `max` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, size_t max) {
    if (s.size() <= max) return s;
    size_t end = max;
    for (int back = 0; back < 3 && end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80; ++back) --end;
    return s.substr(0, end);
}

// The first kExcerptBytes of `s`, cleaned, saying what was left out.
std::string excerpt(std::string_view s, bool kept_only_part = false) {
    const std::string_view head = cut_utf8(s, kExcerptBytes);
    std::string out = clean_text(head);
    if (head.size() < s.size()) {
        if (!out.empty() && out.back() != '\n') out += '\n';
        out += "[" + std::to_string(s.size() - head.size()) + " more bytes not shown]";
    }
    if (kept_only_part) {
        if (!out.empty() && out.back() != '\n') out += '\n';
        out += "[the result kept only the first " + std::to_string(kTestOutputKeepBytes) + " bytes]";
    }
    return out;
}

size_t display_width(std::string_view s) {
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The first line of `s`, cleaned and cut to `max_chars` characters.
std::string first_line(std::string_view s, size_t max_chars) {
    const size_t start = s.find_first_not_of("\n");
    if (start == std::string_view::npos) return {};
    s = s.substr(start);
    const size_t nl = s.find('\n');
    const bool more_lines = nl != std::string_view::npos && s.find_first_not_of("\n", nl) != std::string_view::npos;
    std::string line = clean_text(s.substr(0, nl));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t chars = 0, cut = 0;
    for (; cut < line.size(); ++cut) {
        if ((static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) continue;
        if (chars++ == max_chars) break;
    }
    if (cut < line.size()) {
        line.resize(cut);
        line += "…";
    } else if (more_lines) {
        line += " …";
    }
    return line;
}

std::string seconds(int64_t ms) {
    if (ms < 0) ms = 0;
    std::string frac = std::to_string(ms % 1000);
    return std::to_string(ms / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

std::string megabytes(int64_t kb) {
    if (kb < 0) kb = 0;
    const int64_t tenths = (kb * 10 + 512) / 1024;  // rounded to the nearest 0.1 MB
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MB";
}

// ---- rows -----------------------------------------------------------------

struct Row {
    size_t number = 0;  // 1-based
    std::string name;
    StepResult step;
    const TestCase* test = nullptr;  // the request's test, for input and expected output
    bool ran = false;                // has a result of its own (output, time, memory)
    bool output_truncated = false;
};

std::string compiler_output(const JobResult& result) {
    if (!result.run.message.empty()) return result.run.message;
    if (result.compile) {
        std::string text = result.compile->stderr_data;
        if (!text.empty() && text.back() != '\n' && !result.compile->stdout_data.empty()) text += '\n';
        text += result.compile->stdout_data;
        if (!text.empty()) return text;
    }
    return "the compile step failed and printed nothing";
}

const TestCase* find_test(const JobRequest& request, size_t index, const std::string& name) {
    if (index < request.tests.size() && (name.empty() || request.tests[index].name == name))
        return &request.tests[index];
    for (const auto& t : request.tests)
        if (t.name == name) return &t;
    return nullptr;
}

std::vector<Row> rows_of(const JobRequest& request, const JobResult& result) {
    const size_t count = std::max(request.tests.size(), result.tests.size());
    const bool compile_error = result.run.verdict == Verdict::CompileError;
    bool explained = false;  // a test with a result already failed
    std::vector<Row> rows;
    rows.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        Row row;
        row.number = i + 1;
        const TestResult* got = i < result.tests.size() ? &result.tests[i] : nullptr;
        row.name = got ? got->name : request.tests[i].name;
        row.test = find_test(request, i, row.name);
        if (compile_error) {
            row.step = StepResult{};
            row.step.verdict = Verdict::CompileError;
            row.step.message = compiler_output(result);
        } else if (got) {
            row.step = got->result;
            row.ran = got->result.verdict != Verdict::Skipped;
            row.output_truncated = got->output_truncated;
            explained = explained || failed(got->result.verdict);
        } else if (result.cancelled || explained || !failed(result.run.verdict)) {
            row.step = StepResult{};
            row.step.verdict = Verdict::Skipped;
            row.step.message = result.cancelled ? "not run: the job was cancelled" : "not run";
        } else {
            row.step = StepResult{};
            row.step.verdict = result.run.verdict;
            row.step.message = result.run.message.empty() ? "not run" : result.run.message;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

// The first failing row: the one result.failed_test names, else the first
// that failed.
const Row* first_failure(const std::vector<Row>& rows, const JobResult& result) {
    if (!result.failed_test.empty())
        for (const auto& r : rows)
            if (r.name == result.failed_test && failed(r.step.verdict)) return &r;
    for (const auto& r : rows)
        if (failed(r.step.verdict)) return &r;
    return nullptr;
}

// A failure's one-line explanation: its message, else its exit status.
std::string short_message(const StepResult& step, size_t max_chars) {
    std::string line = first_line(step.message, max_chars);
    if (line.empty() && step.exit_code && step.verdict != Verdict::OK)
        line = "exit code " + std::to_string(*step.exit_code);
    return line;
}

// ---- table ----------------------------------------------------------------

const char* color_of(Verdict v) {
    switch (outcome_of(v)) {
        case Outcome::Passed: return "\033[32m";   // green
        case Outcome::Failed: return "\033[31m";   // red
        case Outcome::Errored: return "\033[35m";  // magenta: not the program's fault, or not judged
        case Outcome::Skipped: return "\033[2m";   // dim
    }
    return "";
}

constexpr const char* kReset = "\033[0m";
constexpr const char* kBold = "\033[1m";

std::string pad_right(std::string s, size_t width) {
    const size_t w = display_width(s);
    if (w < width) s.append(width - w, ' ');
    return s;
}

std::string pad_left(const std::string& s, size_t width) {
    const size_t w = display_width(s);
    return w < width ? std::string(width - w, ' ') + s : s;
}

// ---- XML ------------------------------------------------------------------

enum class XmlPlace { Text, Attribute };

// `s` cleaned and escaped. In an attribute, tab and newline are written as
// references, since a parser would otherwise normalise them to spaces.
std::string xml(std::string_view s, XmlPlace place = XmlPlace::Text) {
    const std::string clean = clean_text(s);
    std::string out;
    out.reserve(clean.size() + clean.size() / 8);
    for (char c : clean) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>':
                out += "&gt;";  // so "]]>" in program output cannot appear
                break;
            case '"': out += place == XmlPlace::Attribute ? "&quot;" : "\""; break;
            case '\n': out += place == XmlPlace::Attribute ? "&#10;" : "\n"; break;
            case '\t': out += place == XmlPlace::Attribute ? "&#9;" : "\t"; break;
            default: out += c;
        }
    }
    return out;
}

// Input, expected and actual excerpts for a failure's body.
std::string failure_details(const Row& row) {
    std::string body = excerpt(row.step.message);
    if (row.step.exit_code && row.step.verdict != Verdict::WrongAnswer)
        body += (body.empty() ? "" : "\n") + std::string("exit code ") + std::to_string(*row.step.exit_code);
    auto section = [&](const std::string& title, const std::string& text) {
        if (!body.empty() && body.back() != '\n') body += '\n';
        body += "--- " + title + " ---\n" + text;
    };
    if (row.test && !row.test->stdin_data.empty()) section("input", excerpt(row.test->stdin_data));
    if (row.test && row.test->expected_output) section("expected output", excerpt(*row.test->expected_output));
    if (row.ran) section("actual output", excerpt(row.step.stdout_data, row.output_truncated));
    return body;
}

// ---- TAP ------------------------------------------------------------------

// A YAML double-quoted scalar; the text is cleaned first, so only these
// characters need escapes.
std::string yaml_quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : clean_text(s)) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default: out += c;
        }
    }
    return out + "\"";
}

// A TAP description: one line, and '#' escaped, since "# SKIP" or "# TODO"
// after it would be read as a directive.
std::string tap_description(std::string_view name) {
    std::string out;
    for (char c : clean_text(name)) {
        if (c == '#' || c == '\\') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

}  // namespace

std::string summary_line(const JobRequest& request, const JobResult& result) {
    const std::vector<Row> rows = rows_of(request, result);
    const size_t passed = static_cast<size_t>(
        std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.step.verdict == Verdict::OK; }));
    std::string line = std::to_string(passed) + "/" + std::to_string(rows.size()) + " passed";
    if (result.run.verdict == Verdict::CompileError) return line + " · CompileError · no tests ran";
    if (const Row* f = first_failure(rows, result))
        line += " · " + std::string(verdict_name(f->step.verdict)) + " on test " + std::to_string(f->number) + " (" +
                clean_text(f->name) + ")";
    if (result.cancelled) line += " · cancelled";
    if (result.cached)
        line += " · compile cached";
    else if (result.compile)
        line += " · compiled in " + std::to_string(result.compile->time_ms) + " ms";
    return line;
}

void print_table(std::ostream& out, const JobRequest& request, const JobResult& result, TableColor color) {
    const bool ansi = color == TableColor::Ansi;
    auto paint = [&](const std::string& text, const char* sgr) { return ansi ? sgr + text + kReset : text; };
    const std::vector<Row> rows = rows_of(request, result);
    const bool all_passed = !rows.empty() && std::all_of(rows.begin(), rows.end(),
                                                         [](const Row& r) { return r.step.verdict == Verdict::OK; });
    const std::string summary = paint(summary_line(request, result), all_passed ? "\033[1;32m" : "\033[1;31m");

    if (result.run.verdict == Verdict::CompileError) {
        std::string text = clean_text(compiler_output(result));
        if (!text.empty() && text.back() != '\n') text += '\n';
        out << text << summary << '\n';
        return;
    }

    constexpr size_t kMessageChars = 72;
    std::vector<std::string> names;
    size_t number_w = 1, name_w = 4, verdict_w = 7, time_w = 4, memory_w = 6;
    for (const auto& r : rows) {
        names.push_back(clean_text(r.name));
        number_w = std::max(number_w, std::to_string(r.number).size());
        name_w = std::max(name_w, display_width(names.back()));
        verdict_w = std::max(verdict_w, verdict_name(r.step.verdict).size());
        if (r.ran) {
            time_w = std::max(time_w, std::to_string(r.step.time_ms).size() + 3);
            memory_w = std::max(memory_w, megabytes(r.step.memory_kb).size());
        }
    }
    const std::string gap = "  ";
    std::string header = pad_left("#", number_w) + gap + pad_right("test", name_w) + gap +
                         pad_right("verdict", verdict_w) + gap + pad_left("time", time_w) + gap +
                         pad_left("memory", memory_w);
    out << paint(header, kBold) << '\n';
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        const std::string time = r.ran ? std::to_string(r.step.time_ms) + " ms" : "-";
        const std::string memory = r.ran ? megabytes(r.step.memory_kb) : "-";
        std::string line =
            pad_left(std::to_string(r.number), number_w) + gap + pad_right(names[i], name_w) + gap +
            paint(pad_right(std::string(verdict_name(r.step.verdict)), verdict_w), color_of(r.step.verdict)) + gap +
            pad_left(time, time_w) + gap + pad_left(memory, memory_w);
        if (r.step.verdict != Verdict::OK) {
            const std::string message = short_message(r.step, kMessageChars);
            if (!message.empty()) line += gap + message;
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << '\n';
    }
    out << summary << '\n';
}

std::string junit_xml(const JobRequest& request, const JobResult& result, const std::string& suite) {
    const std::vector<Row> rows = rows_of(request, result);
    size_t failures = 0, errors = 0, skipped = 0;
    int64_t total_ms = 0;
    for (const auto& r : rows) {
        switch (outcome_of(r.step.verdict)) {
            case Outcome::Failed: ++failures; break;
            case Outcome::Errored: ++errors; break;
            case Outcome::Skipped: ++skipped; break;
            case Outcome::Passed: break;
        }
        if (r.ran) total_ms += r.step.time_ms;
    }
    // Jenkins reads a classname's part before the last dot as a package, so
    // "main.cpp" would become class "cpp" in package "main".
    std::string classname = suite;
    std::replace(classname.begin(), classname.end(), '.', '_');
    const std::string suite_attr = xml(suite, XmlPlace::Attribute);
    const std::string counts = " tests=\"" + std::to_string(rows.size()) + "\" failures=\"" + std::to_string(failures) +
                               "\" errors=\"" + std::to_string(errors) + "\"";

    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<testsuites name=\"" + suite_attr + "\"" + counts + " time=\"" + seconds(total_ms) + "\">\n";
    out += "  <testsuite name=\"" + suite_attr + "\"" + counts + " skipped=\"" + std::to_string(skipped) +
           "\" time=\"" + seconds(total_ms) + "\">\n";
    out += "    <properties>\n";
    auto property = [&](const std::string& name, const std::string& value) {
        out += "      <property name=\"" + xml(name, XmlPlace::Attribute) + "\" value=\"" +
               xml(value, XmlPlace::Attribute) + "\"/>\n";
    };
    property("language", result.language.empty() ? request.language : result.language);
    property("verdict", std::string(verdict_name(result.run.verdict)));
    if (result.cached)
        property("compile", "cached");
    else if (result.compile)
        property("compile_time_ms", std::to_string(result.compile->time_ms));
    if (result.cancelled) property("cancelled", "true");
    out += "    </properties>\n";

    for (const auto& r : rows) {
        out += "    <testcase name=\"" + xml(r.name, XmlPlace::Attribute) + "\" classname=\"" +
               xml(classname, XmlPlace::Attribute) + "\" time=\"" + seconds(r.ran ? r.step.time_ms : 0) + "\"";
        const Outcome outcome = outcome_of(r.step.verdict);
        const bool has_output = r.ran && (!r.step.stdout_data.empty() || !r.step.stderr_data.empty());
        if (outcome == Outcome::Passed && !has_output) {
            out += "/>\n";
            continue;
        }
        out += ">\n";
        const std::string type = xml(verdict_name(r.step.verdict), XmlPlace::Attribute);
        const std::string message = xml(short_message(r.step, 200), XmlPlace::Attribute);
        if (outcome == Outcome::Skipped) {
            out += "      <skipped message=\"" + message + "\"/>\n";
        } else if (outcome != Outcome::Passed) {
            const char* element = outcome == Outcome::Failed ? "failure" : "error";
            const std::string body =
                r.step.verdict == Verdict::CompileError ? excerpt(r.step.message) : failure_details(r);
            out += "      <" + std::string(element) + " message=\"" + message + "\" type=\"" + type + "\">" +
                   xml(body) + "</" + element + ">\n";
        }
        if (r.ran && !r.step.stdout_data.empty())
            out += "      <system-out>" + xml(excerpt(r.step.stdout_data, r.output_truncated)) + "</system-out>\n";
        if (r.ran && !r.step.stderr_data.empty())
            out += "      <system-err>" + xml(excerpt(r.step.stderr_data, r.output_truncated)) + "</system-err>\n";
        out += "    </testcase>\n";
    }
    out += "  </testsuite>\n</testsuites>\n";
    return out;
}

std::string tap(const JobRequest& request, const JobResult& result) {
    const std::vector<Row> rows = rows_of(request, result);
    std::string out = "TAP version 13\n";
    out += rows.empty() ? "1..0 # SKIP no tests\n" : "1.." + std::to_string(rows.size()) + "\n";
    if (result.run.verdict == Verdict::CompileError) {
        out += "# CompileError: no tests ran; the compiler said:\n";
        std::string text = excerpt(compiler_output(result));
        size_t start = 0;
        while (start < text.size()) {
            size_t nl = text.find('\n', start);
            if (nl == std::string::npos) nl = text.size();
            out += "#   " + text.substr(start, nl - start) + "\n";
            start = nl + 1;
        }
    }
    for (const auto& r : rows) {
        const std::string head = std::to_string(r.number) + " - " + tap_description(r.name);
        const Outcome outcome = outcome_of(r.step.verdict);
        if (outcome == Outcome::Passed) {
            out += "ok " + head + "\n";
            continue;
        }
        if (outcome == Outcome::Skipped) {
            std::string reason = tap_description(first_line(r.step.message, 200));
            out += "ok " + head + " # SKIP" + (reason.empty() ? "" : " " + reason) + "\n";
            continue;
        }
        out += "not ok " + head + "\n  ---\n";
        out += "  verdict: " + std::string(verdict_name(r.step.verdict)) + "\n";
        if (r.step.verdict == Verdict::CompileError) {
            out += "  message: \"compilation failed; the compiler's output is above\"\n  ...\n";
            continue;
        }
        if (!r.step.message.empty()) out += "  message: " + yaml_quoted(excerpt(r.step.message)) + "\n";
        if (r.ran) {
            out += "  time_ms: " + std::to_string(r.step.time_ms) + "\n";
            out += "  memory_kb: " + std::to_string(r.step.memory_kb) + "\n";
        }
        if (r.step.exit_code) out += "  exit_code: " + std::to_string(*r.step.exit_code) + "\n";
        if (r.test && r.test->expected_output)
            out += "  expected: " + yaml_quoted(excerpt(*r.test->expected_output)) + "\n";
        if (r.ran) out += "  got: " + yaml_quoted(excerpt(r.step.stdout_data, r.output_truncated)) + "\n";
        if (r.ran && !r.step.stderr_data.empty())
            out += "  stderr: " + yaml_quoted(excerpt(r.step.stderr_data, r.output_truncated)) + "\n";
        out += "  ...\n";
    }
    out += "# " + summary_line(request, result) + "\n";
    return out;
}

}  // namespace execd::cli
