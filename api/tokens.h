// API tokens (the bearer tokens of the Authorization header): the rule a
// token must meet and the token file, which execd (token_file,
// admin_token_file) and exec (--token-file) both read.
#pragma once

#include <string>
#include <vector>

namespace execd::api {

// Why `token` is refused, or "" when it is fine: a token is at least 16
// visible ASCII characters, with no blank or control character.
std::string token_problem(const std::string& token);

// Tokens, one a line: surrounding blanks (and a CR) are trimmed, empty lines
// and lines starting with '#' are skipped; each must pass token_problem.
// Throws std::runtime_error "ORIGIN:LINE: reason", which never quotes the
// bad line (it may be a secret).
std::vector<std::string> parse_token_lines(const std::string& text, const std::string& origin);

// parse_token_lines on a file. Throws std::runtime_error naming the file
// (unreadable, or a bad line with its number). When `warning` is given, it
// is set to token_file_warning(path) if the file holds tokens.
std::vector<std::string> read_token_file(const std::string& path, std::string* warning = nullptr);

// For a file holding API tokens that group or others may read: "PATH is
// readable by group or others (mode 0640) and holds API tokens; chmod 600
// it". "" when they may not (or it cannot be examined).
std::string token_file_warning(const std::string& path);

}  // namespace execd::api
