#include "server/httpd/connection_table.h"

#include <gtest/gtest.h>

namespace leafsvc::httpd {
namespace {

HttpLimits Limits() {
  HttpLimits l;
  l.max_connections = 3;
  l.max_connections_per_ip = 2;
  l.request_timeout = absl::Seconds(10);
  return l;
}

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(ConnectionTableTest, AdmitsUpToTheLimitsInAllAndPerAddress) {
  ConnectionTable t(Limits());
  int keys[4];
  EXPECT_EQ(t.Admit("a"), nullptr);
  t.Opened(&keys[0], 10, "a", kT0);
  t.Opened(&keys[1], 11, "a", kT0);
  EXPECT_STREQ(t.Admit("a"), kRefusedTooManyConnectionsPerIp);
  EXPECT_EQ(t.Admit("b"), nullptr);
  t.Opened(&keys[2], 12, "b", kT0);
  EXPECT_STREQ(t.Admit("c"), kRefusedTooManyConnections);
  t.Closed(&keys[0]);
  EXPECT_EQ(t.Admit("a"), nullptr);
  EXPECT_EQ(t.from("a"), 1);
  t.Closed(&keys[0]);  // twice: no effect
  EXPECT_EQ(t.size(), 2);
  t.Closed(&keys[1]);
  EXPECT_EQ(t.from("a"), 0);
}

TEST(ConnectionTableTest, OverdueConnectionsAreReportedOnceAndTheNextDeadlineMoves) {
  ConnectionTable t(Limits());
  int a, b;
  t.Opened(&a, 10, "x", kT0);
  t.Opened(&b, 11, "y", kT0 + absl::Seconds(5));
  EXPECT_EQ(t.NextDeadline(), kT0 + absl::Seconds(10));
  EXPECT_TRUE(t.TakeOverdue(kT0 + absl::Seconds(9)).empty());
  EXPECT_EQ(t.TakeOverdue(kT0 + absl::Seconds(10)), std::vector<int>{10});
  EXPECT_TRUE(t.TakeOverdue(kT0 + absl::Seconds(11)).empty());
  EXPECT_EQ(t.NextDeadline(), kT0 + absl::Seconds(15));
  // A request answered pushes the next one's deadline; an overdue one stays so.
  t.RequestDone(&b, kT0 + absl::Seconds(14));
  EXPECT_EQ(t.NextDeadline(), kT0 + absl::Seconds(24));
  t.RequestDone(&a, kT0 + absl::Seconds(14));
  EXPECT_TRUE(t.TakeOverdue(kT0 + absl::Seconds(20)).empty());
  t.Closed(&a);
  t.Closed(&b);
  EXPECT_EQ(t.NextDeadline(), absl::InfiniteFuture());
}

}  // namespace
}  // namespace leafsvc::httpd
