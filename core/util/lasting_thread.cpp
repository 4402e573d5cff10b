#include "core/util/lasting_thread.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace execd {

LastingThread::~LastingThread() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void LastingThread::run(const std::function<void()>& work) {
    std::lock_guard call(calls_);
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) {
        // A new thread starts with its creator's signal mask: block them all
        // for the moment of its creation (glibc keeps its own two open).
        sigset_t all, old;
        ::sigfillset(&all);
        ::pthread_sigmask(SIG_SETMASK, &all, &old);
        try {
            thread_ = std::thread(&LastingThread::loop, this);
        } catch (...) {
            ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
            throw;
        }
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    work_ = &work;
    done_ = false;
    cv_.notify_all();
    cv_.wait(lock, [this] { return done_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void LastingThread::loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || work_ != nullptr; });
        if (!work_) return;
        const std::function<void()>* work = std::exchange(work_, nullptr);
        lock.unlock();
        std::exception_ptr error;
        try {
            (*work)();
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        error_ = error;
        done_ = true;
        cv_.notify_all();
    }
}

}  // namespace execd
