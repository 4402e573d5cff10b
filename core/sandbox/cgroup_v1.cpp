// cgroup v1: one directory per box in each of the memory, pids and cpuacct
// hierarchies, below a parent named "execd" (or "execd-<instance>"). A Box makes them once and reuses
// them for every run it does (a job's compile and run steps; a daemon's whole
// lifetime); the child joins by writing to `tasks`, never `cgroup.procs`.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "core/sandbox/cgroup.h"
#include "core/util/fd.h"
#include "core/util/files.h"
#include "core/util/sys_error.h"

namespace execd {
namespace {

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        throw_errno("mkdir", path, errno == EACCES || errno == EPERM ? "is execd running as root?" : "");
}

Fd open_knob(const std::string& path, int flags) {
    Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd) throw_errno("open", path);
    return fd;
}

class BoxCgroupV1 final : public BoxCgroup {
public:
    BoxCgroupV1(std::string memory, std::string pids, std::string cpuacct)
        : memory_(std::move(memory)), pids_(std::move(pids)), cpuacct_(std::move(cpuacct)) {
        for (const auto* dir : {&memory_, &pids_, &cpuacct_}) make_dir(*dir);
        // The child joins by writing "0" to `tasks`: the single-threaded child
        // moving itself skips the global lock that a `cgroup.procs` write waits on.
        tasks_[0] = open_knob(memory_ + "/tasks", O_WRONLY);
        tasks_[1] = open_knob(pids_ + "/tasks", O_WRONLY);
        tasks_[2] = open_knob(cpuacct_ + "/tasks", O_WRONLY);
        cpu_usage_ = open_knob(cpuacct_ + "/cpuacct.usage", O_RDWR);
        pids_events_ = open_knob(pids_ + "/pids.events", O_RDONLY);
        max_usage_ = open_knob(memory_ + "/memory.max_usage_in_bytes", O_RDWR);
        usage_ = open_knob(memory_ + "/memory.usage_in_bytes", O_RDONLY);
        oom_control_ = open_knob(memory_ + "/memory.oom_control", O_RDONLY);
        has_memsw_ = ::access((memory_ + "/memory.memsw.limit_in_bytes").c_str(), W_OK) == 0;
        memory_stat_ = open_knob(memory_ + "/memory.stat", O_RDONLY);
    }

    ~BoxCgroupV1() override {
        kill_all();
        for (auto& fd : tasks_) fd.reset();
        cpu_usage_.reset();
        pids_events_.reset();
        max_usage_.reset();
        usage_.reset();
        oom_control_.reset();
        memory_stat_.reset();
        // Tried again while busy, briefly: a task that has left `tasks` may
        // not have left the hierarchy yet.
        for (const auto* dir : {&memory_, &pids_, &cpuacct_})
            for (int i = 0; i < 1000 && ::rmdir(dir->c_str()) != 0 && errno == EBUSY; ++i)
                std::this_thread::sleep_for(std::chrono::microseconds(500));
    }

    void recycle() override {}  // the same directories for every run; prepare() resets the counters

    void prepare(const Limits& limits) override {
        // Limits are written only when they change: most runs of a box
        // repeat the previous run's limits, and each write is a path walk.
        if (limits.memory_mb != memory_mb_) {
            memory_mb_ = -1;
            set_memory_limit(std::to_string(limits.memory_mb * 1024 * 1024));
            memory_mb_ = limits.memory_mb;
        }
        if (limits.pids != pids_max_) {
            pids_max_ = -1;
            write_file(pids_ + "/pids.max", std::to_string(limits.pids));
            pids_max_ = limits.pids;
        }
        if (::pwrite(cpu_usage_.get(), "0", 1, 0) != 1) throw_errno("write", cpuacct_ + "/cpuacct.usage");
        if (::pwrite(max_usage_.get(), "0", 1, 0) != 1) throw_errno("write", memory_ + "/memory.max_usage_in_bytes");
        // Page cache an earlier run of this slot left charged here stays
        // (it is reclaimable, so it never causes an OOM kill); the peak is
        // reported above it. Evicting it with memory.force_empty instead
        // costs 0.3-5 ms per run and makes the next run re-read its
        // interpreter from disk.
        usage_base_ = pread_int(usage_.get());
        oom_base_ = read_keyed_value(pread_text(oom_control_.get()), "oom_kill");
        pids_base_ = read_keyed_value(pread_text(pids_events_.get()), "max");
    }

    JoinPlan join_plan() const override {
        JoinPlan plan;
        for (const auto& fd : tasks_) plan.task_fds[plan.n_task_fds++] = fd.get();
        return plan;
    }

    int64_t cpu_ns() override { return pread_int(cpu_usage_.get()); }

    bool pids_limit_hit() override { return read_keyed_value(pread_text(pids_events_.get()), "max") > pids_base_; }

    int64_t memory_usage() override { return pread_int(usage_.get()); }

    MemoryStat memory_stat() override {
        const std::string text = pread_text(memory_stat_.get());
        // v1's `rss` is anonymous memory; tmpfs pages are in `shmem`.
        return {read_keyed_value(text, "rss") + read_keyed_value(text, "shmem"), read_keyed_value(text, "pgmajfault"),
                read_keyed_value_or_absent(text, "workingset_refault_file")};
    }

    bool kill_all() override {
        // The box's processes all live in one PID namespace whose init the
        // sandbox has already killed, which takes the namespace down; this
        // loop only waits for that to finish and catches stragglers.
        using namespace std::chrono;
        const auto give_up = steady_clock::now() + seconds(10);
        for (int round = 0;; ++round) {
            std::string tasks;
            try {
                tasks = read_file(pids_ + "/tasks");
            } catch (const SystemFailure&) {
                return false;
            }
            if (tasks.empty()) return true;
            std::istringstream in(tasks);
            for (pid_t pid; in >> pid;) ::kill(pid, SIGKILL);
            if (steady_clock::now() > give_up) return false;
            std::this_thread::sleep_for(microseconds(round < 10 ? 100 : 2000));
        }
    }

    CgroupUsage finish() override {
        CgroupUsage u;
        u.cpu_ns = pread_int(cpu_usage_.get());
        u.memory_peak_bytes = std::max<int64_t>(0, pread_int(max_usage_.get()) - usage_base_);
        u.oom_kills = read_keyed_value(pread_text(oom_control_.get()), "oom_kill") - oom_base_;
        u.pids_limit_hits = read_keyed_value(pread_text(pids_events_.get()), "max") - pids_base_;
        return u;
    }

private:
    void set_memory_limit(const std::string& bytes) {
        const std::string limit = memory_ + "/memory.limit_in_bytes";
        if (!has_memsw_) {
            write_file(limit, bytes);
            try_write_file(memory_ + "/memory.swappiness", "0");
            return;
        }
        // memsw (memory + swap) must stay >= the memory limit, so the order of
        // the two writes depends on the direction of the change.
        const std::string memsw = memory_ + "/memory.memsw.limit_in_bytes";
        if (try_write_file(limit, bytes) == 0) {
            write_file(memsw, bytes);
        } else {
            write_file(memsw, bytes);
            write_file(limit, bytes);
        }
    }

    std::string memory_, pids_, cpuacct_;
    Fd tasks_[3];
    Fd cpu_usage_, pids_events_, max_usage_, usage_, oom_control_, memory_stat_;
    bool has_memsw_ = false;
    int64_t usage_base_ = 0, oom_base_ = 0, pids_base_ = 0;
    int64_t memory_mb_ = -1, pids_max_ = -1;  // what the knobs hold now; -1 unknown
};

class CgroupManagerV1 final : public CgroupManager {
public:
    CgroupManagerV1(std::string root, std::string parent) : root_(std::move(root)), parent_(std::move(parent)) {
        for (const char* c : {"memory", "pids", "cpuacct"}) {
            std::string hierarchy = root_ + "/" + c;
            if (::access((hierarchy + "/tasks").c_str(), F_OK) != 0)
                throw_errno("access", hierarchy + "/tasks",
                            std::string("the cgroup v1 ") + c + " hierarchy is not mounted");
        }
    }

    ~CgroupManagerV1() override {
        // Leave nothing behind: the parent goes too when no other execd uses it.
        for (const char* c : {"memory", "pids", "cpuacct"}) ::rmdir((root_ + "/" + c + "/" + parent_).c_str());
    }

    std::unique_ptr<BoxCgroup> make_box(int box_id) override {
        const std::string name = std::string(parent_) + "/box-" + std::to_string(box_id);
        // Another execd process may remove the shared parent between our two
        // mkdirs when it exits; retry that race a few times.
        for (int attempt = 0;; ++attempt) {
            try {
                for (const char* c : {"memory", "pids", "cpuacct"}) make_dir(root_ + "/" + c + "/" + parent_);
                return std::make_unique<BoxCgroupV1>(root_ + "/memory/" + name, root_ + "/pids/" + name,
                                                     root_ + "/cpuacct/" + name);
            } catch (const SystemFailure& e) {
                if (e.error().err != ENOENT || attempt >= 5) throw;
            }
        }
    }

    std::string describe() const override { return "cgroup v1 (" + root_ + "/{memory,pids,cpuacct}/" + parent_ + ")"; }

    std::vector<int> existing_boxes() const override {
        std::vector<int> ids;
        for (const char* c : {"memory", "pids", "cpuacct"})
            for (int id : list_box_dirs(root_ + "/" + c + "/" + parent_))
                if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
        return ids;
    }

    void remove_box(int box_id) override {
        // Constructing and destroying the box kills its tasks and removes it.
        try {
            make_box(box_id);
        } catch (const SystemFailure&) {
        }
    }

    int version() const override { return 1; }

private:
    std::string root_;
    std::string parent_;  // "execd", or "execd-<instance>"
};

}  // namespace

std::unique_ptr<CgroupManager> make_cgroup_v1_manager(const std::string& mount_root, const std::string& parent) {
    return std::make_unique<CgroupManagerV1>(mount_root, parent);
}

}  // namespace execd
