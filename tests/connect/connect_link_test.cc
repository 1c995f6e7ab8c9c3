// LinkStateName and StateAt: the public names, and expiry seen from `now`.
#include "server/connect/connect_link.h"

#include "gtest/gtest.h"

namespace leafsvc::connect {
namespace {

TEST(ConnectLinkTest, StateNamesAreThePublicEnumsNames) {
  EXPECT_EQ(LinkStateName(LinkState::kPending), "PENDING");
  EXPECT_EQ(LinkStateName(LinkState::kConnected), "CONNECTED");
  EXPECT_EQ(LinkStateName(LinkState::kDenied), "DENIED");
  EXPECT_EQ(LinkStateName(LinkState::kFailed), "FAILED");
  EXPECT_EQ(LinkStateName(LinkState::kExpired), "EXPIRED");
}

TEST(ConnectLinkTest, OpenStatesExpireAtExpireTime) {
  const absl::Time t = absl::FromUnixSeconds(1000000);
  ConnectLink link;
  link.expire_time = t;
  for (LinkState s : {LinkState::kPending, LinkState::kDenied, LinkState::kFailed}) {
    link.state = s;
    EXPECT_EQ(link.StateAt(t - absl::Seconds(1)), s);
    EXPECT_EQ(link.StateAt(t), LinkState::kExpired);
    EXPECT_EQ(link.StateAt(t + absl::Hours(1)), LinkState::kExpired);
  }
}

TEST(ConnectLinkTest, ConnectedNeverExpires) {
  ConnectLink link;
  link.state = LinkState::kConnected;
  link.expire_time = absl::FromUnixSeconds(10);
  EXPECT_EQ(link.StateAt(absl::FromUnixSeconds(1000)), LinkState::kConnected);
}

}  // namespace
}  // namespace leafsvc::connect
