// Tests of the Leaf emulator through real HTTP (httplib::Client on loopback).
#include "emulator/leaf_emulator.h"

#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

constexpr char kUser[] = "grower@example.com";
constexpr char kPassword[] = "s3cret";
constexpr char kStaticToken[] = "static-test-token";
constexpr char kLeafUser[] = "5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
constexpr char kCredsPath[] =
    "/services/usermanagement/api/users/5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/"
    "ag-leader-credentials";
constexpr char kEventsPath[] =
    "/services/usermanagement/api/users/5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/"
    "ag-leader-credentials/events";
constexpr char kCreateBody[] =
    R"({"refreshToken":"rt-123","publicKey":"pub-456","privateKey":"priv-789"})";

std::string CredsPathFor(const std::string& user) {
  return absl::StrCat("/services/usermanagement/api/users/", user,
                      "/ag-leader-credentials");
}

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

std::string Base64UrlDecode(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return "";
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// Asserts `res` is a problem+json answer with `status`.
void ExpectProblem(const httplib::Result& res, int status,
                   const std::string& error_key = "") {
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, status);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject()) << res->body;
  EXPECT_STREQ(d["type"].GetString(),
               "https://www.jhipster.tech/problem/problem-with-message");
  EXPECT_EQ(d["status"].GetInt(), status);
  EXPECT_TRUE(d.HasMember("title"));
  EXPECT_TRUE(d.HasMember("message"));
  ASSERT_TRUE(d.HasMember("path"));
  EXPECT_TRUE(absl::StartsWith(d["path"].GetString(), "/"));
  // Leaf's services report the path behind the gateway prefix.
  EXPECT_FALSE(absl::StartsWith(d["path"].GetString(), "/services/"));
  if (!error_key.empty()) {
    ASSERT_TRUE(d.HasMember("errorKey")) << res->body;
    EXPECT_EQ(d["errorKey"].GetString(), error_key);
  }
}

class LeafEmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(DefaultOptions()); }

  static EmulatorOptions DefaultOptions() {
    EmulatorOptions o;
    o.accounts[kUser] = kPassword;
    o.static_tokens.push_back(kStaticToken);
    return o;
  }

  void StartWith(EmulatorOptions options) {
    emu_.reset();
    auto started = LeafEmulator::Start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status();
    emu_ = std::move(*started);
  }

  std::unique_ptr<httplib::Client> NewClient() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", emu_->port());
    c->set_connection_timeout(2, 0);
    c->set_read_timeout(5, 0);
    return c;
  }

  httplib::Headers Auth(const std::string& token = kStaticToken) {
    return {{"Authorization", absl::StrCat("Bearer ", token)}};
  }

  httplib::Result Login(const std::string& body) {
    return NewClient()->Post("/api/authenticate", body, "application/json");
  }
  httplib::Result GetCreds(const std::string& token = kStaticToken) {
    return NewClient()->Get(kCredsPath, Auth(token));
  }
  httplib::Result CreateCreds(const std::string& body = kCreateBody) {
    return NewClient()->Post(kCredsPath, Auth(), body, "application/json");
  }
  httplib::Result DeleteCreds() {
    return NewClient()->Delete(kCredsPath, Auth());
  }
  httplib::Result GetEvents() {
    return NewClient()->Get(kEventsPath, Auth());
  }

  std::unique_ptr<LeafEmulator> emu_;
};

TEST_F(LeafEmulatorTest, StartFailsWhenPortIsTaken) {
  EmulatorOptions o = DefaultOptions();
  o.port = emu_->port();
  auto second = LeafEmulator::Start(o);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(emu_->base_url(), absl::StrCat("http://127.0.0.1:", emu_->port()));
}

// --- Login -----------------------------------------------------------------

TEST_F(LeafEmulatorTest, LoginWithGoodAccountReturnsHs512Jwt) {
  absl::Time before = absl::Now();
  auto res = Login(R"({"username":"grower@example.com","password":"s3cret"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject() && d.HasMember("id_token")) << res->body;
  std::vector<std::string> parts = absl::StrSplit(d["id_token"].GetString(), '.');
  ASSERT_EQ(parts.size(), 3u);
  rapidjson::Document header = Parse(Base64UrlDecode(parts[0]));
  ASSERT_TRUE(header.IsObject());
  EXPECT_STREQ(header["alg"].GetString(), "HS512");
  EXPECT_STREQ(header["typ"].GetString(), "JWT");
  rapidjson::Document payload = Parse(Base64UrlDecode(parts[1]));
  ASSERT_TRUE(payload.IsObject());
  EXPECT_STREQ(payload["sub"].GetString(), kUser);
  EXPECT_STREQ(payload["auth"].GetString(), "ROLE_USER");
  // rememberMe missing: 24 h.
  int64_t exp = payload["exp"].GetInt64();
  EXPECT_NEAR(exp, absl::ToUnixSeconds(before + absl::Hours(24)), 5);
  EXPECT_EQ(Base64UrlDecode(parts[2]).size(), 64u);  // SHA-512
  EXPECT_EQ(emu_->LoginCount(), 1);
}

TEST_F(LeafEmulatorTest, LoginRememberMeAsBooleanGives30DayToken) {
  auto res = Login(
      R"({"username":"grower@example.com","password":"s3cret","rememberMe":true})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  std::vector<std::string> parts =
      absl::StrSplit(Parse(res->body)["id_token"].GetString(), '.');
  rapidjson::Document payload = Parse(Base64UrlDecode(parts[1]));
  EXPECT_NEAR(payload["exp"].GetInt64(),
              absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 30)), 5);
}

TEST_F(LeafEmulatorTest, LoginRememberMeAsStringIsAccepted) {
  for (const char* value : {"true", "false"}) {
    auto res = Login(absl::StrCat(
        R"({"username":"grower@example.com","password":"s3cret","rememberMe":")",
        value, "\"}"));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << value;
    std::vector<std::string> parts =
        absl::StrSplit(Parse(res->body)["id_token"].GetString(), '.');
    rapidjson::Document payload = Parse(Base64UrlDecode(parts[1]));
    absl::Duration lifetime = std::string(value) == "true"
                                  ? absl::Hours(24 * 30)
                                  : absl::Hours(24);
    EXPECT_NEAR(payload["exp"].GetInt64(),
                absl::ToUnixSeconds(absl::Now() + lifetime), 5)
        << value;
  }
  EXPECT_EQ(emu_->LoginCount(), 2);
}

TEST_F(LeafEmulatorTest, LoginWithBadPasswordIs401Problem) {
  ExpectProblem(
      Login(R"({"username":"grower@example.com","password":"wrong"})"), 401);
  ExpectProblem(Login(R"({"username":"nobody@example.com","password":"s3cret"})"),
                401);
  EXPECT_EQ(emu_->LoginCount(), 0);
}

TEST_F(LeafEmulatorTest, LoginWithMalformedBodyIs401Problem) {
  ExpectProblem(Login("{not json"), 401);
  ExpectProblem(Login(R"({"username":"grower@example.com"})"), 401);
  EXPECT_EQ(emu_->LoginCount(), 0);
}

TEST_F(LeafEmulatorTest, LoginWithGetIs405) {
  ExpectProblem(NewClient()->Get("/api/authenticate"), 405);
}

TEST_F(LeafEmulatorTest, LoginTokenIsAcceptedAsBearer) {
  auto login =
      Login(R"({"username":"grower@example.com","password":"s3cret"})");
  ASSERT_TRUE(login);
  std::string token = Parse(login->body)["id_token"].GetString();
  ExpectProblem(GetCreds(token), 404, "credentialsnotfound");  // authorized
}

// --- Bearer checks ----------------------------------------------------------

TEST_F(LeafEmulatorTest, MissingBearerIs401) {
  auto res = NewClient()->Get(kCredsPath);
  ExpectProblem(res, 401);
  rapidjson::Document d = Parse(res->body);
  EXPECT_STREQ(d["title"].GetString(), "Unauthorized");
  EXPECT_STREQ(d["message"].GetString(), "error.http.401");
  EXPECT_TRUE(absl::StrContains(d["detail"].GetString(), "missing"))
      << d["detail"].GetString();
}

TEST_F(LeafEmulatorTest, GarbageBearerIs401Malformed) {
  for (const char* token : {"garbage", "a.b.c", "x.y"}) {
    auto res = GetCreds(token);
    ExpectProblem(res, 401);
    EXPECT_TRUE(absl::StrContains(Parse(res->body)["detail"].GetString(),
                                  "Malformed"))
        << res->body;
  }
  auto basic = NewClient()->Get(
      kCredsPath, httplib::Headers{{"Authorization", "Basic Zm9vOmJhcg=="}});
  ExpectProblem(basic, 401);
}

TEST_F(LeafEmulatorTest, TokenSignedWithAnotherKeyIs401) {
  std::string token = emu_->IssueToken(kUser, absl::Hours(1));
  // Flip the signature's first character.
  size_t sig = token.rfind('.') + 1;
  token[sig] = token[sig] == 'A' ? 'B' : 'A';
  ExpectProblem(GetCreds(token), 401);
}

TEST_F(LeafEmulatorTest, ExpiredTokenIs401Expired) {
  std::string already_expired = emu_->IssueToken(kUser, absl::Seconds(-1));
  auto res = GetCreds(already_expired);
  ExpectProblem(res, 401);
  EXPECT_TRUE(
      absl::StrContains(Parse(res->body)["detail"].GetString(), "Expired"))
      << res->body;

  std::string short_lived = emu_->IssueToken(kUser, absl::Seconds(1));
  ExpectProblem(GetCreds(short_lived), 404);  // still valid
  std::vector<std::string> parts = absl::StrSplit(short_lived, '.');
  int64_t exp = Parse(Base64UrlDecode(parts[1]))["exp"].GetInt64();
  absl::SleepFor(absl::FromUnixSeconds(exp) - absl::Now() +
                 absl::Milliseconds(20));
  ExpectProblem(GetCreds(short_lived), 401);
}

TEST_F(LeafEmulatorTest, RevokeAllTokensInvalidatesIssuedButNotStaticTokens) {
  std::string token = emu_->IssueToken(kUser, absl::Hours(1));
  ExpectProblem(GetCreds(token), 404);
  emu_->RevokeAllTokens();
  ExpectProblem(GetCreds(token), 401);
  ExpectProblem(GetCreds(kStaticToken), 404);
  ExpectProblem(GetCreds(emu_->IssueToken(kUser, absl::Hours(1))), 404);
}

// --- Credentials --------------------------------------------------------------

TEST_F(LeafEmulatorTest, CreateReturns201WithCredential) {
  auto res = CreateCreds(
      R"({"refreshToken":"rt-123","publicKey":"pub-456","privateKey":"priv-789","accessToken":"at-1","extra":1})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject()) << res->body;
  EXPECT_TRUE(std::regex_match(
      d["id"].GetString(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                 "[0-9a-f]{12}")))
      << d["id"].GetString();
  EXPECT_STREQ(d["status"].GetString(), "OK");
  EXPECT_TRUE(std::regex_match(
      d["createdTime"].GetString(),
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << d["createdTime"].GetString();
  EXPECT_STREQ(d["accessToken"].GetString(), "at-1");
  EXPECT_STREQ(d["refreshToken"].GetString(), "rt-123");
  EXPECT_STREQ(d["publicKey"].GetString(), "pub-456");
  EXPECT_STREQ(d["privateKey"].GetString(), "priv-789");
  auto stored = emu_->GetStored(kLeafUser);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, d["id"].GetString());
  EXPECT_EQ(stored->refresh_token, "rt-123");
}

TEST_F(LeafEmulatorTest, GetAfterCreateReturns200WithSameCredential) {
  auto created = CreateCreds();
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(std::string(d["id"].GetString()),
            Parse(created->body)["id"].GetString());
  EXPECT_STREQ(d["status"].GetString(), "OK");
  EXPECT_TRUE(!d.HasMember("accessToken") || d["accessToken"].IsNull());
  EXPECT_STREQ(d["refreshToken"].GetString(), "rt-123");
  EXPECT_STREQ(d["publicKey"].GetString(), "pub-456");
  EXPECT_STREQ(d["privateKey"].GetString(), "priv-789");
}

TEST_F(LeafEmulatorTest, GetWithoutCredentialsIs404) {
  auto res = GetCreds();
  ExpectProblem(res, 404, "credentialsnotfound");
  EXPECT_EQ(std::string(Parse(res->body)["path"].GetString()),
            absl::StrCat("/api/users/", kLeafUser, "/ag-leader-credentials"));
}

TEST_F(LeafEmulatorTest, CreateWithMissingFieldIs400WithFieldErrors) {
  auto res = CreateCreds(R"({"publicKey":"p","privateKey":"k"})");
  ExpectProblem(res, 400);
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.HasMember("fieldErrors"));
  ASSERT_EQ(d["fieldErrors"].Size(), 1u);
  const auto& fe = d["fieldErrors"][0];
  EXPECT_STREQ(fe["objectName"].GetString(), "agLeaderCredentials");
  EXPECT_STREQ(fe["field"].GetString(), "refreshToken");
  EXPECT_STREQ(fe["message"].GetString(), "NotNull");

  auto blank = CreateCreds(R"({"refreshToken":"","publicKey":"p","privateKey":"k"})");
  ExpectProblem(blank, 400);
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
}

TEST_F(LeafEmulatorTest, CreateWithInvalidJsonIs400) {
  auto res = CreateCreds("{\"refreshToken\":");
  ExpectProblem(res, 400);
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.HasMember("fieldErrors"));
  EXPECT_GE(d["fieldErrors"].Size(), 1u);
}

TEST_F(LeafEmulatorTest, DeleteReturns204ThenGetAndDeleteAre404) {
  ASSERT_EQ(CreateCreds()->status, 201);
  auto res = DeleteCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_TRUE(res->body.empty());
  ExpectProblem(GetCreds(), 404, "credentialsnotfound");
  ExpectProblem(DeleteCreds(), 404, "credentialsnotfound");
  ExpectProblem(GetEvents(), 404);  // events went with the credentials
}

TEST_F(LeafEmulatorTest, EventsAfterCreateHaveOneSuccessWithoutSecrets) {
  ASSERT_EQ(CreateCreds()->status, 201);
  auto res = GetEvents();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsArray()) << res->body;
  ASSERT_EQ(d.Size(), 1u);
  const auto& e = d[0];
  EXPECT_TRUE(e["id"].IsString());
  EXPECT_TRUE(e["createdDate"].IsString());
  EXPECT_EQ(e["statusCode"].GetInt(), 200);
  EXPECT_TRUE(absl::StrContains(e["headers"].GetString(), "Content-Type"));
  ASSERT_TRUE(e["body"].IsString());
  EXPECT_TRUE(absl::StrContains(e["body"].GetString(), "access_token"));
  for (const char* secret : {"rt-123", "pub-456", "priv-789"}) {
    EXPECT_FALSE(absl::StrContains(res->body, secret)) << secret;
  }
}

TEST_F(LeafEmulatorTest, EventsAreNewestFirst) {
  ASSERT_EQ(CreateCreds()->status, 201);
  StoredEvent e;
  e.id = "later";
  e.status_code = 401;
  e.headers = "Content-Type: application/json";
  e.body = "{\"error\":\"invalid_grant\"}";
  ASSERT_TRUE(emu_->AddEvent(kLeafUser, e));
  rapidjson::Document d = Parse(GetEvents()->body);
  ASSERT_EQ(d.Size(), 2u);
  EXPECT_STREQ(d[0]["id"].GetString(), "later");
  EXPECT_EQ(d[0]["statusCode"].GetInt(), 401);
  EXPECT_EQ(d[1]["statusCode"].GetInt(), 200);
  EXPECT_FALSE(emu_->AddEvent("00000000-0000-0000-0000-000000000000", e));
}

TEST_F(LeafEmulatorTest, DuplicateCreateReplaceGives201AndNewId) {
  auto first = CreateCreds();
  auto second = CreateCreds(
      R"({"refreshToken":"rt-2","publicKey":"p2","privateKey":"k2"})");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->status, 201);
  EXPECT_NE(std::string(Parse(first->body)["id"].GetString()),
            Parse(second->body)["id"].GetString());
  EXPECT_EQ(emu_->GetStored(kLeafUser)->refresh_token, "rt-2");
}

TEST_F(LeafEmulatorTest, DuplicateCreateBadRequestGives400WithErrorKey) {
  emu_->SetDuplicateCreateMode(DuplicateCreateMode::kBadRequest);
  ASSERT_EQ(CreateCreds()->status, 201);
  ExpectProblem(
      CreateCreds(R"({"refreshToken":"rt-2","publicKey":"p2","privateKey":"k2"})"),
      400, "credentialsalreadyexist");
  EXPECT_EQ(emu_->GetStored(kLeafUser)->refresh_token, "rt-123");
}

TEST_F(LeafEmulatorTest, DuplicateCreateConflictGives409) {
  emu_->SetDuplicateCreateMode(DuplicateCreateMode::kConflict);
  ASSERT_EQ(CreateCreds()->status, 201);
  ExpectProblem(CreateCreds(), 409);
}

TEST_F(LeafEmulatorTest, InvalidRefreshTokenIsStoredUnauthenticatedByDefault) {
  auto res = CreateCreds(
      R"({"refreshToken":"invalid-rt","publicKey":"p","privateKey":"k"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_STREQ(Parse(res->body)["status"].GetString(), "UNAUTHENTICATED");
  rapidjson::Document events = Parse(GetEvents()->body);
  ASSERT_EQ(events.Size(), 1u);
  EXPECT_EQ(events[0]["statusCode"].GetInt(), 401);
}

TEST_F(LeafEmulatorTest, InvalidRefreshTokenIsRejectedWhenConfigured) {
  EmulatorOptions o = DefaultOptions();
  o.reject_invalid_refresh_token = true;
  StartWith(o);
  ExpectProblem(
      CreateCreds(R"({"refreshToken":"invalid-rt","publicKey":"p","privateKey":"k"})"),
      400);
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
}

TEST_F(LeafEmulatorTest, UnknownUserIs404WhenKnownUsersSet) {
  EmulatorOptions o = DefaultOptions();
  o.known_users = std::vector<std::string>{kLeafUser};
  StartWith(o);
  auto res = NewClient()->Get(
      CredsPathFor("11111111-2222-3333-4444-555555555555"), Auth());
  ExpectProblem(res, 404, "usernotfound");
  EXPECT_STREQ(Parse(res->body)["message"].GetString(), "User not found");
  ExpectProblem(GetCreds(), 404, "credentialsnotfound");  // known user
}

TEST_F(LeafEmulatorTest, NonUuidUserIdIs400) {
  ExpectProblem(NewClient()->Get(CredsPathFor("not-a-uuid"), Auth()), 400);
  ExpectProblem(
      NewClient()->Get(CredsPathFor("5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5"),
                       Auth()),
      400);
  // Version nibble 0 is fine: only the hex pattern counts.
  ExpectProblem(NewClient()->Get(
                    CredsPathFor("ABCDEF01-2345-0789-0abc-def012345678"), Auth()),
                404, "credentialsnotfound");
}

TEST_F(LeafEmulatorTest, UnknownRouteIs404AndWrongMethodIs405) {
  ExpectProblem(NewClient()->Get(
                    "/services/usermanagement/api/users/" +
                        std::string(kLeafUser) + "/john-deere-credentials",
                    Auth()),
                404);
  ExpectProblem(NewClient()->Get("/nowhere"), 404);
  auto put = NewClient()->Put(kCredsPath, Auth(), kCreateBody,
                              "application/json");
  ExpectProblem(put, 405);
  ExpectProblem(NewClient()->Delete(kEventsPath, Auth()), 405);
}

// --- Faults ---------------------------------------------------------------------

TEST_F(LeafEmulatorTest, StatusFaultAnswersGivenStatusAndHeaders) {
  Fault f;
  f.kind = Fault::Kind::kStatus;
  f.status = 429;
  f.headers["Retry-After"] = "1";
  emu_->InjectFault(f);
  auto res = GetCreds();
  ExpectProblem(res, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  ExpectProblem(GetCreds(), 404);  // times = 1: used up
}

TEST_F(LeafEmulatorTest, StatusFaultWithCustomBody) {
  Fault f;
  f.kind = Fault::Kind::kStatus;
  f.status = 503;
  f.body = "{\"oops\":true}";
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "{\"oops\":true}");
}

TEST_F(LeafEmulatorTest, LatencyFaultDelaysThenAnswersNormally) {
  Fault f;
  f.kind = Fault::Kind::kLatencyOnly;
  f.latency = absl::Milliseconds(300);
  emu_->InjectFault(f);
  absl::Time start = absl::Now();
  auto res = GetCreds();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  ExpectProblem(res, 404, "credentialsnotfound");
}

TEST_F(LeafEmulatorTest, MalformedJsonFaultServesTruncatedJson) {
  Fault f;
  f.kind = Fault::Kind::kMalformedJson;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(res->body.empty());
  rapidjson::Document d;
  d.Parse(res->body.c_str());
  EXPECT_TRUE(d.HasParseError());
}

TEST_F(LeafEmulatorTest, EmptyBodyFaultServesEmptyBody) {
  Fault f;
  f.kind = Fault::Kind::kEmptyBody;
  f.status = 500;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_TRUE(res->body.empty());
}

TEST_F(LeafEmulatorTest, HtmlFaultServesGatewayPage) {
  Fault f;
  f.kind = Fault::Kind::kHtml;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 502);
  EXPECT_TRUE(absl::StartsWith(res->get_header_value("Content-Type"),
                               "text/html"));
  EXPECT_TRUE(absl::StrContains(res->body, "<html>"));
}

TEST_F(LeafEmulatorTest, CloseConnectionFaultGivesClientError) {
  Fault f;
  f.kind = Fault::Kind::kCloseConnection;
  emu_->InjectFault(f);
  auto res = GetCreds();
  EXPECT_FALSE(res);
  std::vector<RecordedRequest> reqs = emu_->Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].status, 0);
  ExpectProblem(GetCreds(), 404);  // the server still works
}

TEST_F(LeafEmulatorTest, ResetMidBodyFaultGivesClientError) {
  ASSERT_EQ(CreateCreds()->status, 201);
  Fault f;
  f.kind = Fault::Kind::kResetMidBody;
  f.method = "GET";
  emu_->InjectFault(f);
  // Read the raw bytes: headers and part of the body arrive, then EOF.
  std::string received;
  auto res = NewClient()->Get(
      kCredsPath, Auth(), [&](const char* data, size_t n) {
        received.append(data, n);
        return true;
      });
  EXPECT_FALSE(res);
  EXPECT_FALSE(received.empty());
  EXPECT_TRUE(absl::StartsWith(received, "{\"id\":")) << received;
  EXPECT_EQ(emu_->Requests().back().status, 0);
}

TEST_F(LeafEmulatorTest, HugeBodyFaultServesExactlyHugeBytesOfJson) {
  Fault f;
  f.kind = Fault::Kind::kHugeBody;
  f.huge_bytes = 3 << 20;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.size(), static_cast<size_t>(3 << 20));
  rapidjson::Document d;
  d.Parse(res->body.c_str());
  EXPECT_FALSE(d.HasParseError());
}

TEST_F(LeafEmulatorTest, SlowDripFaultSendsOneBytePerInterval) {
  Fault f;
  f.kind = Fault::Kind::kSlowDrip;
  f.body = "{\"a\":1}";  // 7 bytes
  f.drip_interval = absl::Milliseconds(40);
  emu_->InjectFault(f);
  absl::Time start = absl::Now();
  auto res = GetCreds();
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"a\":1}");
  EXPECT_GE(took, absl::Milliseconds(7 * 40));
}

TEST_F(LeafEmulatorTest, FaultTimesCountsDownAndMinusOneLastsUntilCleared) {
  Fault twice;
  twice.kind = Fault::Kind::kStatus;
  twice.status = 503;
  twice.times = 2;
  emu_->InjectFault(twice);
  EXPECT_EQ(GetCreds()->status, 503);
  EXPECT_EQ(GetCreds()->status, 503);
  EXPECT_EQ(GetCreds()->status, 404);

  Fault forever = twice;
  forever.times = -1;
  emu_->InjectFault(forever);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(GetCreds()->status, 503);
  emu_->ClearFaults();
  EXPECT_EQ(GetCreds()->status, 404);
}

TEST_F(LeafEmulatorTest, FaultProbabilityHitsAboutThatShareOfRequests) {
  Fault sometimes;
  sometimes.kind = Fault::Kind::kStatus;
  sometimes.status = 503;
  sometimes.times = -1;
  sometimes.probability = 0.25;
  emu_->InjectFault(sometimes);
  int hit = 0;
  for (int i = 0; i < 400; ++i) {
    if (GetCreds()->status == 503) ++hit;
  }
  // 400 draws at p=0.25: mean 100, sd ~8.7; these bounds are > 5 sd away.
  EXPECT_GT(hit, 50);
  EXPECT_LT(hit, 150);
}

TEST_F(LeafEmulatorTest, FaultMatchesMethodAndPathAndFirstMatchWins) {
  Fault post_only;
  post_only.kind = Fault::Kind::kStatus;
  post_only.status = 500;
  post_only.method = "POST";
  post_only.path_contains = "ag-leader-credentials";
  Fault any;
  any.kind = Fault::Kind::kStatus;
  any.status = 502;
  emu_->InjectFault(post_only);
  emu_->InjectFault(any);
  EXPECT_EQ(CreateCreds()->status, 500);  // first match
  EXPECT_EQ(GetCreds()->status, 502);     // only `any` matches GET
  EXPECT_EQ(GetCreds()->status, 404);     // both used up

  Fault login_only;
  login_only.kind = Fault::Kind::kStatus;
  login_only.status = 503;
  login_only.path_contains = "/api/authenticate";
  emu_->InjectFault(login_only);
  EXPECT_EQ(GetCreds()->status, 404);
  EXPECT_EQ(
      Login(R"({"username":"grower@example.com","password":"s3cret"})")->status,
      503);
}

TEST_F(LeafEmulatorTest, StopDoesNotWaitForSlowFaults) {
  Fault f;
  f.kind = Fault::Kind::kLatencyOnly;
  f.latency = absl::Seconds(30);
  f.times = -1;
  emu_->InjectFault(f);
  std::thread caller([this] { GetCreds(); });
  absl::SleepFor(absl::Milliseconds(100));
  // An idle keep-alive connection must not hold Stop() either.
  httplib::Client keep_alive("127.0.0.1", emu_->port());
  keep_alive.set_keep_alive(true);
  ASSERT_TRUE(keep_alive.Get("/_emulator/health"));
  absl::Time start = absl::Now();
  emu_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  caller.join();
}

TEST_F(LeafEmulatorTest, ServesManySlowRequestsConcurrently) {
  Fault f;
  f.kind = Fault::Kind::kLatencyOnly;
  f.latency = absl::Milliseconds(400);
  f.times = -1;
  emu_->InjectFault(f);
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  absl::Time start = absl::Now();
  for (int i = 0; i < 24; ++i) {
    threads.emplace_back([this, &answered] {
      auto res = GetCreds();
      if (res && res->status == 404) ++answered;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered.load(), 24);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1200));
}

TEST_F(LeafEmulatorTest, KeepAliveConnectionServesManyRequests) {
  httplib::Client c("127.0.0.1", emu_->port());
  c.set_keep_alive(true);
  for (int i = 0; i < 5; ++i) {
    auto res = c.Get(kCredsPath, Auth());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
  }
}

// --- Recording ---------------------------------------------------------------------

TEST_F(LeafEmulatorTest, RecordsRequestsWithStatusAndLowercaseHeaders) {
  ASSERT_EQ(CreateCreds()->status, 201);
  NewClient()->Get(std::string(kEventsPath) + "?page=0&size=20", Auth());
  NewClient()->Get("/_emulator/health");  // control calls are not recorded
  std::vector<RecordedRequest> reqs = emu_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, kCredsPath);
  EXPECT_EQ(reqs[0].status, 201);
  EXPECT_EQ(reqs[0].body, kCreateBody);
  EXPECT_EQ(reqs[0].headers.at("authorization"),
            absl::StrCat("Bearer ", kStaticToken));
  EXPECT_EQ(reqs[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(reqs[1].path, kEventsPath);
  EXPECT_EQ(reqs[1].query, "page=0&size=20");
  EXPECT_EQ(reqs[1].status, 200);
  EXPECT_EQ(emu_->CountRequests("GET", "/events"), 1);
  EXPECT_EQ(emu_->CountRequests("", "ag-leader-credentials"), 2);
  EXPECT_EQ(emu_->CountRequests("DELETE", ""), 0);
  emu_->ClearRequests();
  EXPECT_TRUE(emu_->Requests().empty());
}

TEST_F(LeafEmulatorTest, RecordingKeepsOnlyTheNewestRequests) {
  EmulatorOptions o = DefaultOptions();
  o.max_recorded_requests = 3;
  StartWith(o);
  for (int i = 0; i < 5; ++i) {
    NewClient()->Get(absl::StrCat(kCredsPath, "?i=", i), Auth());
  }
  std::vector<RecordedRequest> reqs = emu_->Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].query, "i=2");
  EXPECT_EQ(reqs[2].query, "i=4");
}

TEST_F(LeafEmulatorTest, ResetForgetsEverything) {
  ASSERT_EQ(CreateCreds()->status, 201);
  Fault f;
  f.times = -1;
  f.path_contains = "/nothing-matches";
  emu_->InjectFault(f);
  emu_->Reset();
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
  EXPECT_TRUE(emu_->Requests().empty());
  ExpectProblem(GetCreds(), 404);
}

// --- Test controls -----------------------------------------------------------------

TEST_F(LeafEmulatorTest, SetCredentialStatusChangesGetAndAddsEvent) {
  EXPECT_FALSE(emu_->SetCredentialStatus(kLeafUser, "UNAUTHENTICATED"));
  ASSERT_EQ(CreateCreds()->status, 201);
  ASSERT_TRUE(emu_->SetCredentialStatus(kLeafUser, "UNAUTHENTICATED"));
  EXPECT_STREQ(Parse(GetCreds()->body)["status"].GetString(), "UNAUTHENTICATED");
  rapidjson::Document events = Parse(GetEvents()->body);
  ASSERT_EQ(events.Size(), 2u);
  EXPECT_EQ(events[0]["statusCode"].GetInt(), 401);
  ASSERT_TRUE(emu_->SetCredentialStatus(kLeafUser, "SOMETHING_NEW"));
  EXPECT_STREQ(Parse(GetCreds()->body)["status"].GetString(), "SOMETHING_NEW");
}

TEST_F(LeafEmulatorTest, PutCredentialsIsServedByGet) {
  StoredCredentials c;
  c.refresh_token = "r";
  c.public_key = "p";
  c.private_key = "k";
  c.created_time = "2023-04-21T12:16:27.997586Z";
  emu_->PutCredentials(kLeafUser, c);
  rapidjson::Document d = Parse(GetCreds()->body);
  EXPECT_STREQ(d["createdTime"].GetString(), "2023-04-21T12:16:27.997586Z");
  EXPECT_STREQ(d["status"].GetString(), "OK");
  EXPECT_FALSE(std::string(d["id"].GetString()).empty());
  EXPECT_TRUE(emu_->GetEvents(kLeafUser).empty());
}

TEST_F(LeafEmulatorTest, HttpControlHealthAndReset) {
  auto c = NewClient();
  auto health = c->Get("/_emulator/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_STREQ(Parse(health->body)["status"].GetString(), "ok");
  ASSERT_EQ(CreateCreds()->status, 201);
  EXPECT_EQ(c->Post("/_emulator/reset", "", "application/json")->status, 200);
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
}

TEST_F(LeafEmulatorTest, HttpControlDuplicateMode) {
  auto c = NewClient();
  EXPECT_EQ(c->Post("/_emulator/duplicate-mode", R"({"mode":"conflict"})",
                    "application/json")
                ->status,
            200);
  ASSERT_EQ(CreateCreds()->status, 201);
  EXPECT_EQ(CreateCreds()->status, 409);
  EXPECT_EQ(c->Post("/_emulator/duplicate-mode", R"({"mode":"bad_request"})",
                    "application/json")
                ->status,
            200);
  EXPECT_EQ(CreateCreds()->status, 400);
  EXPECT_EQ(c->Post("/_emulator/duplicate-mode", R"({"mode":"nope"})",
                    "application/json")
                ->status,
            400);
}

TEST_F(LeafEmulatorTest, HttpControlFaultsAndRequests) {
  auto c = NewClient();
  auto added = c->Post(
      "/_emulator/faults",
      R"({"kind":"status","status":503,"times":-1,"method":"GET","path_contains":"ag-leader","headers":{"Retry-After":"2"}})",
      "application/json");
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 200);
  auto res = GetCreds();
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "2");
  EXPECT_EQ(GetCreds()->status, 503);
  EXPECT_EQ(c->Delete("/_emulator/faults")->status, 200);
  EXPECT_EQ(GetCreds()->status, 404);

  EXPECT_EQ(c->Post("/_emulator/faults", R"({"kind":"bogus"})",
                    "application/json")
                ->status,
            400);
  // Every kind name parses.
  for (const char* kind :
       {"status", "latency_only", "malformed_json", "empty_body", "html",
        "close_connection", "reset_mid_body", "huge_body", "slow_drip"}) {
    EXPECT_EQ(c->Post("/_emulator/faults",
                      absl::StrCat(R"({"kind":")", kind,
                                   R"(","path_contains":"/never"})"),
                      "application/json")
                  ->status,
              200)
        << kind;
  }
  EXPECT_EQ(c->Delete("/_emulator/faults")->status, 200);
  c->Post("/_emulator/faults",
          R"({"kind":"slow_drip","body":"{}","drip_interval_ms":30})",
          "application/json");
  absl::Time start = absl::Now();
  EXPECT_EQ(GetCreds()->body, "{}");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(60));

  auto reqs = c->Get("/_emulator/requests");
  ASSERT_TRUE(reqs);
  rapidjson::Document d = Parse(reqs->body);
  ASSERT_TRUE(d.IsArray());
  ASSERT_EQ(d.Size(), 4u);
  EXPECT_STREQ(d[0]["method"].GetString(), "GET");
  EXPECT_STREQ(d[0]["path"].GetString(), kCredsPath);
  EXPECT_EQ(d[0]["status"].GetInt(), 503);
  EXPECT_TRUE(d[0]["headers"].HasMember("authorization"));
  auto count = c->Get("/_emulator/requests/count?method=GET&path_contains=ag-leader");
  EXPECT_EQ(Parse(count->body)["count"].GetInt(), 4);
  EXPECT_EQ(c->Delete("/_emulator/requests")->status, 200);
  EXPECT_TRUE(emu_->Requests().empty());
}

TEST_F(LeafEmulatorTest, HttpControlUserStatusCredentialsAndEvents) {
  auto c = NewClient();
  std::string base = absl::StrCat("/_emulator/users/", kLeafUser);
  EXPECT_EQ(c->Post(base + "/status", R"({"status":"UNAUTHENTICATED"})",
                    "application/json")
                ->status,
            404);
  EXPECT_EQ(c->Get(base + "/credentials")->status, 404);
  ASSERT_EQ(CreateCreds()->status, 201);

  EXPECT_EQ(c->Post(base + "/status", R"({"status":"MISSING_PERMISSION"})",
                    "application/json")
                ->status,
            200);
  EXPECT_STREQ(Parse(GetCreds()->body)["status"].GetString(),
               "MISSING_PERMISSION");

  auto stored = c->Get(base + "/credentials");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, 200);
  EXPECT_STREQ(Parse(stored->body)["privateKey"].GetString(), "priv-789");

  EXPECT_EQ(
      c->Post(base + "/events",
              R"({"statusCode":503,"headers":"Retry-After: 5","body":"down"})",
              "application/json")
          ->status,
      200);
  rapidjson::Document events = Parse(GetEvents()->body);
  ASSERT_EQ(events.Size(), 3u);
  EXPECT_EQ(events[0]["statusCode"].GetInt(), 503);
  EXPECT_STREQ(events[0]["body"].GetString(), "down");
  EXPECT_EQ(events[1]["statusCode"].GetInt(), 403);
}

TEST_F(LeafEmulatorTest, HttpControlUnknownEndpointIs404) {
  ExpectProblem(NewClient()->Get("/_emulator/nope"), 404);
}

// --- The leaf_emulator binary --------------------------------------------------

extern "C" char** environ;

// Runs emulator/leaf_emulator (a data dependency) with its stdout on a pipe.
class EmulatorProcess {
 public:
  EmulatorProcess(const std::vector<std::string>& args,
                  const std::vector<std::string>& extra_env) {
    std::string binary = "emulator/leaf_emulator";
    if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
      const char* ws = std::getenv("TEST_WORKSPACE");
      binary = absl::StrCat(srcdir, "/", ws ? ws : "leaf_agleader_credentials",
                            "/emulator/leaf_emulator");
    }
    std::vector<std::string> argv_s = {binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "LEAF_EMULATOR_")) env_s.push_back(*e);
    }
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }

  ~EmulatorProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Everything the process writes to stdout until `deadline` or EOF, or up
  // to the first newline when `one_line`.
  std::string ReadStdout(absl::Duration timeout, bool one_line) {
    std::string out;
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (poll(&p, 1, std::max(ms, 1)) <= 0) continue;
      char c[4096];
      ssize_t n = read(out_, c, one_line ? 1 : sizeof(c));
      if (n <= 0) break;
      out.append(c, n);
      if (one_line && out.back() == '\n') break;
    }
    return out;
  }

  // The exit code, or -1 if the process did not exit in time.
  int WaitExit(absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return -1;
  }

  void Signal(int sig) { kill(pid_, sig); }

  // Port from "leaf_emulator listening on http://HOST:PORT", or -1.
  int ReadListeningPort() {
    std::string line = ReadStdout(absl::Seconds(10), /*one_line=*/true);
    std::smatch m;
    if (!std::regex_match(
            line, m,
            std::regex(R"(leaf_emulator listening on http://127\.0\.0\.1:(\d+)\n)"))) {
      ADD_FAILURE() << "unexpected first line: " << line;
      return -1;
    }
    return std::stoi(m[1]);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
};

TEST(LeafEmulatorBinaryTest, ServesOnPickedPortAndExitsZeroOnSigterm) {
  EmulatorProcess proc({"--port=0", "--account", "a@example.com:pw:with:colons",
                        "--token=tok-1", "--token", "tok-2"},
                       {});
  int port = proc.ReadListeningPort();
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  auto login = c.Post("/api/authenticate",
                      R"({"username":"a@example.com","password":"pw:with:colons"})",
                      "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  for (const char* token : {"tok-1", "tok-2"}) {
    auto res = c.Get(kCredsPath, {{"Authorization", absl::StrCat("Bearer ", token)}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << token;
  }
  EXPECT_EQ(c.Get("/_emulator/health")->status, 200);
  proc.Signal(SIGTERM);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, EnvironmentTwinsConfigureIt) {
  EmulatorProcess proc(
      {}, {"LEAF_EMULATOR_PORT=0", "LEAF_EMULATOR_ACCOUNTS=x@y.z:p1,u@v.w:p2",
           "LEAF_EMULATOR_TOKENS=t1,t2", "LEAF_EMULATOR_DUPLICATE_MODE=conflict",
           absl::StrCat("LEAF_EMULATOR_KNOWN_USERS=", kLeafUser,
                        ",11111111-2222-3333-4444-555555555555"),
           "LEAF_EMULATOR_REJECT_INVALID_REFRESH_TOKEN=true"});
  int port = proc.ReadListeningPort();
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  EXPECT_EQ(c.Post("/api/authenticate", R"({"username":"u@v.w","password":"p2"})",
                   "application/json")
                ->status,
            200);
  httplib::Headers auth = {{"Authorization", "Bearer t2"}};
  EXPECT_EQ(c.Post(kCredsPath, auth, kCreateBody, "application/json")->status, 201);
  EXPECT_EQ(c.Post(kCredsPath, auth, kCreateBody, "application/json")->status, 409);
  EXPECT_EQ(c.Post(CredsPathFor("11111111-2222-3333-4444-555555555555"), auth,
                   R"({"refreshToken":"invalid","publicKey":"p","privateKey":"k"})",
                   "application/json")
                ->status,
            400);
  EXPECT_EQ(c.Get(CredsPathFor("99999999-2222-3333-4444-555555555555"), auth)->status,
            404);
  proc.Signal(SIGINT);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, FlagWinsOverEnvironment) {
  EmulatorProcess proc({"--port", "0"}, {"LEAF_EMULATOR_PORT=1"});
  EXPECT_GT(proc.ReadListeningPort(), 1);
  proc.Signal(SIGTERM);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, HelpListsFlagsDefaultsAndEnvNames) {
  EmulatorProcess proc({"--help"}, {});
  std::string out = proc.ReadStdout(absl::Seconds(5), /*one_line=*/false);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
  for (const char* s :
       {"--host", "--port", "--account", "--token", "--known_users",
        "--duplicate_mode", "--reject_invalid_refresh_token", "127.0.0.1",
        "8080", "LEAF_EMULATOR_HOST", "LEAF_EMULATOR_PORT",
        "LEAF_EMULATOR_ACCOUNTS", "LEAF_EMULATOR_TOKENS",
        "LEAF_EMULATOR_KNOWN_USERS", "LEAF_EMULATOR_DUPLICATE_MODE",
        "LEAF_EMULATOR_REJECT_INVALID_REFRESH_TOKEN"}) {
    EXPECT_TRUE(absl::StrContains(out, s)) << s;
  }
}

TEST(LeafEmulatorBinaryTest, UnknownFlagFails) {
  EmulatorProcess proc({"--no_such_flag=1"}, {});
  int code = proc.WaitExit(absl::Seconds(5));
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1);
}

}  // namespace
}  // namespace leafemu
