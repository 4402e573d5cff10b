#include "core/registry.h"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "core/install_dirs.h"
#include "tests/support.h"

using namespace execd;
using Catch::Matchers::Contains;

namespace {

const char* kGood = R"(
[sandbox]
binds = ["/usr"]

[language.python]
name = "Python"
aliases = ["py"]
extensions = ["py"]
source = "main.py"
run = ["/usr/bin/python3", "main.py"]
limits = { memory_mb = 256 }

[language.c]
name = "C"
extensions = [".c"]
source = "main.c"
compile = ["/usr/bin/gcc", "-o", "main", "main.c"]
compile_limits = { time_ms = 20000 }
run = ["./main"]
env = { A = "b" }
)";

std::string refusal(const std::string& text) {
    try {
        Registry::parse(text, "bad.toml");
    } catch (const RegistryError& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("a valid registry parses in file order", "[unit]") {
    Registry r = Registry::parse(kGood, "good.toml");
    REQUIRE(r.languages().size() == 2);
    CHECK(r.languages()[0].id == "python");
    CHECK(r.languages()[1].id == "c");
    CHECK(r.find("PY")->id == "python");
    CHECK(r.by_extension(".c")->id == "c");
    CHECK(r.by_extension("c")->id == "c");
    CHECK(r.find("cobol") == nullptr);
    CHECK(r.languages()[1].compiled());
    CHECK(*r.languages()[0].limits.memory_mb == 256);
    CHECK(r.languages()[1].env.at("A") == "b");
    CHECK(r.sandbox_binds() == std::vector<std::string>{"/usr"});
}

TEST_CASE("a malformed registry is refused with its line and reason", "[unit]") {
    CHECK_THAT(refusal("[language.x]\nname = \"X\"\nextensions = [\"x\"\n"),
               Contains("bad.toml:4: syntax error") && Contains("missing array separator"));
    CHECK_THAT(
        refusal("[language.x]\nname = \"X\"\nextensions = [\"x\"]\nsource = \"m.x\"\nrun = [\"/bin/x\"]\ncolour = 1\n"),
        Contains("bad.toml:6") && Contains("unknown key 'colour'"));
    CHECK_THAT(refusal("[language.x]\nname = \"X\"\nextensions = [\"x\"]\nsource = \"m.x\"\n"),
               Contains("bad.toml:1") && Contains("missing required key 'run'"));
    CHECK_THAT(refusal("[language.x]\nname = 5\n"), Contains("bad.toml:2") && Contains("'name' must be a string"));
    CHECK_THAT(refusal("[language.x]\nname = \"X\"\nextensions = [\"x\"]\nsource = \"m.x\"\nrun = [\"x\"]\n"),
               Contains("bad.toml:5") && Contains("absolute path"));
    CHECK_THAT(refusal("[language.x]\nname = \"X\"\nextensions = [\"x\"]\nsource = \"../m.x\"\nrun = [\"/x\"]\n"),
               Contains("bad.toml:4") && Contains("plain file name"));
    CHECK_THAT(refusal(std::string(kGood) +
                       "\n[language.d]\nname = \"D\"\nextensions = [\"py\"]\nsource = \"m\"\nrun = [\"/x\"]\n"),
               Contains("extension 'py' is already claimed by 'python'"));
    CHECK_THAT(refusal("[language.x]\nname = \"X\"\nextensions = [\"x\"]\nsource = \"m\"\nrun = [\"/x\"]\nlimits = { "
                       "memory_mb = -1 }\n"),
               Contains("bad.toml:6") && Contains("memory_mb"));
    CHECK_THAT(refusal("[sandbox]\nbinds = []\n"), Contains("defines no language"));
    CHECK_THAT(refusal("[language.\"Bad Id\"]\nname = \"X\"\n"), Contains("ids use only"));
    // What toml11 cannot take safely (found by tests/fuzz): deep nesting
    // ran it out of stack, a long binary integer overflowed it.
    CHECK_THAT(refusal("[language.x]\nname = \"X\"\nargs = " + std::string(65, '[') + "\n"),
               Contains("bad.toml:3: arrays or tables nested more than 64 deep"));
    CHECK_THAT(refusal("[language.x]\n\nn = 0b" + std::string(63, '1') + "\n"),
               Contains("bad.toml:3: a binary integer of more than 62 digits"));
    // Neither counts inside strings or comments, and 62 digits are fine to the parser.
    CHECK_THAT(refusal("# " + std::string(80, '[') + "\n[language.x]\nname = \"" + std::string(80, '{') +
                       "\"\nd = '0b" + std::string(70, '1') + "'\nn = 0b" + std::string(62, '1') + "\n"),
               Contains(": language 'x': unknown key"));  // past the parser: its own checks
    CHECK_THAT(refusal("[language.x]\nname = 'X\xc0\xaf'\n"),
               Contains("bad.toml:2: not UTF-8 (byte 0xC0 at column 10); a TOML file must be UTF-8"));
}

TEST_CASE("a variant takes its base's extensions and is chosen by id or alias only", "[unit]") {
    const std::string variant =
        "\n[language.c23]\nname = \"C23\"\naliases = [\"c2x\"]\nvariant_of = \"c\"\nsource = \"main.c\"\n"
        "compile = [\"/usr/bin/gcc\", \"-std=c2x\", \"-o\", \"main\", \"{sources}\"]\nrun = [\"./main\"]\n";
    Registry r = Registry::parse(std::string(kGood) + variant, "good.toml");
    const Language* c23 = r.find("c2x");
    REQUIRE(c23 != nullptr);
    CHECK(c23->id == "c23");
    CHECK(c23->variant_of == "c");
    CHECK(c23->extensions == std::vector<std::string>{"c"});
    REQUIRE(r.by_extension(".c") != nullptr);
    CHECK(r.by_extension(".c")->id == "c");
    // The snapshot keeps it.
    auto again = Registry::from_snapshot(r.snapshot());
    REQUIRE(again);
    CHECK(again->find("c23")->variant_of == "c");
    CHECK(again->by_extension("c")->id == "c");

    CHECK_THAT(refusal(std::string(kGood) + "\n[language.x]\nname = \"X\"\nvariant_of = \"cobol\"\nsource = "
                                            "\"m\"\nrun = [\"/x\"]\n"),
               Contains("variant_of names 'cobol', which no stanza above defines"));
    CHECK_THAT(refusal(std::string(kGood) + "\n[language.x]\nname = \"X\"\nvariant_of = \"c\"\nextensions = "
                                            "[\"x\"]\nsource = \"m\"\nrun = [\"/x\"]\n"),
               Contains("a variant takes the extensions of 'c'"));
    CHECK_THAT(refusal(std::string(kGood) + variant +
                       "\n[language.y]\nname = \"Y\"\nvariant_of = \"c23\"\nsource = \"m\"\nrun = [\"/x\"]\n"),
               Contains("'c23' is itself a variant of 'c'"));
    CHECK_THAT(refusal(std::string(kGood) + "\n[language.x]\nname = \"X\"\nvariant_of = 3\nsource = \"m\"\nrun = "
                                            "[\"/x\"]\n"),
               Contains("'variant_of' must be a string"));
}

TEST_CASE("the repository's registry is valid, large, and embedded", "[unit]") {
    const Registry& repo = test::repo_registry();
    CHECK(repo.languages().size() >= 15);
    for (const char* required : {"python", "javascript", "c", "cpp", "java"}) CHECK(repo.find(required) != nullptr);
    Registry embedded = Registry::embedded();
    CHECK(embedded.languages().size() == repo.languages().size());
}

TEST_CASE("a registry snapshot gives back the same registry, and anything else is refused", "[unit]") {
    const std::string every_field = std::string(kGood) + R"(
[language.java]
name = "Java"
aliases = ["jdk", "Java17"]
extensions = ["java"]
source = "Main.java"
packages = ["openjdk-17-jdk-headless"]
version = ["/usr/bin/java", "-version"]
compile = ["/usr/bin/javac", "{sources}"]
run = ["/usr/bin/java", "Main"]
env = { JAVA_TOOL_OPTIONS = "-Xss8m", B = "" }
binds = ["/usr/lib/jvm", "/etc/java-17-openjdk"]
run_tmpfs_mb = 64
limits = { time_ms = 1, cpu_ms = 2, memory_mb = 3, pids = 4, output_bytes = 5 }
compile_limits = { time_ms = 6, cpu_ms = 7, memory_mb = 8, pids = 9, output_bytes = 10 }

[language.java-preview]
name = "Java, preview features"
variant_of = "java"
source = "Main.java"
compile = ["/usr/bin/javac", "--enable-preview", "{sources}"]
run = ["/usr/bin/java", "--enable-preview", "Main"]
)";
    for (const Registry& original : {Registry::parse(every_field, "every.toml"), test::repo_registry()}) {
        INFO(original.origin());
        const std::string bytes = original.snapshot();
        const auto copy = Registry::from_snapshot(bytes);
        REQUIRE(copy);
        CHECK(*copy == original);  // every field, by the defaulted ==
        CHECK(copy->origin() == original.origin());
        CHECK(copy->sandbox_binds() == original.sandbox_binds());
    }

    const Registry reg = Registry::parse(every_field, "every.toml");
    const std::string bytes = reg.snapshot();
    // The defaulted == does tell registries apart.
    CHECK_FALSE(Registry::parse(kGood, "every.toml") == reg);
    // Cut anywhere, or with bytes after the end, or another format: refused.
    for (size_t n = 0; n < bytes.size(); ++n) {
        INFO(n);
        REQUIRE_FALSE(Registry::from_snapshot(std::string_view(bytes).substr(0, n)));
    }
    CHECK_FALSE(Registry::from_snapshot(bytes + "x"));
    std::string other_format = bytes;
    other_format[other_format.find('2')] = '9';  // "execd-registry 2\n": the format's number
    CHECK_FALSE(Registry::from_snapshot(other_format));
    // A length that runs past the end is refused without reserving it.
    std::string huge = bytes;
    const size_t origin_length = std::string_view(bytes).find('\n') + 1;
    huge[origin_length + 7] = '\x7f';
    CHECK_FALSE(Registry::from_snapshot(huge));
}

TEST_CASE("the installed registry is found from the program's directory below any prefix", "[unit]") {
    // Built from the configured layout (bin, sbin, lib, share by default).
    const std::string bin = kInstallBinDir, sbin = kInstallSbinDir, lib = kInstallLibDir;
    const std::string file = std::string(kInstallDataDir) + "/execd/languages.toml";
    REQUIRE_FALSE(file.starts_with("/"));
    CHECK(installed_languages_file("/usr/" + bin) == "/usr/" + file);
    CHECK(installed_languages_file("/usr/" + sbin) == "/usr/" + file);
    CHECK(installed_languages_file("/usr/" + lib + "/execd") == "/usr/" + file);
    CHECK(installed_languages_file("/opt/moved/prefix/" + bin) == "/opt/moved/prefix/" + file);
    CHECK(installed_languages_file("/" + bin) == "/" + file);
    // A build tree, another directory that merely ends alike, a relative
    // path: no installed copy to look for.
    CHECK(installed_languages_file("/work/build/cmd") == "");
    CHECK(installed_languages_file("/home/me/my" + bin) == "");
    CHECK(installed_languages_file("/usr/" + lib) == "");
    CHECK(installed_languages_file(bin) == "");
    CHECK(installed_languages_file("") == "");
}

TEST_CASE("install-deps.sh --langs installs what the registry says each language needs, and refuses unknown ones",
          "[unit]") {
    const std::string script = EXECD_SOURCE_DIR "/packaging/install-deps.sh";
    auto packages_of = [&](const std::vector<std::string>& args) {
        std::vector<std::string> argv{script, "--runtime", "--print"};
        argv.insert(argv.end(), args.begin(), args.end());
        test::Process p = test::run_process(argv);
        INFO(p.err);
        REQUIRE(p.exit_code == 0);
        std::set<std::string> out;
        std::istringstream in(p.out);
        for (std::string line; std::getline(in, line);) out.insert(line);
        return out;
    };
    const Registry& registry = test::repo_registry();
    std::set<std::string> every;
    for (const Language& l : registry.languages()) every.insert(l.packages.begin(), l.packages.end());
    // Without --langs: every language's packages and redis-server, nothing else.
    std::set<std::string> expected = every;
    expected.insert("redis-server");
    CHECK(packages_of({}) == expected);
    // Each language alone, by id and by its first alias: exactly its own.
    for (const Language& l : registry.languages()) {
        INFO(l.id);
        std::set<std::string> own(l.packages.begin(), l.packages.end());
        own.insert("redis-server");
        CHECK(packages_of({"--langs", l.id}) == own);
        if (!l.aliases.empty()) CHECK(packages_of({"--langs=" + l.aliases.front()}) == own);
    }
    // Several, in any case, as `exec languages` shows them.
    std::set<std::string> two = packages_of({"--langs", "PYTHON,c++"});
    CHECK(two == std::set<std::string>{"python3", "g++", "redis-server"});
    // An unknown name is refused by name, and nothing is printed.
    test::Process bad = test::run_process({script, "--print", "--langs", "python,klingon"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Contains("no language \"klingon\""));
    CHECK(bad.out.empty());
}
