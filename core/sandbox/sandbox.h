// The native sandbox backend: a Sandbox owns what is prepared once (cgroup
// parent, empty network namespace, read-only root, seccomp program); a Box is
// one slot of it (a uid and a cgroup) that runs one program at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/sandbox/cgroup.h"
#include "core/sandbox/mounts.h"
#include "core/sandbox/policy.h"
#include "core/sandbox/seccomp.h"
#include "core/util/fd.h"
#include "core/util/lasting_thread.h"

namespace execd {

// The sandbox's state directory unless told otherwise: exec's, and execd's
// [paths] sandbox_dir default, so both find the compile cache in
// <state_dir>/cache.
inline constexpr const char* kDefaultSandboxStateDir = "/run/execd";

struct SandboxConfig {
    std::string state_dir = kDefaultSandboxStateDir;  // a tmpfs is mounted at <state_dir>/ns
    int64_t work_tmpfs_mb = 0;                        // its size= (work dirs, artifact copies); 0: a quarter of the RAM
    std::vector<std::string> binds;                   // host paths bound read-only into every box
    uid_t uid_base = 61000;                           // box slot N runs as uid/gid uid_base + N
    int max_slots = 256;                              // slots shared by all execd processes on the host
    // Slot locks: one root-only directory for every process on the host that
    // uses this uid range (a lock held here is what makes a uid and its
    // cgroups one process's). Made 0700 and root-owned; refused otherwise.
    std::string lock_dir = "/run/execd/locks";
    // An engine's name on the host: empty for the default one. Its cgroups
    // go below "execd-<instance>" instead of "execd", so two engines on one
    // host (a test run beside a daemon) name no cgroup alike; pair it with
    // instance_uid_base() for a uid range of its own. Slot locks stay
    // host-wide (lock_dir), so engines whose uid ranges meet still never run
    // two boxes as one uid. Letters, digits, '-' and '_', at most 32.
    std::string instance;
};

// The uid base for an engine instance: 61000 for the default (""), else one
// of 60 ranges of 256 above it, chosen by the name (two names may share a
// range: the slot locks keep that safe).
uid_t instance_uid_base(const std::string& instance);

// The slot lock directory (SandboxConfig::lock_dir), made if missing:
// refused (SystemFailure) unless it is root's with mode 0700, so no other
// user can open, take or plant anything in it.
Fd open_lock_dir(const std::string& dir);

// "" when `instance` is a valid instance name (SandboxConfig::instance), else
// what is wrong with it.
std::string instance_name_problem(const std::string& instance);

class Sandbox;
struct Supervised;

// A per-job directory, mounted at /box. Removed (without following any
// symlink the program planted) when destroyed.
class WorkDir {
public:
    WorkDir(const WorkDir&) = delete;
    WorkDir& operator=(const WorkDir&) = delete;
    WorkDir(WorkDir&&) noexcept = default;
    ~WorkDir();

    const std::string& path() const noexcept { return path_; }

    // The directory itself (for *_at work by the owner).
    int fd() const noexcept { return dir_.get(); }

    // Writes a file below the work dir; `name` may hold one directory level
    // ("src/a.c"). Refuses unsafe names and existing entries. Throws.
    void add_file(const std::string& name, std::string_view content, unsigned mode = 0644);

    // Removes `name` (a single component) and writes it anew; for data files
    // the supervisor swaps between runs. Throws.
    void replace_file(const std::string& name, std::string_view content, unsigned mode = 0644);

    // Reads a regular file the program produced, never through a symlink,
    // up to `max_bytes`. Throws SystemFailure.
    std::string read_file(const std::string& name, size_t max_bytes) const;

private:
    friend class Sandbox;
    WorkDir(int parent_fd, std::string name, std::string path, uid_t owner);
    int parent_fd_ = -1;  // the work area, owned by the Sandbox
    std::string name_, path_;
    uid_t owner_;
    Fd dir_;
    bool moved_from_ = false;
};

class Box {
public:
    ~Box();
    Box(const Box&) = delete;
    Box& operator=(const Box&) = delete;

    int slot() const noexcept { return slot_; }
    uid_t uid() const noexcept { return uid_; }

    // An earlier run could not empty this box's cgroup; it refuses to run
    // again and should be replaced.
    bool broken() const noexcept { return broken_; }

    // Runs one program to completion under `policy` and measures it. Never
    // throws for anything the program does; a sandbox failure comes back as
    // RunOutcome::internal_error with a message naming the step and errno.
    RunOutcome run(const RunPolicy& policy);

    // Asks for the next run's init now, unless one is prepared or on its
    // way: after a run with RunPolicy::prepare_next = false, once the caller
    // has handed its result on. Never throws; a failure shows at the next run.
    void prepare_next();

private:
    friend class Sandbox;
    Box(Sandbox& sandbox, int slot, Fd lock, std::unique_ptr<BoxCgroup> cgroup, Fd netns);
    // Asks the spawner for this box's next init (plan.h), which prepares
    // itself while the caller goes on. Throws.
    void request_standby();
    // Waits until the standby init reports Ready. Returns "" or what failed;
    // *vanished says it ended without a word (killed from outside).
    std::string await_ready(bool* vanished);
    // Ends the standby init (and anything it started) if there is one.
    void discard_standby();
    // Kills the current init (its whole PID namespace goes with it) without
    // waiting for its exit, which tears its namespaces down (about 0.2 ms):
    // it becomes last_init_, which settle() waits for before the next run
    // takes its counters, and before the Box is gone.
    void retire_init();
    void settle();
    // One run's steps, in order (sandbox.cpp).
    RunOutcome run_prepared(const RunPolicy& policy);
    std::string make_ready(const RunPolicy& policy, bool fresh);
    static Fd detached_work_dir(const RunPolicy& policy);
    static std::string write_run_plan(const RunPolicy& policy, std::string* plan);
    std::string send_plan(const RunPolicy& policy, const std::string& plan, const int fds[4]);
    RunOutcome outcome(const RunPolicy& policy, const Supervised& seen, std::chrono::steady_clock::time_point start);
    Sandbox& sandbox_;
    int slot_;
    uid_t uid_;
    Fd lock_;
    std::unique_ptr<BoxCgroup> cgroup_;
    Fd netns_;       // this slot's empty network namespace
    Fd ctl_;         // the standby init's control socket (ours), or empty
    Fd init_pidfd_;  // the standby init, from its Ready report
    Fd last_init_;   // the last run's init, killed, maybe still exiting
    bool ready_ = false;
    bool broken_ = false;
};

class Sandbox {
public:
    // Prepares everything that is shared by all runs. Moves the calling
    // process into a private mount namespace. Needs root. Throws
    // SystemFailure (or std::runtime_error) naming what failed.
    explicit Sandbox(SandboxConfig config);
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    // A free box slot, held until the Box is destroyed; slots are shared
    // with other execd processes through flock()s on files in the root-only
    // lock directory, which the kernel releases if a process dies. Throws if
    // all are taken.
    std::unique_ptr<Box> acquire_box();

    // A fresh, empty work dir owned by `owner` (the box's uid).
    WorkDir make_work_dir(uid_t owner);

    // Where the work dirs live: the private tmpfs (<state dir>/ns, sized by
    // SandboxConfig::work_tmpfs_mb) that holds every running job's files.
    const std::string& work_area() const noexcept { return layout_.ns_dir; }

    // The work area's size and the bytes still free in it (fstatvfs); both
    // -1 if that fails.
    struct Space {
        int64_t total = -1, free = -1;
    };
    Space work_area_space() const noexcept;

    // One line for logs: the cgroup version and paths.
    std::string describe() const;

    int cgroup_version() const { return cgroups_->version(); }

private:
    friend class Box;
    // The slot's lock, or an empty Fd when another process holds it.
    Fd lock_slot(int slot);
    void remove_stale_boxes();
    // Starts the spawner (plan.h), the one privileged helper that forks box
    // inits, on spawner_thread_; the caller holds spawner_mutex_. Throws.
    void start_spawner();
    // Sends one SpawnRequest with its descriptors, restarting the spawner
    // once if it is gone. Throws.
    void request_spawn(const void* request, size_t size, const int* fds, int n_fds);
    SandboxConfig config_;
    std::unique_ptr<CgroupManager> cgroups_;
    RootLayout layout_;
    Fd work_area_;
    Fd lock_dir_;
    Fd box_init_;   // the box init's executable, a sealed memfd (or a file in the private tmpfs)
    Fd box_mntns_;  // the mount namespace boxes start from: the box root and nothing else
    SeccompProgram seccomp_;
    std::string spawner_plan_;  // SpawnerPlan and the filter, sent to each spawner
    std::mutex spawner_mutex_;
    Fd spawner_;  // SOCK_SEQPACKET to the spawner
    pid_t spawner_pid_ = -1;
    // Starts every spawner. The spawner dies when the thread that started it
    // ends (its parent-death signal, which takes every box with it), so not
    // a caller's thread, which may be a worker that exits while other jobs
    // run: this one ends with the Sandbox. Last, so it is joined first.
    LastingThread spawner_thread_;
};

}  // namespace execd
