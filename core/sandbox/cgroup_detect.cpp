#include <dirent.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/sandbox/cgroup.h"
#include "core/util/sys_error.h"

namespace execd {

namespace {
constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
}

std::unique_ptr<CgroupManager> CgroupManager::detect(const std::string& parent) {
    struct statfs fs {};
    if (::statfs(kCgroupRoot, &fs) != 0) throw_errno("statfs", kCgroupRoot, "is /sys/fs/cgroup mounted?");
    if (fs.f_type == CGROUP2_SUPER_MAGIC) return make_cgroup_v2_manager(kCgroupRoot, parent);
    return make_cgroup_v1_manager(kCgroupRoot, parent);
}

std::vector<int> list_box_dirs(const std::string& parent) {
    std::vector<int> ids;
    DIR* d = ::opendir(parent.c_str());
    if (!d) return ids;
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name.rfind("box-", 0) != 0) continue;
        int id = 0;
        auto [ptr, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), id);
        if (ec == std::errc() && ptr == name.data() + name.size()) ids.push_back(id);
    }
    ::closedir(d);
    return ids;
}

int64_t read_keyed_value(const std::string& text, const std::string& key) noexcept {
    return std::max<int64_t>(0, read_keyed_value_or_absent(text, key));
}

int64_t read_keyed_value_or_absent(const std::string& text, const std::string& key) noexcept {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        std::string_view line(text.data() + pos, eol - pos);
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ') {
            int64_t v = 0;
            auto digits = line.substr(key.size() + 1);
            std::from_chars(digits.data(), digits.data() + digits.size(), v);
            return v;
        }
        pos = eol + 1;
    }
    return -1;
}

std::string pread_text(int fd) {
    char buf[4096];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0) throw_errno("pread", "cgroup fd " + std::to_string(fd));
    return std::string(buf, static_cast<size_t>(n));
}

int64_t pread_int(int fd) noexcept {
    char buf[64];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    int64_t v = -1;
    std::from_chars(buf, buf + n, v);
    return v;
}

}  // namespace execd
