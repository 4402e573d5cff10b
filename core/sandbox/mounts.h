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
    std::string ns_dir;    // <state>/ns
    std::string root_dir;  // <state>/ns/root
    std::string work_dir;  // <state>/ns/work
};

// Parent, once: unshares the calling process's mount namespace, makes every
// mount private, mounts the state tmpfs and builds the read-only root from
// `binds` (host paths; missing ones are skipped; symlinks such as /bin ->
// usr/bin are recreated as symlinks). Throws SystemFailure.
// `tmpfs_mb` sizes the state tmpfs (0: a quarter of the RAM).
RootLayout prepare_root(const std::string& state_dir, const std::vector<std::string>& binds, int64_t tmpfs_mb = 0);

}  // namespace execd
