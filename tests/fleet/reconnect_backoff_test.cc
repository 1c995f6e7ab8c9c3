#include "server/fleet/reconnect_backoff.h"

#include <set>

#include "gtest/gtest.h"

namespace leafsvc::fleet {
namespace {

// Each delay lies between half and all of min * 2^n (capped at max).
TEST(ReconnectBackoffTest, DoublesWithJitterUpToTheCap) {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    ReconnectBackoff b(absl::Milliseconds(100), absl::Seconds(5), seed);
    absl::Duration ceiling = absl::Milliseconds(100);
    for (int n = 0; n < 20; ++n) {
      const absl::Duration d = b.Next();
      EXPECT_GE(d, ceiling / 2) << "seed " << seed << " attempt " << n;
      EXPECT_LE(d, ceiling) << "seed " << seed << " attempt " << n;
      ceiling = std::min(ceiling * 2, absl::Seconds(5));
    }
    EXPECT_EQ(b.failures(), 20);
  }
}

TEST(ReconnectBackoffTest, ResetStartsOverAndSeedsDiffer) {
  ReconnectBackoff b(absl::Milliseconds(100), absl::Seconds(5), 1);
  for (int i = 0; i < 10; ++i) b.Next();
  EXPECT_GT(b.Next(), absl::Milliseconds(2000));
  b.Reset();
  EXPECT_EQ(b.failures(), 0);
  EXPECT_LE(b.Next(), absl::Milliseconds(100));
  // Replicas (different seeds) do not retry in lockstep.
  std::set<absl::Duration> firsts;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    firsts.insert(ReconnectBackoff(absl::Milliseconds(100), absl::Seconds(5), seed).Next());
  }
  EXPECT_GT(firsts.size(), 10u);
}

TEST(ReconnectBackoffTest, ManyFailuresStayAtTheCap) {
  ReconnectBackoff b(absl::Milliseconds(1), absl::Seconds(5), 7);
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration d = b.Next();
    EXPECT_LE(d, absl::Seconds(5));
    EXPECT_GT(d, absl::ZeroDuration());
  }
}

}  // namespace
}  // namespace leafsvc::fleet
