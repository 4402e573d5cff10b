// cgroup v2: boxes live below execd's own cgroup when it is delegated to us
// (systemd's Delegate=yes), else below /sys/fs/cgroup/execd. A box's cgroup is
// made fresh for each run: on kernels before 6.12, memory.peak cannot be
// reset, so a reused cgroup would report an earlier run's peak. The child is
// born inside it with clone3(CLONE_INTO_CGROUP), so no attach write is needed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/sandbox/cgroup.h"
#include "core/util/fd.h"
#include "core/util/files.h"
#include "core/util/sys_error.h"

namespace execd {
namespace {

Fd open_knob(const std::string& path, int flags) {
    Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd) throw_errno("open", path);
    return fd;
}

class BoxCgroupV2 final : public BoxCgroup {
public:
    explicit BoxCgroupV2(std::string path) : path_(std::move(path)) {}

    ~BoxCgroupV2() override { remove(); }

    void recycle() override {
        // A fresh directory per run: its counters (cpu.stat, memory.peak,
        // the events files) start at zero, which v2 cannot reset otherwise.
        remove();
        if (::mkdir(path_.c_str(), 0755) != 0) throw_errno("mkdir", path_);
        dir_ = open_knob(path_, O_RDONLY | O_DIRECTORY);
        cpu_stat_ = open_knob(path_ + "/cpu.stat", O_RDONLY);
        pids_events_ = open_knob(path_ + "/pids.events", O_RDONLY);
        swap_ = ::access((path_ + "/memory.swap.max").c_str(), F_OK) == 0;  // absent without swap accounting
    }

    void prepare(const Limits& limits) override {
        if (!dir_) recycle();
        write_file(path_ + "/memory.max", std::to_string(limits.memory_mb * 1024 * 1024));
        if (swap_) write_file(path_ + "/memory.swap.max", "0");
        write_file(path_ + "/pids.max", std::to_string(limits.pids));
        // The CPU the run's process spent while it was prepared is not the
        // program's.
        cpu_base_ = read_keyed_value(pread_text(cpu_stat_.get()), "usage_usec") * 1000;
    }

    JoinPlan join_plan() const override {
        JoinPlan plan;
        plan.clone_into_fd = dir_.get();
        return plan;
    }

    int64_t cpu_ns() override { return read_keyed_value(pread_text(cpu_stat_.get()), "usage_usec") * 1000 - cpu_base_; }

    bool pids_limit_hit() override { return read_keyed_value(pread_text(pids_events_.get()), "max") > 0; }

    // Opened on first use: most runs end before anyone asks.
    int64_t memory_usage() override {
        if (!memory_current_) memory_current_ = open_knob(path_ + "/memory.current", O_RDONLY);
        return pread_int(memory_current_.get());
    }

    MemoryStat memory_stat() override {
        if (!memory_stat_) memory_stat_ = open_knob(path_ + "/memory.stat", O_RDONLY);
        const std::string text = pread_text(memory_stat_.get());
        return {read_keyed_value(text, "anon") + read_keyed_value(text, "shmem"), read_keyed_value(text, "pgmajfault"),
                read_keyed_value_or_absent(text, "workingset_refault_file")};
    }

    bool kill_all() override {
        if (!dir_) return true;
        using namespace std::chrono;
        // cgroup.kill (Linux >= 5.14) kills every process in the cgroup at once,
        // including ones forked while the kill is in progress.
        const std::string events = path_ + "/cgroup.events";
        const auto give_up = steady_clock::now() + seconds(10);
        for (int round = 0;; ++round) {
            std::string text;
            try {
                text = read_file(events);
            } catch (const SystemFailure&) {
                return false;
            }
            if (read_keyed_value(text, "populated") == 0) return true;
            if (round == 0 || round % 50 == 0) try_write_file(path_ + "/cgroup.kill", "1");
            if (steady_clock::now() > give_up) return false;
            std::this_thread::sleep_for(microseconds(round < 10 ? 100 : 2000));
        }
    }

    CgroupUsage finish() override {
        CgroupUsage u;
        u.cpu_ns = cpu_ns();
        try {
            u.memory_peak_bytes = std::stoll(read_file(path_ + "/memory.peak"));
        } catch (const std::exception&) {
            u.memory_peak_bytes = 0;  // memory.peak is Linux >= 5.19
        }
        u.oom_kills = read_keyed_value(read_file(path_ + "/memory.events"), "oom_kill");
        u.pids_limit_hits = read_keyed_value(pread_text(pids_events_.get()), "max");
        remove();
        return u;
    }

private:
    void remove() {
        if (::access(path_.c_str(), F_OK) != 0) return;
        dir_.reset();
        cpu_stat_.reset();
        pids_events_.reset();
        memory_current_.reset();
        memory_stat_.reset();
        kill_all_by_path();
        for (int i = 0; i < 1000 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i)
            std::this_thread::sleep_for(std::chrono::microseconds(500));
    }

    void kill_all_by_path() {
        try_write_file(path_ + "/cgroup.kill", "1");
        for (int i = 0; i < 2000; ++i) {
            std::string text;
            try {
                text = read_file(path_ + "/cgroup.events");
            } catch (const SystemFailure&) {
                return;
            }
            if (read_keyed_value(text, "populated") == 0) return;
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
    }

    std::string path_;
    Fd dir_, cpu_stat_, pids_events_, memory_current_, memory_stat_;
    bool swap_ = false;
    int64_t cpu_base_ = 0;
};

// "0::/some/path" from /proc/self/cgroup.
std::string own_cgroup() {
    std::istringstream in(read_file("/proc/self/cgroup"));
    for (std::string line; std::getline(in, line);)
        if (line.rfind("0::", 0) == 0) return line.substr(3);
    return "/";
}

bool only_we_are_in(const std::string& cgroup_dir) {
    std::istringstream in(read_file(cgroup_dir + "/cgroup.procs"));
    const pid_t self = ::getpid();
    for (pid_t pid; in >> pid;)
        if (pid != self) return false;
    return true;
}

void enable_controllers(const std::string& dir) {
    write_file(dir + "/cgroup.subtree_control", "+memory +pids");
    try_write_file(dir + "/cgroup.subtree_control", "+cpu");  // optional: accounting works without it
}

class CgroupManagerV2 final : public CgroupManager {
public:
    CgroupManagerV2(const std::string& root, const std::string& parent_name) {
        const std::string own = own_cgroup();
        const std::string own_dir = root + (own == "/" ? "" : own);
        // Delegated: we are alone in our cgroup (a systemd service with
        // Delegate=yes, or a test scope). The "no internal processes" rule
        // means we must move into a leaf before enabling controllers below.
        if (own != "/" && only_we_are_in(own_dir)) {
            try {
                const std::string leaf = own_dir + "/supervisor";
                if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir", leaf);
                write_file(leaf + "/cgroup.procs", "0");
                enable_controllers(own_dir);
                parent_ = own_dir;
                return;
            } catch (const SystemFailure&) {
                // fall through to the shared parent
            }
        }
        parent_ = root + "/" + parent_name;
        if (::mkdir(parent_.c_str(), 0755) != 0 && errno != EEXIST)
            throw_errno("mkdir", parent_, "is execd running as root?");
        enable_controllers(root);
        enable_controllers(parent_);
        owns_parent_ = true;
    }

    ~CgroupManagerV2() override {
        if (owns_parent_) ::rmdir(parent_.c_str());
    }

    std::unique_ptr<BoxCgroup> make_box(int box_id) override {
        return std::make_unique<BoxCgroupV2>(parent_ + "/box-" + std::to_string(box_id));
    }

    std::string describe() const override { return "cgroup v2 (" + parent_ + ")"; }

    std::vector<int> existing_boxes() const override { return list_box_dirs(parent_); }

    void remove_box(int box_id) override { make_box(box_id); }  // the destructor kills and removes

    int version() const override { return 2; }

private:
    std::string parent_;
    bool owns_parent_ = false;
};

}  // namespace

std::unique_ptr<CgroupManager> make_cgroup_v2_manager(const std::string& mount_root, const std::string& parent) {
    return std::make_unique<CgroupManagerV2>(mount_root, parent);
}

}  // namespace execd
