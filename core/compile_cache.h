// The compile cache: what a successful compile step left in /box, kept on
// the host under a key that hashes everything the compile read (language,
// compiler version, compile argv, environment, every input file). Entries are
// owned by root, read-only to every box, and mounted read-only at /box for
// the runs that use them. Shared by every execd process on the host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/util/fd.h"

namespace execd {

struct CompileCacheConfig {
    std::string dir;                               // created (0711) if missing
    int64_t max_bytes = int64_t{512} << 20;        // LRU eviction above this
    int64_t max_entry_bytes = int64_t{256} << 20;  // a bigger artifact is not kept (nor run: Runner::artifact_budget)
};

class CompileCache {
public:
    // Creates the directory. Throws SystemFailure.
    explicit CompileCache(CompileCacheConfig config);

    // An entry in use: it cannot be evicted (or changed) while this lives.
    class Lease {
    public:
        const std::string& path() const noexcept { return path_; }

    private:
        friend class CompileCache;
        Lease(std::string path, Fd dir) : path_(std::move(path)), dir_(std::move(dir)) {}
        std::string path_;
        Fd dir_;  // holds a shared flock on the entry
    };

    // The entry for `key` (64 hex digits), marked as just used; nullopt on a miss.
    std::optional<Lease> find(const std::string& key);

    // Copies the tree below `work_dir_fd` (regular files and directories only,
    // never through a symlink; set-id bits dropped; holes kept, and sizes
    // counted by the blocks files hold) in as `key`, then evicts
    // the least recently used entries while the total passes max_bytes.
    // Returns false if it was not kept (too large, or another process stored
    // it first). Never throws: a cache failure only costs a recompile.
    bool store(const std::string& key, int work_dir_fd) noexcept;

    // A small value remembered across processes under `key` (64 hex digits),
    // such as a compiler's version by the identity of its binary.
    std::optional<std::string> recall(const std::string& key) const;
    void remember(const std::string& key, const std::string& value) noexcept;

    // Bytes held by all entries (a scan).
    int64_t size_bytes() const;

    const CompileCacheConfig& config() const noexcept { return config_; }

private:
    void evict_to(int64_t max_bytes) noexcept;
    CompileCacheConfig config_;
    Fd dir_;
};

}  // namespace execd
