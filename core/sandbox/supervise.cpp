#include "core/sandbox/supervise.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/util/sys_error.h"

namespace execd {
namespace {

constexpr auto kTick = std::chrono::milliseconds(10);
// Thrashing (see thrashing()): windows of kThrashTicks ticks that each end
// within max(1 MB, 1/64) of the memory limit, with at least 2/3 of the limit
// unreclaimable, and in which at least kThrashFaults page faults read from
// disk and at least kThrashFaults file pages came back soon after they were
// evicted; kThrashWindows in a row. Neither count alone will do: a program
// reading a mapped file for the first time takes major faults but no
// refaults, one reading a large file with read(2) again and again takes
// refaults but no major faults; a program whose own code or mapping is
// evicted and read straight back takes both.
constexpr int kThrashTicks = 10;
constexpr int64_t kThrashFaults = 4;
constexpr int kThrashWindows = 3;
constexpr size_t kChunk = 65536;

}  // namespace

Supervision::Supervision(const RunPolicy& policy, BoxCgroup& cgroup, int status_fd, BoxStreams streams,
                         Clock::time_point start)
    : policy_(policy),
      cgroup_(cgroup),
      status_fd_(status_fd),
      streams_(std::move(streams)),
      deadline_(start + std::chrono::milliseconds(policy.limits.time_ms)) {
    for (const Fd* fd : {&streams_.stdin_write, &streams_.stdout_read, &streams_.stderr_read})
        if (*fd) set_nonblocking(fd->get());
    seen_.end = start;
}

void Supervision::run() {
    auto next_tick = Clock::now() + kTick;
    while (!((status_eof_ || exit_seen_) && out_eof_ && err_eof_)) {
        const auto now = Clock::now();
        if (now >= deadline_) {
            seen_.kill = KillReason::Wall;
            break;
        }
        if (now >= next_tick) {
            next_tick = now + kTick;
            if ((seen_.kill = check_counters()) != KillReason::None) break;
        }
        pollfd fds[4];
        nfds_t n_fds = 0;
        auto add = [&](int fd, short events) { fds[n_fds++] = pollfd{fd, events, 0}; };
        if (!status_eof_ && !exit_seen_) add(status_fd_, POLLIN);
        if (streams_.stdout_read) add(streams_.stdout_read.get(), POLLIN);
        if (streams_.stderr_read) add(streams_.stderr_read.get(), POLLIN);
        if (streams_.stdin_write) add(streams_.stdin_write.get(), POLLOUT);
        const auto wake = std::min(deadline_, next_tick);
        const int timeout = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
        const int rc = ::poll(fds, n_fds, std::max(timeout, 0));
        if (rc < 0 && errno != EINTR) {
            // The caller still kills and empties the box; reported afterwards.
            seen_.poll_error = SysError{"poll", "box pipes", errno, {}}.message();
            seen_.kill = KillReason::Wall;
            break;
        }
        if (rc <= 0) continue;
        if (!status_eof_ && !exit_seen_) read_status();
        if (streams_.stdout_read) read_output(streams_.stdout_read, seen_.stdout_data, out_eof_);
        if (streams_.stderr_read) read_output(streams_.stderr_read, seen_.stderr_data, err_eof_);
        if (seen_.kill != KillReason::None) break;
        if (streams_.stdin_write) feed_stdin();
    }
    if (seen_.kill != KillReason::None) seen_.end = Clock::now();
}

void Supervision::drain_status() {
    if (!status_eof_ && !exit_seen_) read_status();
}

KillReason Supervision::check_counters() {
    if (cgroup_.cpu_ns() > policy_.limits.cpu_ms * 1'000'000) return KillReason::Cpu;
    if (cgroup_.pids_limit_hit()) return KillReason::Pids;
    if (policy_.cancel && policy_.cancel->load()) return KillReason::Cancel;
    if (++ticks_ % kThrashTicks == 0 && thrashing()) return KillReason::Memory;
    return KillReason::None;
}

bool Supervision::thrashing() {
    const int64_t limit = policy_.limits.memory_mb << 20;
    const int64_t usage = cgroup_.memory_usage();
    if (usage < limit - std::max<int64_t>(1 << 20, limit / 64)) {
        thrash_windows_ = 0;
        major_faults_ = refaults_ = -1;
        return false;
    }
    const BoxCgroup::MemoryStat stat = cgroup_.memory_stat();
    // A kernel that does not report refaults (-1) leaves major faults alone.
    const bool refaulting = stat.refaults < 0 || (refaults_ >= 0 && stat.refaults - refaults_ >= kThrashFaults);
    if (major_faults_ >= 0 && stat.major_faults - major_faults_ >= kThrashFaults && refaulting &&
        stat.unreclaimable_bytes >= limit / 3 * 2)
        ++thrash_windows_;
    else
        thrash_windows_ = 0;
    major_faults_ = stat.major_faults;
    refaults_ = stat.refaults;
    return thrash_windows_ >= kThrashWindows;
}

void Supervision::read_output(Fd& fd, std::string& sink, bool& eof) {
    const size_t cap = static_cast<size_t>(policy_.limits.output_bytes);
    char buf[kChunk];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                eof = true;
                fd.reset();
            }
            return;
        }
        // One cap for stdout and stderr together; past it, exactly the cap is kept.
        const size_t used = seen_.stdout_data.size() + seen_.stderr_data.size();
        const size_t room = cap > used ? cap - used : 0;
        sink.append(buf, std::min(room, static_cast<size_t>(n)));
        if (static_cast<size_t>(n) > room) {
            seen_.kill = KillReason::Output;
            return;
        }
    }
}

void Supervision::read_status() {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(status_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            status_eof_ = true;
            if (!exit_seen_) seen_.end = Clock::now();
            return;
        }
        status_buf_.append(buf, static_cast<size_t>(n));
        // Whole records only; a partial one waits for its rest.
        while (status_buf_.size() >= sizeof(ChildReport)) {
            ChildReport r;
            std::memcpy(&r, status_buf_.data(), sizeof r);
            status_buf_.erase(0, sizeof r);
            seen_.reports.push_back(r);
            if (r.kind == ChildReport::Exit && !exit_seen_) {
                exit_seen_ = true;
                seen_.end = Clock::now();
            }
        }
    }
}

void Supervision::feed_stdin() {
    const std::string& data = policy_.stdin_data;
    const ssize_t n = ::write(streams_.stdin_write.get(), data.data() + stdin_off_,
                              std::min<size_t>(data.size() - stdin_off_, kChunk));
    if (n > 0) stdin_off_ += static_cast<size_t>(n);
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_off_ == data.size())
        streams_.stdin_write.reset();  // done, or the program closed its stdin (EPIPE)
}

}  // namespace execd
