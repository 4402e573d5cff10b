// The job store's Redis scripts, the files of daemon/lua/ compiled in at
// build time (daemon/embed_lua.cmake). Each file's header names its KEYS,
// ARGV and reply; store.cpp is the only user.
#pragma once

namespace execd::daemon::lua {

// now_ms, writes_even_when_full, finish and shared_keys, put in front of
// every script that uses them.
extern const char* const kPrelude;

extern const char* const kSubmit;
extern const char* const kGetAll;
extern const char* const kPop;
extern const char* const kRenew;
extern const char* const kProgress;
extern const char* const kComplete;
extern const char* const kRetry;
extern const char* const kReapDue;
extern const char* const kReap;
extern const char* const kCancel;
extern const char* const kRewake;

}  // namespace execd::daemon::lua
