#include "cmd/testdir.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/checker.h"
#include "core/util/files.h"
#include "core/util/toml_reader.h"

namespace execd::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSettingsFile = "tests.toml";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A file below the test directory, never through a link that leads out of
// it: the directory may be an untrusted repository, read as root.
std::string read_below(int dirfd, const std::string& dir, const std::string& rel) {
    try {
        return read_file_beneath(dirfd, rel);
    } catch (const UnsafePath& e) {
        throw TestDirError(dir + "/" + rel + ": " + e.what());
    }
}

// A path below the test directory: relative, and no component that could
// climb out of it.
bool is_safe_relative_path(const std::string& path) {
    if (path.empty() || path[0] == '/') return false;
    size_t start = 0;
    while (true) {
        const size_t slash = path.find('/', start);
        const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (!is_safe_file_name(part)) return false;
        if (slash == std::string::npos) return true;
        start = slash + 1;
    }
}

// A tolerance: a finite number >= 0.
std::optional<double> tolerance(const TomlTable& r, const std::string& key) {
    const std::optional<double> d = r.number(key);
    if (d && (!std::isfinite(*d) || *d < 0)) r.fail(*r.get(key), r.name(key) + " must be a finite number >= 0");
    return d;
}

CheckerSpec read_checker(const TomlTable& top, int dirfd, const std::string& dir, const Registry& registry) {
    CheckerSpec spec;
    const toml::value* v = top.get("checker");
    if (!v) return spec;
    const TomlTable r = top.nested(*v, "[checker]");
    r.reject_unknown({"type", "abs_tolerance", "rel_tolerance", "file", "language", "limits"});
    const std::string type = r.string("type").value_or("lines");
    auto kind = checker_kind_from_name(type);
    if (!kind)
        r.fail(*r.get("type"), "[checker]: unknown type '" + type + "' (exact, lines, tokens, float or program)");
    spec.kind = *kind;

    if (spec.kind == CheckerKind::Float) {
        if (auto t = tolerance(r, "abs_tolerance")) spec.abs_tolerance = *t;
        if (auto t = tolerance(r, "rel_tolerance")) spec.rel_tolerance = *t;
    } else {
        r.refuse("abs_tolerance", "applies only to type = \"float\"");
        r.refuse("rel_tolerance", "applies only to type = \"float\"");
    }

    if (spec.kind != CheckerKind::Program) {
        for (const char* key : {"file", "language", "limits"}) r.refuse(key, "applies only to type = \"program\"");
        return spec;
    }
    const auto file = r.string("file");
    if (!file) r.fail(*v, "[checker]: type = \"program\" needs 'file', the checker's source");
    if (!is_safe_relative_path(*file))
        r.fail(*r.get("file"), "[checker]: 'file' must be a path inside the test directory, not '" + *file + "'");
    const Language* lang = nullptr;
    if (auto name = r.string("language")) {
        lang = registry.find(*name);
        if (!lang) r.fail(*r.get("language"), "[checker]: unknown language '" + *name + "' (see `exec languages`)");
    } else {
        lang = registry.by_extension(fs::path(*file).extension().string());
        if (!lang)
            r.fail(*r.get("file"),
                   "[checker]: cannot tell the language of '" + *file + "' from its extension; set 'language'");
    }
    spec.language = lang->id;
    // Before reading the file: file errors come after TOML ones.
    spec.limits = read_limit_overrides(r, "limits", "[checker] limits");
    // The API carries a checker's time and memory only; a local run may not
    // honour more than a server would.
    if (spec.limits.cpu_ms || spec.limits.pids || spec.limits.output_bytes)
        r.fail(*r.get("limits"), "[checker] limits: only time_ms and memory_mb apply to a checker");
    spec.code = read_below(dirfd, dir, *file);
    return spec;
}

struct Settings {
    CheckerSpec checker;
    LimitOverrides limits;
    bool stop_on_failure = false;
    struct PerTest {
        int line = 0;  // of its [tests.NAME] header
        std::optional<int64_t> time_ms, memory_mb;
        std::vector<std::string> args;
    };
    std::map<std::string, PerTest> tests;
};

// Parses tests.toml.
Settings read_settings(const toml::value& root, const std::string& origin, int dirfd, const std::string& dir,
                       const Registry& registry) {
    Settings s;
    const TomlTable top(origin, root, "top level");
    top.reject_unknown({"stop_on_failure", "limits", "checker", "tests"});
    s.stop_on_failure = top.boolean("stop_on_failure").value_or(false);
    s.limits = read_limit_overrides(top, "limits", "[limits]");
    s.checker = read_checker(top, dirfd, dir, registry);
    if (const toml::value* tests = top.get("tests")) {
        if (!tests->is_table()) top.fail(*tests, "'tests' must hold [tests.NAME] tables");
        for (const auto& [name, value] : tests->as_table()) {
            const std::string what = "[tests." + name + "]";
            const TomlTable r = top.nested(value, what);
            r.reject_unknown({"time_ms", "memory_mb", "args"});
            Settings::PerTest t;
            t.line = static_cast<int>(value.location().line());
            t.time_ms = r.integer("time_ms", 1, 3'600'000);
            t.memory_mb = r.integer("memory_mb", 1, 1 << 20);
            t.args = r.strings("args");
            s.tests.emplace(name, std::move(t));
        }
    }
    return s;
}

struct Files {
    std::string in, expected;  // names in the directory; expected may be empty
};

// Only names ending in these are test files; anything else in the directory
// is someone else's (sources, the checker, notes).
const char* test_file_extension(const std::string& file_name) {
    for (const char* ext : {".in", ".out", ".ans"}) {
        const size_t n = std::strlen(ext);
        if (file_name.size() > n && file_name.compare(file_name.size() - n, n, ext) == 0) return ext;
    }
    return nullptr;
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    int leading_zeros = 0;  // the first digit run that differs only in leading zeros
    while (i < a.size() && j < b.size()) {
        if (!is_digit(a[i]) || !is_digit(b[j])) {
            if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
            ++i, ++j;
            continue;
        }
        const size_t a_start = i, b_start = j;
        while (i < a.size() && is_digit(a[i])) ++i;
        while (j < b.size() && is_digit(b[j])) ++j;
        size_t a_value = a_start, b_value = b_start;  // past the leading zeros, keeping one digit
        while (a_value + 1 < i && a[a_value] == '0') ++a_value;
        while (b_value + 1 < j && b[b_value] == '0') ++b_value;
        const size_t a_len = i - a_value, b_len = j - b_value;
        if (a_len != b_len) return a_len < b_len;
        if (int c = a.compare(a_value, a_len, b, b_value, b_len)) return c < 0;
        if (leading_zeros == 0 && i - a_start != j - b_start) leading_zeros = i - a_start < j - b_start ? -1 : 1;
    }
    if (i < a.size() || j < b.size()) return j < b.size();
    return leading_zeros < 0;
}

TestSuite load_test_dir(const std::string& dir, const Registry& registry) {
    // The directory named on the command line is the caller's choice; below
    // it, nothing is read through a link that leads out of it.
    Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) throw TestDirError(dir + ": cannot read the test directory: " + std::strerror(errno));
    std::vector<std::string> entries;
    try {
        entries = list_names_at(dirfd.get());
    } catch (const std::exception& e) {
        throw TestDirError(dir + ": cannot read the test directory: " + e.what());
    }

    std::map<std::string, Files> found;
    bool has_settings = false;
    for (const std::string& file_name : entries) {
        if (file_name == kSettingsFile) has_settings = true;
        if (file_name.empty() || file_name[0] == '.') continue;
        const char* ext = test_file_extension(file_name);
        if (!ext) continue;
        const std::string path = dir + "/" + file_name;
        const std::string name = file_name.substr(0, file_name.size() - std::strlen(ext));
        // The API's rule (core/job.h): the request must be one a server takes.
        if (!is_valid_test_name(name)) throw TestDirError(path + ": " + kTestNameRule);
        // A FIFO or device would block or never end; a link is followed only
        // while it stays in the directory.
        struct stat st {};
        try {
            Fd where = open_beneath(dirfd.get(), file_name, O_PATH);
            if (::fstat(where.get(), &st) != 0)
                throw UnsafePath(errno, std::string("cannot read: ") + std::strerror(errno));
        } catch (const UnsafePath& e) {
            throw TestDirError(path + ": " + e.what());
        }
        if (!S_ISREG(st.st_mode)) throw TestDirError(path + ": not a regular file");
        Files& f = found[name];
        if (std::strcmp(ext, ".in") == 0) {
            f.in = file_name;
        } else if (!f.expected.empty()) {
            throw TestDirError(path + ": test '" + name + "' already has " + dir + "/" + f.expected +
                               "; keep one of .out and .ans");
        } else {
            f.expected = file_name;
        }
    }

    std::vector<std::string> names;
    for (const auto& [name, files] : found) {
        if (files.in.empty())
            throw TestDirError(dir + "/" + files.expected + ": expected output without " + name + ".in");
        names.push_back(name);
    }
    if (names.empty())
        throw TestDirError(dir + ": no tests (a test is NAME.in, with NAME.out or NAME.ans for its expected output)");
    std::sort(names.begin(), names.end(), natural_less);

    TestSuite suite;
    Settings settings;
    if (has_settings) {
        const std::string origin = dir + "/" + kSettingsFile;
        const std::string text = read_below(dirfd.get(), dir, kSettingsFile);
        try {
            settings = read_settings(parse_toml(text, origin), origin, dirfd.get(), dir, registry);
        } catch (const TomlError& e) {
            throw TestDirError(e.what());  // already "FILE:LINE: reason"
        }
        for (const auto& [name, per_test] : settings.tests)
            if (!found.count(name))
                throw TestDirError(origin + ":" + std::to_string(per_test.line) + ": [tests." + name +
                                   "]: no test named '" + name + "' (" + name + ".in is missing)");
        suite.checker = std::move(settings.checker);
        suite.limits = settings.limits;
        suite.stop_on_failure = settings.stop_on_failure;
    }

    for (const auto& name : names) {
        const Files& files = found.at(name);
        TestCase t;
        t.name = name;
        t.stdin_data = read_below(dirfd.get(), dir, files.in);
        if (!files.expected.empty()) t.expected_output = read_below(dirfd.get(), dir, files.expected);
        if (auto per = settings.tests.find(name); per != settings.tests.end()) {
            t.time_ms = per->second.time_ms;
            t.memory_mb = per->second.memory_mb;
            t.args = per->second.args;
        }
        suite.tests.push_back(std::move(t));
    }
    return suite;
}

}  // namespace execd::cli
