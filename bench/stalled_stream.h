// Issue 23's stalled stream (part of the idle watchers scenario,
// bench/idle_watch_bench.h): one WatchCredentials stream whose caller never
// reads, watching 100 users whose status the fast upstream flips at every
// read, on a service of its own polling each user every second (100
// reading streams, one per user, keep the polls going before and during
// the stall); the service's RSS is sampled while changes pile up for the
// stream, which the service must bound (1,024 queued, then
// WATCH_STREAM_TOO_SLOW). The stalled client's HTTP/2 window is 16 KB. The
// client cannot see the status before it reads what came first, so the
// cut is read from the service's log.
#ifndef BENCH_STALLED_STREAM_H_
#define BENCH_STALLED_STREAM_H_

#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/report.h"

namespace bench {

// The users the stalled stream watches: `count` "changing" users of the
// fast upstream (ffffffff-0000-4000-8000-000000000000, ...).
std::vector<std::string> ChangingUserIds(int count);

// Fills rec's cut, cut_after_s, changes_sent and end from the service's
// log (JSON lines): its "watch stream ended" line with reason
// WATCH_STREAM_TOO_SLOW. False when there is none.
bool FindStalledCut(const std::string& log, StalledStreamRecord* rec);

// The service's flags beyond --listen and --leaf_api_url.
std::vector<std::string> StalledStreamServiceFlags();

// Starts the service against `upstream_url` (a fast upstream), opens the
// stream, samples for flags.stalled_seconds, cancels and stops. `note` is
// filled when the service did not start.
StalledStreamRecord MeasureStalledStream(const Flags& flags, const std::string& upstream_url);

}  // namespace bench

#endif  // BENCH_STALLED_STREAM_H_
