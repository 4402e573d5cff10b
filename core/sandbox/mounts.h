// The box's filesystem. Prepared once per Sandbox in a private mount namespace
// of the spawning process:
//
//   <state>/ns            tmpfs, private to this process's mount namespace
//   <state>/ns/root       the box root: read-only, holds read-only binds of
//                         the registry's host paths, /dev nodes, mount points
//   <state>/ns/work/<id>  per-job work dirs, bind-mounted at /box per run
//
// Because everything lives in a tmpfs of a private mount namespace, nothing
// outlives the process, whatever way it ends.
#pragma once

#include <string>
#include <vector>

namespace execd {

struct RootLayout {
    std::string ns_dir;     // <state>/ns
    std::string root_dir;   // <state>/ns/root
    std::string work_dir;   // <state>/ns/work
};

// Parent, once: unshares the calling process's mount namespace, makes every
// mount private, mounts the state tmpfs and builds the read-only root from
// `binds` (host paths; missing ones are skipped; symlinks such as /bin ->
// usr/bin are recreated as symlinks). Throws SystemFailure.
RootLayout prepare_root(const std::string& state_dir, const std::vector<std::string>& binds);

// Child side of one run's mounts, in the child's fresh mount namespace.
// All strings are prepared by the parent; nothing here allocates.
struct ChildMounts {
    const char* root_dir;       // <state>/ns/root
    const char* work_src;       // <state>/ns/work/<id>
    const char* box_target;     // <state>/ns/root/box
    const char* proc_target;    // <state>/ns/root/proc
    const char* tmp_target;     // <state>/ns/root/tmp
    const char* tmp_options;    // "size=16m,mode=1777", or nullptr for no /tmp
    bool work_writable;
};

enum class MountStage { Work, WorkReadOnly, Proc, Tmp, Chdir, PivotRoot, DetachOld, ChdirBox };

// Mounts /box, /proc and /tmp, pivots into the root and detaches the host's
// tree. Returns 0 or errno, with the failing stage in *stage.
int apply_child_mounts(const ChildMounts& m, MountStage* stage) noexcept;

}  // namespace execd
