// File descriptors: the process raises its soft RLIMIT_NOFILE to the hard
// limit at start, and keeps the top `reserve` descriptor numbers out of
// callers' reach so Leaf connections (and files, pipes, gRPC's own wakeup
// fds) always find one.
//
// How: Linux hands out the lowest free descriptor number, so a descriptor
// numbered at or above (limit - reserve) is only ever handed out when every
// number below is taken. This file defines accept4() itself, which gRPC's
// listener calls (the executable's definition takes precedence over libc's
// for every shared library): an accepted connection whose descriptor falls in
// the reserve is closed at once (the client sees the connection end and
// retries later) and the backlog is drained the same way. Caller connections
// therefore never hold a reserved number, while libcurl's socket() calls may
// use them. Refusals are logged (at most one line per 10 s, with a count).
// This is also why gRPC's listener never meets EMFILE from caller floods.
#ifndef SERVER_PLATFORM_FD_LIMIT_H_
#define SERVER_PLATFORM_FD_LIMIT_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace leafsvc {

struct FdBudget {
  int64_t soft_limit = 0;  // RLIMIT_NOFILE soft limit after raising it
  int64_t hard_limit = 0;
  int64_t caller_below = 0;  // caller connections get descriptor numbers below this
};

// Raises the soft limit to the hard limit and, when `reserve` > 0, starts
// refusing caller connections that would take one of the top `reserve`
// descriptors. INVALID_ARGUMENT when `reserve` leaves fewer than 64
// descriptors for callers; INTERNAL when getrlimit/setrlimit fail.
absl::StatusOr<FdBudget> RaiseFdLimitAndReserve(int reserve);

// Caller connections refused so far because of the reserve.
int64_t RefusedForFdReserve();

}  // namespace leafsvc

#endif  // SERVER_PLATFORM_FD_LIMIT_H_
