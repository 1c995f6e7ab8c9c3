#include "server/observability/upstream_health.h"

#include <vector>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

class UpstreamHealthTest : public ::testing::Test {
 protected:
  UpstreamHealthTest()
      : health_(
            absl::Seconds(30), [this](bool s) { changes_.push_back(s); }, [this] { return now_; }) {
  }
  absl::Time now_ = absl::FromUnixSeconds(1000);
  std::vector<bool> changes_;
  UpstreamHealth health_;
};

TEST_F(UpstreamHealthTest, StartsServing) { EXPECT_TRUE(health_.serving()); }

TEST_F(UpstreamHealthTest, ABlipIsNotAnOutage) {
  health_.Record(false);
  now_ += absl::Seconds(10);
  health_.Record(false);
  EXPECT_TRUE(health_.serving());
  health_.Record(true);
  now_ += absl::Seconds(25);
  health_.Record(false);  // a new streak starts here
  now_ += absl::Seconds(25);
  health_.Record(false);
  EXPECT_TRUE(health_.serving());
  EXPECT_TRUE(changes_.empty());
}

TEST_F(UpstreamHealthTest, FailuresForAWholeWindowTurnItNotServingOnce) {
  health_.Record(false);
  now_ += absl::Seconds(30);
  health_.Record(false);
  EXPECT_FALSE(health_.serving());
  now_ += absl::Seconds(5);
  health_.Record(false);
  EXPECT_EQ(changes_, std::vector<bool>{false});
}

TEST_F(UpstreamHealthTest, OneSuccessRecovers) {
  health_.Record(false);
  now_ += absl::Seconds(31);
  health_.Record(false);
  health_.Record(true);
  EXPECT_TRUE(health_.serving());
  EXPECT_EQ(changes_, (std::vector<bool>{false, true}));
}

}  // namespace
}  // namespace leafsvc
