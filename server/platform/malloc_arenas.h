// glibc's malloc gives each thread that allocates its own arena (up to 8 per
// core). gRPC's completion-queue threads, its executor and the transport loop
// then each keep the memory they freed in an arena of their own: about 6 MB at
// 64 calls in flight, of which 2 MB were in use (docs/performance.md). Two
// arenas hold the same live data in about 2.5 MB less. One would save 1 MB
// more, but every thread then shares one arena lock: with one Leaf request per
// call at C=64 that tripled the futex calls per request (6.4 against 2.2);
// two cost 1.3 more than glibc's default.
//
// LimitMallocArenas applies that, unless the operator chose otherwise through
// glibc's own settings (MALLOC_ARENA_MAX, or arena_max in GLIBC_TUNABLES),
// which then stand. Call it first in main(), before any thread exists: glibc
// reads the limit when a thread first needs an arena.
#ifndef SERVER_PLATFORM_MALLOC_ARENAS_H_
#define SERVER_PLATFORM_MALLOC_ARENAS_H_

#include <functional>

namespace leafsvc {

inline constexpr int kMallocArenas = 2;

// The limit to set, or 0 when the environment already sets one. `getenv`
// looks up a variable (nullptr when unset).
int MallocArenaLimit(const std::function<const char*(const char*)>& getenv);

// Sets M_ARENA_MAX from MallocArenaLimit(::getenv); returns the limit set, or
// 0 when it left glibc's own setting alone.
int LimitMallocArenas();

}  // namespace leafsvc

#endif  // SERVER_PLATFORM_MALLOC_ARENAS_H_
