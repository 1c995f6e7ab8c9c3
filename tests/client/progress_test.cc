#include "client/progress.h"

#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace leafsvc::client {
namespace {

TEST(FormatProgress, BarWithRateAndEta) {
  EXPECT_EQ(FormatProgress(500, 1000, absl::Seconds(2), true),
            "[##########----------] 500/1000  50%  250/s  ETA 2s");
  EXPECT_EQ(FormatProgress(500, 1000, absl::Seconds(2), false),
            "500/1000 users (50%), 250/s, ETA 2s");
  EXPECT_EQ(FormatProgress(100, 100000, absl::Seconds(10), false),
            "100/100000 users (0%), 10/s, ETA 2h46m");
}

TEST(FormatProgress, WithoutTotalOrTime) {
  EXPECT_EQ(FormatProgress(42, std::nullopt, absl::Seconds(2), false), "42 users, 21/s");
  EXPECT_EQ(FormatProgress(0, 10, absl::ZeroDuration(), true),
            "[--------------------] 0/10  0%  0.0/s  ETA ?");
}

TEST(Progress, PlainLinesOnlyEveryInterval) {
  std::ostringstream err;
  absl::Time now = absl::FromUnixSeconds(1000);
  Progress p(err, Progress::Mode::kPlain, absl::Seconds(5), [&] { return now; });
  p.SetTotal(10);
  p.Advance(1);
  now += absl::Seconds(1);
  p.Advance(1);
  EXPECT_EQ(err.str(), "");
  now += absl::Seconds(5);
  p.Advance(1);
  EXPECT_EQ(err.str(), "audit: 3/10 users (30%), 0.5/s, ETA 14s\n");
  p.Finish();
  EXPECT_TRUE(absl::EndsWith(err.str(), "audit: 3/10 users (30%), 0.5/s, ETA 14s\n"));
}

TEST(Progress, BarRedrawsInPlace) {
  std::ostringstream err;
  absl::Time now = absl::FromUnixSeconds(1000);
  Progress p(err, Progress::Mode::kBar, absl::Seconds(5), [&] { return now; });
  p.SetTotal(4);
  now += absl::Seconds(1);
  p.Advance(2);
  p.Finish();
  EXPECT_EQ(err.str(),
            "\r[##########----------] 2/4  50%  2.0/s  ETA 1s\x1b[K"
            "\r[##########----------] 2/4  50%  2.0/s  ETA 1s\x1b[K\n");
}

TEST(Progress, NoneIsSilent) {
  std::ostringstream err;
  Progress p(err, Progress::Mode::kNone);
  p.Advance(5);
  p.Finish();
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace leafsvc::client
