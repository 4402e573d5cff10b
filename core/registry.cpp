#include "core/registry.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/util/fd.h"
#include "core/util/files.h"
#include "core/util/toml_reader.h"
#include "core/util/wire.h"

namespace execd {
namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A language's environment: a table of strings, names without '='.
std::map<std::string, std::string> read_env(const TomlTable& r, const std::string& key) {
    std::map<std::string, std::string> out;
    const toml::value* v = r.get(key);
    if (!v) return out;
    if (!v->is_table()) r.fail(*v, r.name(key) + " must be a table of strings");
    for (const auto& [k, val] : v->as_table()) {
        if (k.empty() || k.find('=') != std::string::npos)
            r.fail(val, r.what() + ": bad environment variable name '" + k + "'");
        if (!val.is_string()) r.fail(val, r.what() + ": environment value of '" + k + "' must be a string");
        out[k] = val.as_string().str;
    }
    return out;
}

void check_argv(const TomlTable& r, const toml::value& at, const std::string& what,
                const std::vector<std::string>& argv) {
    if (argv.empty()) return;
    const std::string& prog = argv[0];
    // No PATH search inside the box: a program is named by its path.
    if (prog.empty() || (prog[0] != '/' && prog.rfind("./", 0) != 0))
        r.fail(at, what + ": program '" + prog + "' must be an absolute path or start with ./");
}

bool valid_id(const std::string& id) {
    if (id.empty() || id.size() > 32) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+';
    });
}

}  // namespace

Limits LimitOverrides::apply(Limits base) const {
    if (time_ms) base.time_ms = *time_ms;
    // Raising or lowering the wall time moves the CPU time with it, unless
    // the CPU time is given too.
    if (time_ms && !cpu_ms) base.cpu_ms = *time_ms;
    if (cpu_ms) base.cpu_ms = *cpu_ms;
    if (memory_mb) base.memory_mb = *memory_mb;
    if (pids) base.pids = *pids;
    if (output_bytes) base.output_bytes = *output_bytes;
    return base;
}

LimitOverrides read_limit_overrides(const TomlTable& parent, const std::string& key, const std::string& what) {
    LimitOverrides o;
    const toml::value* v = parent.get(key);
    if (!v) return o;
    const TomlTable r = parent.nested(*v, what);
    r.reject_unknown({"time_ms", "cpu_ms", "memory_mb", "pids", "output_bytes"});
    o.time_ms = r.integer("time_ms", 1, 3'600'000);
    o.cpu_ms = r.integer("cpu_ms", 1, 3'600'000);
    o.memory_mb = r.integer("memory_mb", 1, 1 << 20);
    o.pids = r.integer("pids", 1, 1 << 16);
    o.output_bytes = r.integer("output_bytes", 1, int64_t{1} << 32);
    return o;
}

bool Language::usable() const {
    for (const auto* argv : {&compile, &run})
        if (!argv->empty() && (*argv)[0][0] == '/' && ::access((*argv)[0].c_str(), X_OK) != 0) return false;
    return true;
}

namespace {

// An empty directory of the caller's own (root's, for the engine), 0755, for
// a version probe's HOME and working directory: nothing anyone else planted
// can be read from there. Removed, with whatever the probe left, when done.
class ProbeHome {
public:
    ProbeHome() {
        std::string tmpl = "/tmp/execd-probe-home-XXXXXX";
        if (::mkdtemp(tmpl.data()) && ::chmod(tmpl.c_str(), 0755) == 0) path_ = tmpl;
    }
    ~ProbeHome() {
        if (path_.empty()) return;
        Fd parent(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (parent) remove_tree_at(parent.get(), path_.substr(5));
    }
    ProbeHome(const ProbeHome&) = delete;
    ProbeHome& operator=(const ProbeHome&) = delete;

    // Where there is none (no writable /tmp), a home that does not exist.
    std::string home() const { return path_.empty() ? "/nonexistent" : path_; }
    std::string cwd() const { return path_.empty() ? "/" : path_; }

private:
    std::string path_;
};

}  // namespace

std::string Language::probe_version() const {
    if (version_cmd.empty() || ::access(version_cmd[0].c_str(), X_OK) != 0) return {};
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return {};
    Fd read_end(fds[0]), write_end(fds[1]);
    // The probe runs on the host, as the caller (root for execd): never with
    // a HOME or working directory another user could have written to, where
    // a toolchain would read its configuration (~/.fpc.cfg, fpc.cfg, go.work).
    const ProbeHome home;
    const std::string cwd = home.cwd();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    std::vector<char*> argv;
    for (const auto& a : version_cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_strings{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + home.home()};
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    write_end.reset();
    if (rc != 0) return {};
    std::string text;
    try {
        text = read_all(read_end.get());
    } catch (const std::exception&) {
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::istringstream in(text);
    for (std::string text_line; std::getline(in, text_line);) {
        while (!text_line.empty() && std::isspace(static_cast<unsigned char>(text_line.back()))) text_line.pop_back();
        size_t start = text_line.find_first_not_of(" \t");
        if (start != std::string::npos) return text_line.substr(start);
    }
    return {};
}

Registry Registry::load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw RegistryError(path + ": cannot open: " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path);
}

Registry Registry::embedded() { return parse(kEmbeddedLanguagesToml, kEmbeddedLanguagesOrigin); }

Registry Registry::parse(const std::string& text, const std::string& origin) {
    // The reader's refusals carry file and line already; they become ours.
    try {
        const toml::value root = parse_toml(text, origin);
        Registry reg;
        reg.origin_ = origin;
        TomlTable top(origin, root, "top level");
        top.reject_unknown({"sandbox", "language"});
        if (const toml::value* sb = top.get("sandbox")) {
            TomlTable r = top.nested(*sb, "[sandbox]");
            r.reject_unknown({"binds"});
            reg.binds_ = r.strings("binds");
            for (const auto& b : reg.binds_)
                if (b.empty() || b[0] != '/') r.fail(*r.get("binds"), "[sandbox]: binds must be absolute paths");
        }
        const toml::value* langs = top.get("language");
        if (!langs) top.fail(root, "no [language.<id>] tables: the registry defines no language");
        if (!langs->is_table()) top.fail(*langs, "'language' must be a table of [language.<id>] tables");

        std::map<std::string, std::string> names_seen;  // id/alias -> owner
        std::map<std::string, std::string> ext_seen;
        // Validate in file order, so a clash is reported at the later stanza.
        std::vector<std::pair<const std::string*, const toml::value*>> stanzas;
        for (const auto& [key, val] : langs->as_table()) stanzas.emplace_back(&key, &val);
        std::sort(stanzas.begin(), stanzas.end(), [](const auto& a, const auto& b) {
            return a.second->location().line() < b.second->location().line();
        });
        for (const auto& [id_ptr, value_ptr] : stanzas) {
            const std::string& id = *id_ptr;
            const toml::value& value = *value_ptr;
            const std::string what = "language '" + id + "'";
            if (!valid_id(id)) top.fail(value, what + ": ids use only a-z, 0-9, _, - and +");
            TomlTable r = top.nested(value, what);
            r.reject_unknown({"name", "aliases", "extensions", "variant_of", "source", "packages", "version", "compile",
                              "run", "env", "binds", "run_tmpfs_mb", "limits", "compile_limits"});
            Language l;
            l.id = id;
            l.line = static_cast<int>(value.location().line());
            l.name = r.required_string("name");
            l.aliases = r.strings("aliases");
            // A variant (C++20 beside C++17) takes its base's extensions for
            // {sources} and is chosen by its id or aliases only.
            if (const auto* base_value = r.get("variant_of")) {
                const std::string base_id = r.required_string("variant_of");
                if (r.get("extensions"))
                    r.fail(*r.get("extensions"), what + ": a variant takes the extensions of '" + base_id + "'");
                auto base = std::find_if(reg.languages_.begin(), reg.languages_.end(),
                                         [&](const Language& b) { return b.id == base_id; });
                if (base == reg.languages_.end())
                    r.fail(*base_value, what + ": variant_of names '" + base_id + "', which no stanza above defines");
                if (!base->variant_of.empty())
                    r.fail(*base_value, what + ": '" + base_id + "' is itself a variant of '" + base->variant_of + "'");
                l.variant_of = base_id;
                l.extensions = base->extensions;
            } else {
                l.extensions = r.required_strings("extensions");
            }
            l.source = r.required_string("source");
            if (!is_safe_file_name(l.source)) r.fail(*r.get("source"), what + ": 'source' must be a plain file name");
            l.packages = r.strings("packages");
            l.version_cmd = r.strings("version");
            l.compile = r.strings("compile");
            l.run = r.required_strings("run");
            check_argv(r, *r.get("run"), what + " run", l.run);
            if (std::find(l.run.begin(), l.run.end(), "{sources}") != l.run.end())
                r.fail(*r.get("run"), what + ": '{sources}' belongs in compile, not run");
            if (const auto* c = r.get("compile")) check_argv(r, *c, what + " compile", l.compile);
            l.env = read_env(r, "env");
            l.binds = r.strings("binds");
            for (const auto& b : l.binds)
                if (b.empty() || b[0] != '/') r.fail(*r.get("binds"), what + ": binds must be absolute paths");
            l.run_tmpfs_mb = r.integer("run_tmpfs_mb", 0, 4096).value_or(0);
            l.limits = read_limit_overrides(r, "limits", what + " limits");
            l.compile_limits = read_limit_overrides(r, "compile_limits", what + " compile_limits");
            if (!l.compiled() && r.get("compile_limits"))
                r.fail(*r.get("compile_limits"), what + ": compile_limits without compile");

            std::vector<std::string> names{id};
            for (const auto& a : l.aliases) names.push_back(lower(a));
            for (const auto& n : names) {
                auto [it, fresh] = names_seen.emplace(n, id);
                if (!fresh && it->second != id)
                    r.fail(value, what + ": name '" + n + "' is already used by language '" + it->second + "'");
            }
            for (auto& e : l.extensions) {
                if (!l.variant_of.empty()) break;
                if (!e.empty() && e[0] == '.') e.erase(0, 1);
                auto [it, fresh] = ext_seen.emplace(lower(e), id);
                if (!fresh && it->second != id)
                    r.fail(value, what + ": extension '" + e + "' is already claimed by '" + it->second + "'");
            }
            reg.languages_.push_back(std::move(l));
        }
        return reg;
    } catch (const TomlError& e) {
        throw RegistryError(e.what());
    }
}

// ---------------------------------------------------------------- snapshot
//
// "execd-registry <format>\n", then every field of the registry in the order
// below (core/util/wire.h). Bump the format whenever a field is added or
// changes meaning: it is in the cache key too, so old snapshots are simply
// not found.
// (tests/unit/registry_test.cpp checks that a round trip gives back an equal
// Registry, which compares every field.)

namespace {
constexpr std::string_view kSnapshotMagic = "execd-registry 2\n";
}  // namespace

void encode_limits(wire::Writer& w, const LimitOverrides& l) {
    for (const auto* f : {&l.time_ms, &l.cpu_ms, &l.memory_mb, &l.pids, &l.output_bytes}) w.maybe(*f);
}

LimitOverrides decode_limits(wire::Reader& r) {
    LimitOverrides l;
    for (auto* f : {&l.time_ms, &l.cpu_ms, &l.memory_mb, &l.pids, &l.output_bytes}) *f = r.maybe();
    return l;
}

Limits default_compile_limits() {
    Limits l;
    l.time_ms = 15000;
    l.cpu_ms = 15000;
    l.memory_mb = 512;
    l.pids = 64;
    l.output_bytes = 64 * 1024;
    l.file_size_mb = 256;
    l.open_files = 1024;
    return l;
}

std::string Registry::snapshot() const {
    wire::Writer w(kSnapshotMagic);
    w.text(origin_);
    w.texts(binds_);
    w.integer(static_cast<int64_t>(languages_.size()));
    for (const Language& l : languages_) {
        w.text(l.id);
        w.text(l.name);
        w.texts(l.aliases);
        w.texts(l.extensions);
        w.text(l.variant_of);
        w.text(l.source);
        w.texts(l.packages);
        w.texts(l.version_cmd);
        w.texts(l.compile);
        w.texts(l.run);
        w.integer(static_cast<int64_t>(l.env.size()));
        for (const auto& [k, v] : l.env) {
            w.text(k);
            w.text(v);
        }
        w.texts(l.binds);
        w.integer(l.run_tmpfs_mb);
        encode_limits(w, l.limits);
        encode_limits(w, l.compile_limits);
        w.integer(l.line);
    }
    return w.take();
}

std::optional<Registry> Registry::from_snapshot(std::string_view bytes) {
    wire::Reader r(bytes);
    if (!r.expect(kSnapshotMagic)) return std::nullopt;
    Registry reg;
    reg.origin_ = r.text();
    reg.binds_ = r.texts();
    reg.languages_.resize(r.count(64));
    for (Language& l : reg.languages_) {
        l.id = r.text();
        l.name = r.text();
        l.aliases = r.texts();
        l.extensions = r.texts();
        l.variant_of = r.text();
        l.source = r.text();
        l.packages = r.texts();
        l.version_cmd = r.texts();
        l.compile = r.texts();
        l.run = r.texts();
        for (size_t n = r.count(16); n > 0 && r.ok(); --n) {
            std::string k = r.text();
            l.env[k] = r.text();
        }
        l.binds = r.texts();
        l.run_tmpfs_mb = r.integer();
        l.limits = decode_limits(r);
        l.compile_limits = decode_limits(r);
        l.line = static_cast<int>(r.integer());
        if (!r.ok()) return std::nullopt;
    }
    if (!r.at_end()) return std::nullopt;
    return reg;
}

const Language* Registry::find(const std::string& id_or_alias) const {
    const std::string key = lower(id_or_alias);
    for (const auto& l : languages_) {
        if (l.id == key) return &l;
        for (const auto& a : l.aliases)
            if (lower(a) == key) return &l;
    }
    return nullptr;
}

const Language* Registry::by_extension(const std::string& extension) const {
    std::string key = lower(extension);
    if (!key.empty() && key[0] == '.') key.erase(0, 1);
    for (const auto& l : languages_) {
        if (!l.variant_of.empty()) continue;
        for (const auto& e : l.extensions)
            if (lower(e) == key) return &l;
    }
    return nullptr;
}

std::vector<std::string> Registry::sandbox_binds() const {
    std::vector<std::string> out = binds_;
    for (const auto& l : languages_)
        for (const auto& b : l.binds)
            if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    return out;
}

}  // namespace execd
