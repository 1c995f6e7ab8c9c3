// Unit tests of the control API's bodies (control_json.h).
#include "emulator/control_json.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

TEST(ControlJsonTest, FaultFromJsonReadsEveryField) {
  absl::StatusOr<Fault> f = FaultFromJson(
      R"({"kind":"slow_drip","method":"GET","path_contains":"/x","times":"3","probability":0.5,
          "latency_ms":20,"status":503,"body":"{}","headers":{"Retry-After":2,"X":"y"},
          "huge_bytes":1024,"drip_interval_ms":7})");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->kind, Fault::Kind::kSlowDrip);
  EXPECT_EQ(f->method, "GET");
  EXPECT_EQ(f->path_contains, "/x");
  EXPECT_EQ(f->times, 3);
  EXPECT_EQ(f->probability, 0.5);
  EXPECT_EQ(f->latency, absl::Milliseconds(20));
  EXPECT_EQ(f->status, 503);
  EXPECT_EQ(f->body, "{}");
  EXPECT_EQ(f->headers.at("Retry-After"), "2");
  EXPECT_EQ(f->headers.at("X"), "y");
  EXPECT_EQ(f->huge_bytes, 1024);
  EXPECT_EQ(f->drip_interval, absl::Milliseconds(7));
}

TEST(ControlJsonTest, FaultDefaultsAndErrors) {
  absl::StatusOr<Fault> f = FaultFromJson("{}");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, Fault::Kind::kStatus);
  EXPECT_EQ(f->times, 1);
  EXPECT_EQ(FaultFromJson("[]").status().message(), "body must be a JSON object");
  EXPECT_EQ(FaultFromJson(R"({"kind":"bogus"})").status().message(), "unknown fault kind 'bogus'");
  EXPECT_TRUE(absl::IsInvalidArgument(FaultFromJson(R"({"probability":1.5})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FaultFromJson(R"({"headers":[1]})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FaultFromJson(R"({"headers":{"a":true}})").status()));
}

TEST(ControlJsonTest, CredentialsAndEvents) {
  const ProviderSpec& spec = ::leafsvc::providers::AgLeaderSpec();
  auto c = CredentialsFromJson(
      R"({"refreshToken":"r","createdTime":"t","accessToken":"a","notAField":"x"})", spec);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Field("refreshToken"), "r");
  EXPECT_EQ(c->created_time, "t");
  EXPECT_EQ(c->Field("accessToken"), "a");
  EXPECT_TRUE(c->id.empty());
  // Only the provider's fields are kept.
  EXPECT_EQ(c->fields.size(), 2u);
  EXPECT_FALSE(CredentialsFromJson("nope", spec));
  auto e = EventFromJson(R"({"status_code":503,"body":"down"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status_code, 503);
  EXPECT_EQ(e->body, "down");
  EXPECT_EQ(EventFromJson("{}")->status_code, 200);
  EXPECT_FALSE(EventFromJson("[]"));
}

TEST(ControlJsonTest, RecordedRequestsAndDuplicateModes) {
  RecordedRequest r;
  r.method = "GET";
  r.path = "/p";
  r.query = "a=1";
  r.headers["authorization"] = "Bearer t";
  r.status = 404;
  rapidjson::Document d;
  d.Parse(RecordedRequestsJson({r}).c_str());
  ASSERT_EQ(d.Size(), 1u);
  EXPECT_STREQ(d[0]["query"].GetString(), "a=1");
  EXPECT_STREQ(d[0]["headers"]["authorization"].GetString(), "Bearer t");
  EXPECT_EQ(d[0]["status"].GetInt(), 404);
  for (DuplicateCreateMode m : {DuplicateCreateMode::kReplace, DuplicateCreateMode::kBadRequest,
                                DuplicateCreateMode::kConflict}) {
    EXPECT_EQ(DuplicateModeFromName(DuplicateModeName(m)), m);
  }
  EXPECT_EQ(DuplicateModeFromName("409"), DuplicateCreateMode::kConflict);
  EXPECT_EQ(DuplicateModeFromName("BadRequest"), DuplicateCreateMode::kBadRequest);
  EXPECT_FALSE(DuplicateModeFromName("nope"));
}

}  // namespace
}  // namespace leafemu
