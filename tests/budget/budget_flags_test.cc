#include "server/budget/budget_flags.h"

#include "gtest/gtest.h"

namespace leafsvc::budget {
namespace {

TEST(BudgetFlagsTest, DefaultsAreLeafsPublishedLimit) {
  FlagSet f("AGLEADER_");
  AddRequestBudgetFlags(f);
  char arg0[] = "server";
  char* argv[] = {arg0};
  ASSERT_TRUE(f.Parse(1, argv).ok());
  absl::StatusOr<RequestBudgetOptions> o = ReadRequestBudgetFlags(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->requests_per_minute, 1000);
  EXPECT_EQ(o->burst, 20);
  EXPECT_DOUBLE_EQ(o->background_min_share, 0.10);
}

TEST(BudgetFlagsTest, SharesArePercentagesOrFractions) {
  EXPECT_DOUBLE_EQ(ParseShare("s", "10%").value(), 0.10);
  EXPECT_DOUBLE_EQ(ParseShare("s", "25").value(), 0.25);
  EXPECT_DOUBLE_EQ(ParseShare("s", "0.2").value(), 0.2);
  EXPECT_DOUBLE_EQ(ParseShare("s", "0").value(), 0.0);
  EXPECT_DOUBLE_EQ(ParseShare("s", " 5% ").value(), 0.05);
  for (const char* bad : {"", "%", "ten", "-1", "60%", "nan", "1e9", "10%%"}) {
    absl::StatusOr<double> got = ParseShare("leaf_background_min_share", bad);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_NE(got.status().message().find("--leaf_background_min_share"), absl::string_view::npos);
  }
}

TEST(BudgetFlagsTest, ValuesReachTheOptions) {
  FlagSet f("AGLEADER_");
  AddRequestBudgetFlags(f);
  char a0[] = "server", a1[] = "--leaf_requests_per_minute=0", a2[] = "--leaf_burst=3",
       a3[] = "--leaf_background_min_share=20%";
  char* argv[] = {a0, a1, a2, a3};
  ASSERT_TRUE(f.Parse(4, argv).ok());
  absl::StatusOr<RequestBudgetOptions> o = ReadRequestBudgetFlags(f);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->requests_per_minute, 0);
  EXPECT_EQ(o->burst, 3);
  EXPECT_DOUBLE_EQ(o->background_min_share, 0.2);
}

}  // namespace
}  // namespace leafsvc::budget
