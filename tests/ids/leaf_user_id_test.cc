#include "server/ids/leaf_user_id.h"

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

TEST(LeafUserIdTest, TheFormIs8_4_4_4_12HexDigitsOfEitherCase) {
  EXPECT_TRUE(IsLeafUserId("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
  EXPECT_TRUE(IsLeafUserId("3FA85F64-5717-4562-B3FC-2C963F66AFA6"));
  EXPECT_TRUE(IsLeafUserId("00000000-0000-0000-0000-000000000000"));  // version 0 exists
  for (const char* bad :
       {"", "3fa85f64-5717-4562-b3fc-2c963f66afa", "3fa85f64-5717-4562-b3fc-2c963f66afa66",
        "3fa85f6405717-4562-b3fc-2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afag",
        "../../../../../../../../../etc/passw", "3fa85f64-5717-4562-b3fc-2c963f66afa\n"}) {
    EXPECT_FALSE(IsLeafUserId(bad)) << bad;
  }
  EXPECT_FALSE(IsLeafUserId(absl::string_view("3fa85f64-5717-4562-b3fc-2c963f66afa\0", 36)));
}

TEST(LeafUserIdTest, TheOneSpellingIsLowerCase) {
  EXPECT_EQ(CanonicalLeafUserId("3FA85F64-5717-4562-B3FC-2C963F66AFA6"),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  EXPECT_EQ(CanonicalLeafUserId("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  // Only ASCII letters change: anything else is left for validation to refuse.
  EXPECT_EQ(CanonicalLeafUserId("\xC3\x89"), "\xC3\x89");
}

}  // namespace
}  // namespace leafsvc
