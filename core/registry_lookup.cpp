// Finding the registry file when none is named (core/registry.h).
#include <unistd.h>

#include <climits>
#include <string>
#include <string_view>

#include "core/install_dirs.h"
#include "core/registry.h"

namespace execd {

std::string installed_languages_file(std::string_view program_dir) {
    if (kInstallDataDir[0] == '\0') return "";
    const std::string lib = kInstallLibDir[0] ? std::string(kInstallLibDir) + "/execd" : "";
    for (const std::string_view dir :
         {std::string_view(kInstallBinDir), std::string_view(kInstallSbinDir), std::string_view(lib)}) {
        // The program dir is <prefix>/<dir>, with at least "/" as the prefix.
        if (dir.empty() || program_dir.size() <= dir.size() || !program_dir.ends_with(dir)) continue;
        const std::string_view prefix = program_dir.substr(0, program_dir.size() - dir.size());
        if (prefix.back() != '/') continue;
        return std::string(prefix) + kInstallDataDir + "/execd/languages.toml";
    }
    return "";
}

std::string default_languages_file() {
    if (::access(kSystemLanguagesFile, R_OK) == 0) return kSystemLanguagesFile;
    char exe[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe);
    if (n <= 0 || n == sizeof exe) return "";
    const std::string_view path(exe, static_cast<size_t>(n));
    const size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return "";
    std::string file = installed_languages_file(path.substr(0, slash));
    if (file.empty() || ::access(file.c_str(), R_OK) != 0) return "";
    return file;
}

}  // namespace execd
