// What the fuzz targets share: the registry and maxima a server starts with,
// and a check that aborts (so libFuzzer reports the input) when a property
// of the code under test does not hold.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "api/maxima.h"
#include "core/registry.h"

namespace execd::fuzz {

// The built-in registry, as a server without --languages has it.
inline const Registry& registry() {
    static const Registry r = Registry::embedded();
    return r;
}

// execd's default [limits.max] (daemon/settings.cpp), so the parser sees the
// limits a default server would apply.
inline api::Maxima maxima() {
    api::Maxima m;
    m.time_ms = 30000;
    m.cpu_ms = 30000;
    m.memory_mb = 1024;
    m.pids = 256;
    m.output_bytes = 1 << 20;
    m.code_bytes = 1 << 20;
    m.stdin_bytes = 16 << 20;
    m.files = 64;
    m.args = 64;
    m.tests = 500;
    m.job_time_ms = 3600000;
    return m;
}

}  // namespace execd::fuzz

// A property that must hold for every input.
#define FUZZ_REQUIRE(condition)                                                                          \
    do {                                                                                                 \
        if (!(condition)) {                                                                              \
            std::fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                                \
        }                                                                                                \
    } while (0)
