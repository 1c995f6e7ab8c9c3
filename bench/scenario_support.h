// Small helpers the benchmark's scenarios share: the ids the emulator seeds,
// whether a binary knows a flag, a child's metrics port, a free port.
#ifndef BENCH_SCENARIO_SUPPORT_H_
#define BENCH_SCENARIO_SUPPORT_H_

#include <string>
#include <vector>

namespace bench {

// The ids the emulator binary seeds with `users` users, all OK, and `seed`:
// seeding is deterministic (emulator/seed.h), so the same spec seeded here
// gives the same ids without asking the emulator, whose every request
// counts against its limit.
std::vector<std::string> SeededIds(int users, int seed);

// Whether `binary --help` lists --`flag` (a binary without a scenario's
// flags would refuse to start).
bool HelpLists(const std::string& binary, const std::string& flag);

// The port of a server's /metrics, from its "serving" log line (waits up
// to 5 s); -1 if it never says.
int MetricsPort(const std::string& server_log);

// A loopback port nothing listens on now, for a child that cannot pick its
// own and report it (Redis, the Go peer, alert listeners).
int FreeLoopbackPort();

}  // namespace bench

#endif  // BENCH_SCENARIO_SUPPORT_H_
