// Secret wipes every buffer it releases. Heap buffers are checked as they are
// freed (this binary's operator delete looks at the block it is handed);
// inline (short-string) buffers are checked in place.
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "gtest/gtest.h"
#include "server/secrets/secret.h"

namespace {

// The heap block being watched, and what it held when it was freed.
const void* g_watched = nullptr;
size_t g_watched_len = 0;
bool g_freed = false;
std::string g_freed_bytes;

void Watch(const std::string& s) {
  g_watched = s.data();
  g_watched_len = s.size();
  g_freed = false;
  g_freed_bytes.clear();
}

void Inspect(void* p) {
  if (p != nullptr && p == g_watched) {
    g_freed_bytes.assign(static_cast<const char*>(p), g_watched_len);
    g_freed = true;
    g_watched = nullptr;
  }
}

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

void operator delete(void* p) noexcept {
  Inspect(p);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  Inspect(p);
  std::free(p);
}

namespace leafsvc {
namespace {

const std::string kLong(200, 'k');    // heap-allocated by std::string
constexpr char kShort[] = "pw-1234";  // fits the inline buffer

TEST(SecretWipeTest, DestructionWipesAHeapBuffer) {
  {
    Secret s(kLong + "-tail");
    Watch(s.Reveal());
  }
  ASSERT_TRUE(g_freed);
  EXPECT_TRUE(AllZero(g_freed_bytes.data(), g_freed_bytes.size()));
}

TEST(SecretWipeTest, DestructionWipesAnInlineBuffer) {
  alignas(Secret) unsigned char storage[sizeof(Secret)];
  Secret* s = new (storage) Secret(kShort);
  ASSERT_EQ(s->Reveal(), kShort);
  s->~Secret();
  const std::string raw(reinterpret_cast<char*>(storage), sizeof storage);
  EXPECT_EQ(raw.find("-1234"), std::string::npos);  // clear() alone zeroes only [0]
}

TEST(SecretWipeTest, EveryCopyIsWipedWhenItGoes) {
  Secret original(kLong);
  auto* copy = new Secret(original);
  Watch(copy->Reveal());
  ASSERT_NE(copy->Reveal().data(), original.Reveal().data());
  delete copy;
  ASSERT_TRUE(g_freed);
  EXPECT_TRUE(AllZero(g_freed_bytes.data(), g_freed_bytes.size()));
  EXPECT_EQ(original.Reveal(), kLong);  // the original is untouched
}

TEST(SecretWipeTest, MoveWipesTheMovedFromInlineBuffer) {
  Secret from(kShort);
  const char* inline_buffer = from.Reveal().data();
  Secret to(std::move(from));
  EXPECT_EQ(to.Reveal(), kShort);
  EXPECT_TRUE(AllZero(inline_buffer, sizeof kShort - 1));
  EXPECT_TRUE(from.empty());  // NOLINT(bugprone-use-after-move): checked on purpose

  Secret assigned;
  Secret other(kShort);
  const char* other_buffer = other.Reveal().data();
  assigned = std::move(other);
  EXPECT_EQ(assigned.Reveal(), kShort);
  EXPECT_TRUE(AllZero(other_buffer, sizeof kShort - 1));
}

TEST(SecretWipeTest, ConstructingFromAMovedStringWipesWhatTheStringKeeps) {
  std::string value = kShort;
  const char* buffer = value.data();
  Secret s(std::move(value));
  EXPECT_EQ(s.Reveal(), kShort);
  EXPECT_TRUE(AllZero(buffer, sizeof kShort - 1));
}

TEST(SecretWipeTest, AssigningOverASecretWipesTheOldValue) {
  Secret s(kLong);
  Watch(s.Reveal());
  s = Secret(kLong + kLong);  // too big for the old buffer: it is freed
  ASSERT_TRUE(g_freed);
  EXPECT_TRUE(AllZero(g_freed_bytes.data(), g_freed_bytes.size()));

  Secret small(kShort);
  const char* buffer = small.Reveal().data();
  small = Secret("x");
  EXPECT_EQ(small.Reveal(), "x");
  EXPECT_TRUE(AllZero(buffer + 1, sizeof kShort - 2));
}

TEST(SecretWipeTest, WipeEmptiesAndZeroesInPlace) {
  Secret s(kLong);
  const char* buffer = s.Reveal().data();
  s.Wipe();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.Reveal().data(), buffer);  // same buffer, now zeroed
  EXPECT_TRUE(AllZero(buffer, kLong.size()));
}

}  // namespace
}  // namespace leafsvc
