#include "server/errors/status_details.h"

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

TEST(StatusDetailsTest, RoundTripsEveryDetail) {
  StatusDetails in;
  in.reason = "SOME_REASON";
  in.metadata = {{"leaf_http_status", "404"}, {"leaf_message", "gone"}};
  in.field_violations = {{"b_field", "second"}, {"a_field", "first"}, {"b_field", "again"}};
  in.retry_delay = absl::Milliseconds(1500);
  absl::Status st = MakeStatus(absl::StatusCode::kNotFound, "msg", in);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "msg");

  StatusDetails out = GetStatusDetails(st);
  EXPECT_EQ(out.reason, "SOME_REASON");
  EXPECT_EQ(out.metadata, in.metadata);
  ASSERT_EQ(out.field_violations.size(), 3u);
  // Order of the violations is preserved, duplicates included.
  EXPECT_EQ(out.field_violations[0].field, "b_field");
  EXPECT_EQ(out.field_violations[1].field, "a_field");
  EXPECT_EQ(out.field_violations[2].description, "again");
  ASSERT_TRUE(out.retry_delay.has_value());
  EXPECT_EQ(*out.retry_delay, absl::Milliseconds(1500));
}

TEST(StatusDetailsTest, PlainStatusHasNoDetails) {
  StatusDetails out = GetStatusDetails(absl::InternalError("x"));
  EXPECT_TRUE(out.reason.empty());
  EXPECT_TRUE(out.metadata.empty());
  EXPECT_FALSE(out.retry_delay.has_value());
}

TEST(StatusDetailsTest, OkStatusCarriesNothing) {
  absl::Status st = MakeStatus(absl::StatusCode::kOk, "", StatusDetails{"R", {}, {}, {}});
  EXPECT_TRUE(st.ok());
  SetStatusMetadata(st, "k", "v");
  EXPECT_TRUE(GetStatusDetails(st).metadata.empty());
}

TEST(StatusDetailsTest, SetStatusMetadataAddsAndReplaces) {
  absl::Status st = absl::NotFoundError("x");
  SetStatusMetadata(st, "k", "1");
  SetStatusMetadata(st, "k", "2");
  EXPECT_EQ(GetStatusDetails(st).metadata.at("k"), "2");
}

}  // namespace
}  // namespace leafsvc

namespace leafsvc {
namespace {

TEST(RedactSecretsTest, ScrubsMessageMetadataAndViolations) {
  StatusDetails d;
  d.reason = "LEAF_REJECTED_REQUEST";
  d.metadata = {{"leaf_message", "bad refreshToken rt-secret-123"}, {"leaf_http_status", "400"}};
  d.field_violations = {{"f", "value rt-secret-123 is wrong"}};
  absl::Status st = RedactSecrets(
      MakeStatus(absl::StatusCode::kInvalidArgument, "Leaf said: rt-secret-123 and pk-99", d),
      {"rt-secret-123", "pk-99", "ab"});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "Leaf said: [redacted] and [redacted]");
  StatusDetails out = GetStatusDetails(st);
  EXPECT_EQ(out.reason, "LEAF_REJECTED_REQUEST");
  EXPECT_EQ(out.metadata.at("leaf_message"), "bad refreshToken [redacted]");
  EXPECT_EQ(out.metadata.at("leaf_http_status"), "400");
  EXPECT_EQ(out.field_violations[0].description, "value [redacted] is wrong");
}

TEST(RedactSecretsTest, TooShortSecretsAreLeftAlone) {
  absl::Status st = RedactSecrets(absl::InternalError("a b c"), {"a", "b c"});
  EXPECT_EQ(st.message(), "a b c");
}

}  // namespace
}  // namespace leafsvc
