// Unit tests of ids and timestamps (ids.h).
#include "emulator/ids.h"

#include <regex>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

TEST(IdsTest, NewUuidV4IsARandomVersion4Uuid) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string id = NewUuidV4();
    EXPECT_TRUE(std::regex_match(
        id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << id;
    EXPECT_TRUE(IsUuidShaped(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(IdsTest, IsUuidShapedChecksOnlyThePattern) {
  EXPECT_TRUE(IsUuidShaped("ABCDEF01-2345-0789-0abc-def012345678"));
  EXPECT_FALSE(IsUuidShaped("5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5"));    // short
  EXPECT_FALSE(IsUuidShaped("5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5bb"));  // long
  EXPECT_FALSE(IsUuidShaped("5a0f2b7e_1c3d-4e5f-8a9b-0c1d2e3f4a5b"));   // separator
  EXPECT_FALSE(IsUuidShaped("5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5g"));   // not hex
  EXPECT_FALSE(IsUuidShaped(""));
}

TEST(IdsTest, HexAndTimestamps) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(RandomBytes(64).size(), 64u);
  absl::Time t = absl::FromUnixMicros(1682079387997586);
  EXPECT_EQ(FormatTimestamp(t), "2023-04-21T12:16:27.997586Z");
  EXPECT_TRUE(
      std::regex_match(NowTimestamp(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
}

}  // namespace
}  // namespace leafemu
