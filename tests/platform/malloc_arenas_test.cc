#include "server/platform/malloc_arenas.h"

#include <malloc.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

std::function<const char*(const char*)> Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(MallocArenasTest, TwoArenasUnlessTheOperatorChose) {
  EXPECT_EQ(MallocArenaLimit(Env({})), kMallocArenas);
  EXPECT_EQ(MallocArenaLimit(Env({{"MALLOC_ARENA_MAX", "4"}})), 0);
  EXPECT_EQ(MallocArenaLimit(Env({{"GLIBC_TUNABLES", "glibc.malloc.arena_max=8"}})), 0);
  EXPECT_EQ(MallocArenaLimit(
                Env({{"GLIBC_TUNABLES", "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=2"}})),
            0);
  // Other tunables, or an empty variable, leave the choice to the service.
  EXPECT_EQ(MallocArenaLimit(Env({{"GLIBC_TUNABLES", "glibc.malloc.tcache_count=0"}})),
            kMallocArenas);
  EXPECT_EQ(MallocArenaLimit(Env({{"MALLOC_ARENA_MAX", ""}})), kMallocArenas);
}

// With the limit set before any thread allocates, threads allocating at once
// share the arenas: malloc_info lists no more <heap>s than the limit (8
// threads on 2 cores got 4 without it).
TEST(MallocArenasTest, ThreadsThenShareTheArenas) {
  unsetenv("MALLOC_ARENA_MAX");
  unsetenv("GLIBC_TUNABLES");
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's allocator replaces glibc's: mallopt is refused.
  GTEST_SKIP() << "malloc is AddressSanitizer's here";
#endif
  ASSERT_EQ(LimitMallocArenas(), kMallocArenas);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([] {
      std::vector<void*> blocks;
      for (int j = 0; j < 1000; ++j) blocks.push_back(malloc(64 + j));
      for (void* b : blocks) free(b);
    });
  }
  for (std::thread& t : threads) t.join();
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  ASSERT_NE(out, nullptr);
  malloc_info(0, out);
  fclose(out);
  const std::string info(text, size);
  free(text);
  int heaps = 0;
  for (size_t at = info.find("<heap nr="); at != std::string::npos;
       at = info.find("<heap nr=", at + 1)) {
    ++heaps;
  }
  EXPECT_GE(heaps, 1);
  EXPECT_LE(heaps, kMallocArenas) << info.substr(0, 400);
}

}  // namespace
}  // namespace leafsvc
