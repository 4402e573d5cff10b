// A thread of its own that runs the work handed to it, for as long as the
// object lives: for work whose effect is tied to the thread that did it.
// (A child's parent-death signal fires when the *thread* that created it
// ends, not its process: prctl(2), PR_SET_PDEATHSIG.)
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace execd {

class LastingThread {
public:
    LastingThread() = default;
    // Waits for work under way, then ends and joins the thread.
    ~LastingThread();
    LastingThread(const LastingThread&) = delete;
    LastingThread& operator=(const LastingThread&) = delete;

    // Runs `work` on the thread and waits for it; rethrows what it threw.
    // The first call starts the thread, which takes the caller's per-thread
    // state (mount namespace, credentials, scheduling) with every signal
    // blocked, so no signal meant for the process lands there. Callers are
    // served one at a time. Throws std::system_error if the thread cannot
    // start.
    void run(const std::function<void()>& work);

private:
    void loop();

    std::mutex calls_;  // one run() at a time
    std::mutex mutex_;  // the hand-over below
    std::condition_variable cv_;
    const std::function<void()>* work_ = nullptr;  // handed over, not yet taken
    bool done_ = false;
    std::exception_ptr error_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace execd
