#include "api/tokens.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace execd::api {
namespace {

bool visible_ascii(const std::string& token) {
    for (unsigned char ch : token)
        if (ch <= 0x20 || ch >= 0x7f) return false;
    return true;
}

}  // namespace

std::string token_problem(const std::string& token) {
    if (!visible_ascii(token)) return "a token must be visible ASCII characters with no blank or control character";
    if (token.size() < 16) return "a token must be at least 16 characters long";
    return {};
}

std::string token_file_warning(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 0044) == 0) return {};
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return path + " is readable by group or others (mode " + mode + ") and holds API tokens; chmod 600 it";
}

std::vector<std::string> parse_token_lines(const std::string& text, const std::string& origin) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        const auto last = line.find_last_not_of(" \t\r");
        const std::string token = line.substr(first, last - first + 1);
        if (std::string problem = token_problem(token); !problem.empty())
            throw std::runtime_error(origin + ":" + std::to_string(number) + ": " + problem);
        out.push_back(token);
    }
    return out;
}

std::vector<std::string> read_token_file(const std::string& path, std::string* warning) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the token file " + path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw std::runtime_error("cannot read the token file " + path);
    auto tokens = parse_token_lines(text.str(), path);
    if (warning && !tokens.empty()) *warning = token_file_warning(path);
    return tokens;
}

}  // namespace execd::api
