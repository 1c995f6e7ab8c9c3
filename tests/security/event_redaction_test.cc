// Through the real stack (emulator, App, gRPC stub): event logs carry no
// AgLeader secret in the default view, CREDENTIALS_VIEW_FULL returns them raw
// only with --allow_full_view, and hints of multi-byte secrets are whole
// characters.
#include <grpcpp/grpcpp.h>

#include <string>

#include "gtest/gtest.h"
#include "server/text/utf8.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kJwt[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2xlYWRlciJ9.c2lnbmF0dXJlLXZhbHVl";

std::unique_ptr<Harness> Start(bool allow_full_view) {
  return Harness::Start(
      nullptr, [allow_full_view](ServerConfig& c) { c.allow_full_view = allow_full_view; });
}

grpc::Status List(Harness& h, v1::CredentialsView view, v1::ListCredentialEventsResponse* out) {
  v1::ListCredentialEventsRequest req;
  req.set_leaf_user_id(kUserA);
  req.set_view(view);
  return h.stub().ListCredentialEvents(Harness::Context().get(), req, out);
}

// Events with what real exchanges with AgLeader record.
void AddHostileEvents(Harness& h) {
  leafemu::StoredEvent e;
  e.created_date = "2026-01-01T00:00:00Z";
  e.id = "a0000000-0000-4000-8000-000000000001";
  e.headers = std::string("Authorization: Bearer ") + kJwt +
              "\r\nCookie: session=COOKIE-SECRET-1\r\nX-Api-Key: APIKEY-SECRET-2";
  e.body = "grant_type=refresh_token&refresh_token=FORM-REFRESH-3&client_secret=FORM-CLIENT-4";
  ASSERT_TRUE(h.emulator().AddEvent(kUserA, e));
  e.id = "a0000000-0000-4000-8000-000000000002";
  e.headers = "Content-Type: application/json";
  e.body = std::string(R"({"data":{"tokens":[{"refreshToken":"JSON-REFRESH-5",)") +
           R"("privateKey":"-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----"}]},)" +
           R"("note":"issued )" + kJwt + R"("})";
  ASSERT_TRUE(h.emulator().AddEvent(kUserA, e));
}

TEST(EventRedactionTest, DefaultViewShowsNoTokenTheEmulatorRecorded) {
  auto h = Start(/*allow_full_view=*/false);
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, "OK"));
  AddHostileEvents(*h);
  // The secrets Leaf stored in its events: every access_token it recorded.
  std::vector<std::string> secrets = {kJwt,
                                      "COOKIE-SECRET-1",
                                      "APIKEY-SECRET-2",
                                      "FORM-REFRESH-3",
                                      "FORM-CLIENT-4",
                                      "JSON-REFRESH-5",
                                      "MIIEvQ"};
  int token_events = 0;
  for (const auto& e : h->emulator().GetEvents(kUserA)) {
    const size_t at = e.body.find("\"access_token\":\"");
    if (at == std::string::npos) continue;
    ++token_events;
    const size_t start = at + 16;
    secrets.push_back(e.body.substr(start, e.body.find('"', start) - start));
  }
  ASSERT_GE(token_events, 1);

  for (v1::CredentialsView view : {v1::CREDENTIALS_VIEW_UNSPECIFIED, v1::CREDENTIALS_VIEW_BASIC}) {
    v1::ListCredentialEventsResponse out;
    grpc::Status st = List(*h, view, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_GE(out.events_size(), 3);
    const std::string wire = out.SerializeAsString();
    for (const std::string& s : secrets) {
      EXPECT_EQ(wire.find(s), std::string::npos) << s;
    }
    for (const auto& e : out.events()) {
      // Structure stays: headers keep their names, JSON bodies stay JSON-like.
      if (e.body().find("access_token") != std::string::npos) {
        EXPECT_NE(e.body().find(R"("access_token":"[redacted]")"), std::string::npos) << e.body();
        EXPECT_NE(e.body().find(R"("expires_in":3600)"), std::string::npos) << e.body();
      }
    }
  }
}

TEST(EventRedactionTest, FullViewIsRawAndNeedsTheFlag) {
  auto denied = Start(/*allow_full_view=*/false);
  ASSERT_NE(denied, nullptr);
  denied->Create(kUserA);
  v1::ListCredentialEventsResponse out;
  grpc::Status st = List(*denied, v1::CREDENTIALS_VIEW_FULL, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "FULL_VIEW_NOT_ALLOWED");

  auto h = Start(/*allow_full_view=*/true);
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  AddHostileEvents(*h);
  st = List(*h, v1::CREDENTIALS_VIEW_FULL, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const auto stored = h->emulator().GetEvents(kUserA);
  ASSERT_EQ(out.events_size(), static_cast<int>(stored.size()));
  for (const auto& e : out.events()) {
    bool found = false;
    for (const auto& s : stored) {
      if (s.id == e.id()) {
        found = true;
        EXPECT_EQ(e.headers(), s.headers);
        EXPECT_EQ(e.body(), s.body);
      }
    }
    EXPECT_TRUE(found) << e.id();
  }
}

TEST(HintTest, MultiByteSecretsRoundTripWithWholeCharacterHints) {
  auto h = Start(/*allow_full_view=*/false);
  ASSERT_NE(h, nullptr);
  const std::string euro = "abcdefghijkl\xE2\x82\xAC\xE2\x82\xAC";
  const std::string emoji = "private-key-\xF0\x9F\x94\x91\xF0\x9F\x94\x91\xF0\x9F\x94\x91";
  const std::string access = "access-\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xE2\x82\xAC";
  v1::CreateCredentialsRequest create;
  create.set_leaf_user_id(kUserA);
  create.set_refresh_token(euro);
  create.set_public_key("public-key");
  create.set_private_key(emoji);
  create.set_access_token(access);
  v1::Credentials created;
  grpc::Status st = h->stub().CreateCredentials(Harness::Context().get(), create, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  v1::Credentials got;
  st = h->stub().GetCredentials(Harness::Context().get(), get, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (const v1::Credentials* c : {&created, &got}) {
    EXPECT_EQ(c->refresh_token_hint(), "****kl\xE2\x82\xAC\xE2\x82\xAC");
    EXPECT_EQ(c->private_key_hint(), "****-\xF0\x9F\x94\x91\xF0\x9F\x94\x91\xF0\x9F\x94\x91");
    EXPECT_EQ(c->access_token_hint(), "****\xC3\xA9\xC3\xA9\xC3\xA9\xE2\x82\xAC");
  }
}

TEST(InputTest, UpperCaseUserIdsAreOneUserAndFormatCharactersAreRefused) {
  auto h = Start(/*allow_full_view=*/false);
  ASSERT_NE(h, nullptr);
  const std::string upper = "3FA85F64-5717-4562-B3FC-2C963F66AFA6";
  v1::Credentials created = h->Create(upper);
  EXPECT_EQ(created.leaf_user_id(), kUserA);
  EXPECT_EQ(created.name(), std::string("users/") + kUserA + "/agLeaderCredentials");
  EXPECT_TRUE(h->emulator().GetStored(kUserA).has_value());
  for (const auto& r : h->emulator().Requests()) {
    EXPECT_EQ(r.path.find("3FA85F64"), std::string::npos) << r.path;
  }

  v1::CreateCredentialsRequest bidi;
  bidi.set_leaf_user_id(kUserB);
  bidi.set_refresh_token("refresh\xE2\x80\xAEtoken");
  bidi.set_public_key("public\xC2\x85key");
  bidi.set_private_key("private-key");
  v1::Credentials out;
  grpc::Status st = h->stub().CreateCredentials(Harness::Context().get(), bidi, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestOf(st).field_violations_size(), 2);
  EXPECT_FALSE(h->emulator().GetStored(kUserB).has_value());
}

}  // namespace
}  // namespace leafsvc::testing
