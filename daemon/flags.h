// execd's command-line flags for its settings, made from the table
// (settings.h): names, value types, allowed values and --help. A value given
// is kept until apply(), which comes after the file and the environment, so
// flags win.
#pragma once

#include <CLI/CLI.hpp>
#include <utility>
#include <vector>

#include "daemon/config.h"
#include "daemon/settings.h"

namespace execd::daemon {

class SettingFlags {
public:
    // Adds a flag to `app` for every setting that has one. `app` must
    // outlive this object's parsing; this object must not move after.
    explicit SettingFlags(CLI::App& app);
    SettingFlags(const SettingFlags&) = delete;
    SettingFlags& operator=(const SettingFlags&) = delete;

    // Puts every flag given into `config`. Throws std::runtime_error
    // "--workers: [workers] count must be between 0 and 1024, not 5000" for
    // an integer out of its range.
    void apply(Config& config) const;

private:
    void given(const Setting& setting, SettingValue value);
    std::vector<std::pair<const Setting*, SettingValue>> given_;
};

}  // namespace execd::daemon
