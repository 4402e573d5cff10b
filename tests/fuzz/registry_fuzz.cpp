// languages.toml: any text is a registry or a RegistryError naming the
// problem; no other exception, no crash. What parses survives the snapshot
// exec keeps in its cache, and bytes that are no snapshot (a corrupt cache
// file) are refused, not trusted.
#include <string>

#include "core/registry.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const Registry registry = Registry::parse(text, "fuzz.toml");
        for (const Language& lang : registry.languages()) {
            FUZZ_REQUIRE(registry.find(lang.id) == &lang);
            FUZZ_REQUIRE(!lang.run.empty());
        }
        const std::optional<Registry> back = Registry::from_snapshot(registry.snapshot());
        FUZZ_REQUIRE(back.has_value() && *back == registry);
    } catch (const RegistryError& e) {
        FUZZ_REQUIRE(std::string(e.what()).rfind("fuzz.toml", 0) == 0);
    }
    if (const std::optional<Registry> cached = Registry::from_snapshot(text))
        FUZZ_REQUIRE(Registry::from_snapshot(cached->snapshot()) == cached);
    return 0;
}
