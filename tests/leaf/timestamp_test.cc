#include "server/leaf/timestamp.h"

#include "gtest/gtest.h"

namespace leafsvc::leaf {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TEST(TimestampTest, ParsesSixFractionDigitsWithZ) {
  auto t = ParseLeafTimestamp("2023-04-21T12:16:27.997586Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, Utc(2023, 4, 21, 12, 16, 27) + absl::Microseconds(997586));
}

TEST(TimestampTest, ParsesZeroToNineFractionDigits) {
  const absl::Time base = Utc(2022, 1, 2, 3, 4, 5);
  EXPECT_EQ(*ParseLeafTimestamp("2022-01-02T03:04:05Z"), base);
  EXPECT_EQ(*ParseLeafTimestamp("2022-01-02T03:04:05.1Z"), base + absl::Milliseconds(100));
  EXPECT_EQ(*ParseLeafTimestamp("2022-01-02T03:04:05.123Z"), base + absl::Milliseconds(123));
  EXPECT_EQ(*ParseLeafTimestamp("2022-01-02T03:04:05.123456789Z"),
            base + absl::Nanoseconds(123456789));
}

TEST(TimestampTest, ZIsOptionalAndMeansUtc) {
  EXPECT_EQ(*ParseLeafTimestamp("2022-01-02T03:04:05.5"),
            Utc(2022, 1, 2, 3, 4, 5) + absl::Milliseconds(500));
}

TEST(TimestampTest, RejectsMalformedInput) {
  for (const char* bad :
       {"", "2022-01-02", "2022-01-02 03:04:05Z", "2022-01-02T03:04:05.Z",
        "2022-01-02T03:04:05.1234567890Z", "2022-13-02T03:04:05Z", "2022-02-30T03:04:05Z",
        "2022-01-02T03:04:05+01:00", "2022-01-02T03:04:05Zjunk", "2022-01-02T25:04:05Z",
        "20a2-01-02T03:04:05Z", " 2022-01-02T03:04:05Z"}) {
    EXPECT_FALSE(ParseLeafTimestamp(bad).ok()) << bad;
  }
}

TEST(TimestampTest, FormatsSixDigitsAndZ) {
  EXPECT_EQ(FormatLeafTimestamp(Utc(2023, 4, 21, 12, 16, 27) + absl::Microseconds(42)),
            "2023-04-21T12:16:27.000042Z");
}

TEST(TimestampTest, FormatParseRoundTrip) {
  absl::Time t = Utc(2030, 12, 31, 23, 59, 59) + absl::Microseconds(999999);
  EXPECT_EQ(*ParseLeafTimestamp(FormatLeafTimestamp(t)), t);
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

TEST(TimestampTest, NoLeapSecondsAndFourDigitYears) {
  EXPECT_FALSE(ParseLeafTimestamp("2016-12-31T23:59:60Z").ok());
  const absl::Time early =
      absl::FromCivil(absl::CivilSecond(999, 1, 2, 3, 4, 5), absl::UTCTimeZone());
  EXPECT_EQ(FormatLeafTimestamp(early), "0999-01-02T03:04:05.000000Z");
  EXPECT_EQ(*ParseLeafTimestamp(FormatLeafTimestamp(early)), early);
}

}  // namespace
}  // namespace leafsvc::leaf
