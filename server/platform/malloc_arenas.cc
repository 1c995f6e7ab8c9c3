#include "server/platform/malloc_arenas.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace leafsvc {

int MallocArenaLimit(const std::function<const char*(const char*)>& getenv) {
  const char* max = getenv("MALLOC_ARENA_MAX");
  if (max != nullptr && *max != '\0') return 0;
  const char* tunables = getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.arena_max") != nullptr) return 0;
  return kMallocArenas;
}

int LimitMallocArenas() {
  const int limit = MallocArenaLimit([](const char* name) { return std::getenv(name); });
  if (limit > 0 && mallopt(M_ARENA_MAX, limit) != 1) return 0;
  return limit;
}

}  // namespace leafsvc
