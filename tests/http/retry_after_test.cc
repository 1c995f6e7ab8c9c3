#include "server/http/retry_after.h"

#include "gtest/gtest.h"

namespace leafsvc::http {
namespace {

TEST(RetryAfterTest, ParseRetryAfterForms) {
  const absl::Time now = absl::FromUnixSeconds(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-3", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
}

TEST(RetryAfterTest, AbsurdDelaysAreCappedAtADay) {
  const absl::Time now = absl::FromUnixSeconds(1445412480);
  EXPECT_EQ(ParseRetryAfter("999999999999", now), absl::Hours(24));
  EXPECT_EQ(ParseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now), absl::Hours(24));
}

}  // namespace
}  // namespace leafsvc::http
