// The shared state's JSON: round trips, secrets kept out, fingerprints,
// and garbage from Redis refused without a crash.
#include "server/fleet/observation_codec.h"

#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/providers/agleader/agleader_spec.h"

namespace leafsvc::fleet {
namespace {

using watch::ChangePosition;
using watch::Observation;

constexpr char kRefresh[] = "refresh-token-SECRET-0001";
constexpr char kPrivate[] = "private-key-SECRET-0002";

leaf::CredentialField Field(const char* name, const std::string& value, bool secret) {
  leaf::CredentialField f;
  f.name = name;
  f.value = Secret(value);
  f.secret = secret;
  return f;
}

Observation Present(const std::string& id = "c1", const std::string& status = "OK") {
  Observation o;
  o.kind = Observation::Kind::kPresent;
  o.credentials.id = id;
  o.credentials.status = status;
  o.credentials.created_time = absl::FromUnixMicros(1682079387997586);
  o.credentials.fields.push_back(Field("refreshToken", kRefresh, true));
  o.credentials.fields.push_back(Field("publicKey", "public-key", false));
  o.credentials.fields.push_back(Field("privateKey", kPrivate, true));
  o.credentials.fields.push_back(Field("accessToken", "", true));
  return o;
}

Observation Error(absl::StatusCode code, const std::string& reason) {
  StatusDetails d;
  d.reason = reason;
  d.metadata["http_status"] = "503";
  d.retry_delay = absl::Milliseconds(1500);
  d.field_violations.push_back({"leaf_user_id", "must be a UUID"});
  Observation o;
  o.kind = Observation::Kind::kError;
  o.error = MakeStatus(code, "Leaf is unavailable", d);
  return o;
}

TEST(ObservationCodecTest, PresentRoundTripsWithSecretsAsHintsOnly) {
  Observation o = Present();
  o.version = 1765000000123456;
  o.known_since = ChangePosition{1765000000123, 7};
  const std::string json = EncodeObservation(o);
  EXPECT_EQ(json.find("SECRET"), std::string::npos) << json;
  EXPECT_NE(json.find("public-key"), std::string::npos) << json;

  absl::StatusOr<Observation> back = DecodeObservation(json, &providers::AgLeaderSpec());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, Observation::Kind::kPresent);
  EXPECT_EQ(back->credentials.id, "c1");
  EXPECT_EQ(back->credentials.status, "OK");
  EXPECT_EQ(back->credentials.created_time, o.credentials.created_time);
  EXPECT_EQ(back->credentials.provider, &providers::AgLeaderSpec());
  EXPECT_EQ(back->version, o.version);
  EXPECT_EQ(back->known_since, o.known_since);
  EXPECT_FALSE(back->position.has_value());
  ASSERT_EQ(back->credentials.fields.size(), 4u);
  const auto& f = back->credentials.fields;
  EXPECT_EQ(f[0].name, "refreshToken");
  EXPECT_TRUE(f[0].secret);
  EXPECT_TRUE(f[0].value.empty());
  EXPECT_EQ(f[0].hint, "****0001");
  EXPECT_EQ(f[1].value.Reveal(), "public-key");
  EXPECT_FALSE(f[1].secret);
  EXPECT_EQ(f[2].hint, "****0002");
  EXPECT_EQ(f[3].hint, "");  // an empty secret has no hint
  EXPECT_TRUE(f[3].value.empty());

  // Encoding a decoded (withheld) record again keeps the hints.
  absl::StatusOr<Observation> again = DecodeObservation(EncodeObservation(*back));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->credentials.fields[0].hint, "****0001");
  EXPECT_EQ(again->credentials.provider, nullptr);
}

TEST(ObservationCodecTest, HintsAreWholeCharactersAndShortSecretsShowNothing) {
  Observation o = Present();
  o.credentials.fields[0].value = Secret("abcdefghijkl\xE2\x82\xAC\xE2\x82\xAC");
  o.credentials.fields[2].value = Secret("short-123");
  absl::StatusOr<Observation> back = DecodeObservation(EncodeObservation(o));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->credentials.fields[0].hint, "****kl\xE2\x82\xAC\xE2\x82\xAC");
  EXPECT_EQ(back->credentials.fields[2].hint, "****");
}

TEST(ObservationCodecTest, ErrorsKeepTheirDetails) {
  const Observation o = Error(absl::StatusCode::kUnavailable, "LEAF_UNAVAILABLE");
  absl::StatusOr<Observation> back = DecodeObservation(EncodeObservation(o));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, Observation::Kind::kError);
  EXPECT_EQ(back->error.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(back->error.message(), "Leaf is unavailable");
  const StatusDetails d = GetStatusDetails(back->error);
  EXPECT_EQ(d.reason, "LEAF_UNAVAILABLE");
  EXPECT_EQ(d.metadata.at("http_status"), "503");
  ASSERT_TRUE(d.retry_delay.has_value());
  EXPECT_EQ(*d.retry_delay, absl::Milliseconds(1500));
  ASSERT_EQ(d.field_violations.size(), 1u);
  EXPECT_EQ(d.field_violations[0].description, "must be a UUID");

  Observation plain;
  plain.kind = Observation::Kind::kNotRead;
  plain.error = absl::ResourceExhaustedError("budget");
  back = DecodeObservation(EncodeObservation(plain));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, Observation::Kind::kNotRead);
  EXPECT_EQ(back->error, plain.error);

  Observation absent;
  absent.kind = Observation::Kind::kAbsent;
  back = DecodeObservation(EncodeObservation(absent));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, Observation::Kind::kAbsent);
  EXPECT_EQ(back->version, 0u);
  EXPECT_FALSE(back->known_since.has_value());
}

TEST(ObservationCodecTest, FingerprintIsKindIdStatusOrCodeReason) {
  Observation a = Present("c1", "OK");
  Observation b = Present("c1", "OK");
  b.credentials.fields[0].value = Secret("another-refresh-token-9999");
  b.version = 42;
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  EXPECT_NE(Fingerprint(a), Fingerprint(Present("c2", "OK")));
  EXPECT_NE(Fingerprint(a), Fingerprint(Present("c1", "UNAUTHENTICATED")));
  // Length-prefixed: an id and a status cannot trade characters.
  EXPECT_NE(Fingerprint(Present("c1;", "OK")), Fingerprint(Present("c1", ";OK")));
  EXPECT_EQ(Fingerprint(a).find("SECRET"), std::string::npos);

  Observation absent;
  absent.kind = Observation::Kind::kAbsent;
  EXPECT_NE(Fingerprint(absent), Fingerprint(a));
  const Observation e1 = Error(absl::StatusCode::kUnavailable, "LEAF_UNAVAILABLE");
  Observation e2 = Error(absl::StatusCode::kUnavailable, "LEAF_UNAVAILABLE");
  e2.error = MakeStatus(absl::StatusCode::kUnavailable, "another message",
                        StatusDetails{.reason = "LEAF_UNAVAILABLE"});
  EXPECT_EQ(Fingerprint(e1), Fingerprint(e2));
  EXPECT_NE(Fingerprint(e1), Fingerprint(Error(absl::StatusCode::kUnavailable, "LEAF_TIMEOUT")));
  EXPECT_NE(Fingerprint(e1), Fingerprint(Error(absl::StatusCode::kInternal, "LEAF_UNAVAILABLE")));
  EXPECT_NE(Fingerprint(e1), Fingerprint(absent));
}

TEST(ObservationCodecTest, RefusesWrongShapes) {
  for (
      const char* bad : {
          "",
          "null",
          "[]",
          "{}",
          R"({"kind":1})",
          R"({"kind":"sideways"})",
          R"({"kind":"present"})",
          R"({"kind":"present","credentials":[]})",
          R"({"kind":"present","credentials":{"id":1,"status":"OK"}})",
          R"({"kind":"present","credentials":{"id":"c","status":"OK","fields":{}}})",
          R"({"kind":"present","credentials":{"id":"c","status":"OK","fields":[{"name":"a"}]}})",
          R"({"kind":"present","credentials":{"id":"c","status":"OK","fields":[{"name":"a","value":"x","hint":"y"}]}})",
          R"({"kind":"present","credentials":{"id":"c","status":"OK","created_us":1.5}})",
          R"({"kind":"absent","version":-1})",
          R"({"kind":"absent","version":"3"})",
          R"({"kind":"absent","version":1e30})",
          R"({"kind":"absent","known_since":"12"})",
          R"({"kind":"error","error":{"code":99,"message":"x"}})",
          R"({"kind":"error","error":{"code":14,"retry_ms":-5}})",
          R"({"kind":"error","error":{"code":14,"metadata":{"a":1}}})",
          R"({"kind":"error","error":{"code":14,"violations":[["a"]]}})",
          // A reason that is no row of the table: not a record this service wrote.
          R"({"kind":"error","error":{"code":14,"reason":"NOT_A_REASON_OF_OURS"}})",
          R"({"kind":"absent"} trailing)",
      }) {
    absl::StatusOr<Observation> o = DecodeObservation(bad);
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ObservationCodecTest, DeepNestingIsRefusedNotRecursed) {
  const std::string deep_array = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_EQ(DecodeObservation(deep_array).status().code(), absl::StatusCode::kInvalidArgument);
  std::string deep_object = R"({"kind":"absent","x":)";
  for (int i = 0; i < 100000; ++i) deep_object += R"({"a":)";
  deep_object += "1";
  for (int i = 0; i < 100000; ++i) deep_object += "}";
  deep_object += "}";
  EXPECT_EQ(DecodeObservation(deep_object).status().code(), absl::StatusCode::kInvalidArgument);
}

// Random bytes, and valid records with random bytes changed: an error or a
// value, never a crash (run under the sanitizers this also finds reads past
// the end).
TEST(ObservationCodecTest, SeededGarbageNeverCrashes) {
  std::mt19937 rng(20261207);
  std::uniform_int_distribution<int> byte(0, 255);
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text(rng() % 200, '\0');
    for (char& c : text) c = static_cast<char>(byte(rng));
    if (DecodeObservation(text).ok()) ++decoded;
  }
  EXPECT_EQ(decoded, 0);
  const std::string valid = EncodeObservation(Error(absl::StatusCode::kUnavailable, "R"));
  const std::string present = EncodeObservation(Present());
  for (int i = 0; i < 5000; ++i) {
    std::string text = i % 2 == 0 ? valid : present;
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) text[rng() % text.size()] = static_cast<char>(byte(rng));
    absl::StatusOr<Observation> o = DecodeObservation(text);
    if (o.ok()) EXPECT_NE(o->kind, Observation::Kind::kNotRead);
  }
}

}  // namespace
}  // namespace leafsvc::fleet
