#include "server/leaf/leaf_json.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/test_credentials.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::FieldOf;

absl::StatusOr<ProviderCredentials> DecodeAgLeader(absl::string_view json) {
  return DecodeCredentials(json, providers::AgLeaderSpec());
}

constexpr char kCredentials[] = R"({
  "id": "9f3b7c1e-0000-4000-8000-000000000001",
  "status": "OK",
  "createdTime": "2023-04-21T12:16:27.997586Z",
  "accessToken": "acc-token-value",
  "refreshToken": "refresh-token-value",
  "publicKey": "public-key-value",
  "privateKey": "private-key-value",
  "someFutureField": {"nested": [1, 2, 3]}
})";

TEST(LeafJsonTest, DecodesCredentialsAndIgnoresUnknownFields) {
  auto c = DecodeAgLeader(kCredentials);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "9f3b7c1e-0000-4000-8000-000000000001");
  EXPECT_EQ(c->status, "OK");
  ASSERT_TRUE(c->created_time.has_value());
  EXPECT_EQ(absl::ToUnixMicros(*c->created_time) % 1000000, 997586);
  EXPECT_EQ(FieldOf(*c, "publicKey"), "public-key-value");
  EXPECT_EQ(FieldOf(*c, "refreshToken"), "refresh-token-value");
  EXPECT_EQ(FieldOf(*c, "privateKey"), "private-key-value");
  EXPECT_EQ(FieldOf(*c, "accessToken"), "acc-token-value");
  // Every field of the spec, in its order, marked as the spec says; nothing
  // else (someFutureField) is kept.
  ASSERT_EQ(c->fields.size(), 4u);
  const struct {
    const char* name;
    bool secret;
  } want[] = {
      {"refreshToken", true}, {"publicKey", false}, {"privateKey", true}, {"accessToken", true}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(c->fields[i].name, want[i].name);
    EXPECT_EQ(c->fields[i].secret, want[i].secret) << want[i].name;
  }
}

TEST(LeafJsonTest, KeepsUnknownStatusRaw) {
  auto c = DecodeAgLeader(R"({"id":"x","status":"SOMETHING_NEW"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status, "SOMETHING_NEW");
  EXPECT_FALSE(c->created_time.has_value());
}

TEST(LeafJsonTest, NullAndMissingOptionalFieldsAreEmpty) {
  auto c = DecodeAgLeader(R"({"id":"x","status":"OK","accessToken":null})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(FieldOf(*c, "accessToken"), "");
  EXPECT_EQ(FieldOf(*c, "privateKey"), "");
  // Absent and null fields are present, empty: readers need not check.
  EXPECT_EQ(c->fields.size(), 4u);
}

TEST(LeafJsonTest, CredentialsErrorsSayWhatIsWrongWithoutQuotingTheBody) {
  struct Case {
    const char* body;
    const char* expect;
  } cases[] = {
      {"", "empty body"},
      {"{\"id\": \"x\", \"refreshToken\": \"leaky-secret", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"status":"OK"})", "\"id\" is missing"},
      {R"({"id":"x","refreshToken":42})", "\"refreshToken\" is not a string"},
      {R"({"id":"x","createdTime":"yesterday"})", "createdTime"},
      {R"({"id":"x"} trailing)", "not valid JSON"},
  };
  for (const Case& c : cases) {
    auto r = DecodeAgLeader(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_NE(r.status().message().find(c.expect), absl::string_view::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("leaky-secret"), absl::string_view::npos);
  }
}

TEST(LeafJsonTest, DecodesEvents) {
  auto events = DecodeEvents(R"([
    {"id":"e1","createdDate":"2023-04-21T12:16:27.997Z","statusCode":401,
     "headers":"WWW-Authenticate: Bearer","body":"{\"error\":\"invalid_grant\"}","x":1},
    {"id":"e2","createdDate":"2023-04-21T12:16:28","statusCode":200,"headers":"","body":""}
  ])");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].id, "e1");
  EXPECT_EQ((*events)[0].status_code, 401);
  EXPECT_EQ((*events)[0].headers, "WWW-Authenticate: Bearer");
  EXPECT_EQ((*events)[0].body, "{\"error\":\"invalid_grant\"}");
  EXPECT_TRUE((*events)[1].created_date.has_value());
}

TEST(LeafJsonTest, EventsToleratePagedWrapperAndNumericIds) {
  auto events = DecodeEvents(R"({"content":[{"id":17,"statusCode":200}]})");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].id, "17");
}

TEST(LeafJsonTest, AMalformedEventIsSkippedNotFatal) {
  // Wrong type, year 0000, year 10000, an id that would forge a name.
  auto r = DecodeEvents(
      R"([{"id":"a"},{"id":"b","statusCode":"four"},{"id":"c","createdDate":"0000-01-01T00:00:00Z"},)"
      R"({"id":"d","createdDate":"9999-12-31T23:59:59Z"},{"id":"../x"},{"id":""}])");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, "a");
  EXPECT_EQ((*r)[1].id, "d");
  EXPECT_FALSE(DecodeEvents(R"({"id":"a"})").ok());
  EXPECT_FALSE(DecodeEvents("[").ok());
}

// Leaf's numbers go through checked conversions (server/json/untrusted_json.h):
// the exponent RapidJSON 1.1 overflows an int on (UB, shown under UBSan by
// tests/fuzz) is an ordinary number here, and JSON types still count.
TEST(LeafJsonTest, HostileNumbers) {
  auto c = DecodeAgLeader(
      R"({"id":"x","futureField":337206.35803523372022331e-2147483637,"n":-9223372036854775809})");
  ASSERT_TRUE(c.ok()) << c.status();
  auto e = DecodeEvents(
      R"([{"id":"a","statusCode":"401"},{"id":"b","statusCode":4294967296},)"
      R"({"id":"c","statusCode":401.0},{"id":"d","statusCode":-2147483648},{"id":1e2}])");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].id, "d");
  EXPECT_EQ((*e)[0].status_code, -2147483648);
  EXPECT_EQ((*e)[1].id, "100");
  auto huge = DecodeEvents(R"([{"id":"a","statusCode":1e400}])");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().message(),
            "Leaf's events response: not valid JSON (Number too big to be stored in double. at "
            "offset 24)");
}

TEST(LeafJsonTest, DecodesProblem) {
  auto p = DecodeProblem(R"({
    "type":"https://www.jhipster.tech/problem/problem-with-message","title":"Bad Request",
    "status":400,"detail":"Invalid body","path":"/api/users","message":"error.http.400",
    "errorKey":"credentialsalreadyexist",
    "fieldErrors":[{"objectName":"agLeaderCredentials","field":"refreshToken","message":"NotNull"}]})");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->title, "Bad Request");
  EXPECT_EQ(p->error_key, "credentialsalreadyexist");
  ASSERT_EQ(p->field_errors.size(), 1u);
  EXPECT_EQ(p->field_errors[0].field, "refreshToken");
  EXPECT_EQ(p->Summary(), "Invalid body; refreshToken: NotNull");
}

TEST(LeafJsonTest, ProblemIsBestEffort) {
  EXPECT_FALSE(DecodeProblem("<html>502 Bad Gateway</html>").has_value());
  EXPECT_FALSE(DecodeProblem("").has_value());
  auto p = DecodeProblem(R"({"title": 5, "message": "free text"})");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->Summary(), "free text");
}

TEST(LeafJsonTest, EncodesCreateBody) {
  NewProviderCredentials c = ::leafsvc::testing::AgLeaderCreate("r\"1", "pub", "priv");
  const providers::ProviderSpec& spec = providers::AgLeaderSpec();
  rapidjson::Document doc;
  doc.Parse(EncodeCreateCredentials(c, spec).c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["refreshToken"].GetString(), "r\"1");
  EXPECT_STREQ(doc["publicKey"].GetString(), "pub");
  EXPECT_STREQ(doc["privateKey"].GetString(), "priv");
  EXPECT_FALSE(doc.HasMember("accessToken"));

  c = ::leafsvc::testing::AgLeaderCreate("r\"1", "pub", "priv", "acc");
  doc.Parse(EncodeCreateCredentials(c, spec).c_str());
  EXPECT_STREQ(doc["accessToken"].GetString(), "acc");
  // Byte for byte what the hand-written encoder sent, in Leaf's order.
  EXPECT_EQ(EncodeCreateCredentials(c, spec),
            R"({"refreshToken":"r\"1","publicKey":"pub","privateKey":"priv","accessToken":"acc"})");
}

TEST(LeafJsonTest, EncodeSendsRequiredFieldsEvenWhenEmptyAndOnlyTheSpecsFields) {
  NewProviderCredentials c;
  c.fields.push_back(::leafsvc::testing::TestField("notAField", "stray-secret", true));
  c.fields.push_back(::leafsvc::testing::TestField("accessToken", "", true));
  // Required fields missing from the input are sent empty, for Leaf to
  // refuse with its own field errors; the optional one is left out.
  EXPECT_EQ(EncodeCreateCredentials(c, providers::AgLeaderSpec()),
            R"({"refreshToken":"","publicKey":"","privateKey":""})");
}

// Another provider's spec: its names are read and written, AgLeader's are
// not (they are unknown fields to it).
TEST(LeafJsonTest, DecodesAndEncodesByTheSpecGiven) {
  providers::ProviderSpec spec;
  spec.fields = {{"clientSecret", "refresh_token", true, true},
                 {"clientId", "public_key", false, false}};
  auto c = DecodeCredentials(
      R"({"id":"t1","status":"GREEN","clientSecret":"cs","clientId":"ci","refreshToken":"rt"})",
      spec);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->fields.size(), 2u);
  EXPECT_EQ(FieldOf(*c, "clientSecret"), "cs");
  EXPECT_TRUE(c->fields[0].secret);
  EXPECT_EQ(FieldOf(*c, "clientId"), "ci");
  EXPECT_FALSE(c->fields[1].secret);
  EXPECT_EQ(FindField(c->fields, "refreshToken"), nullptr);
  EXPECT_EQ(c->provider, &spec);

  NewProviderCredentials n;
  n.fields = {::leafsvc::testing::TestField("clientSecret", "s3", true)};
  EXPECT_EQ(EncodeCreateCredentials(n, spec), R"({"clientSecret":"s3"})");
}

TEST(LeafJsonTest, AWrongTypedFieldIsNamedNotQuoted) {
  auto c = DecodeAgLeader(R"({"id":"x","refreshToken":["SECRET-MARKER"]})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("\"refreshToken\" is not a string"), absl::string_view::npos)
      << c.status();
  EXPECT_EQ(c.status().message().find("SECRET-MARKER"), absl::string_view::npos);
}

TEST(LeafJsonTest, LoginRoundTrip) {
  rapidjson::Document doc;
  doc.Parse(EncodeLogin("me@example.com", Secret("pw"), true).c_str());
  EXPECT_STREQ(doc["username"].GetString(), "me@example.com");
  EXPECT_STREQ(doc["password"].GetString(), "pw");
  EXPECT_STREQ(doc["rememberMe"].GetString(), "true");

  auto token = DecodeLoginResponse(R"({"id_token":"a.b.c"})");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->Reveal(), "a.b.c");
  EXPECT_FALSE(DecodeLoginResponse(R"({"token":"a.b.c"})").ok());
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

TEST(LeafJsonEncodingTest, InvalidUtf8IsRefusedNotPassedOn) {
  EXPECT_FALSE(DecodeAgLeader("{\"id\":\"x\",\"status\":\"O\xFFK\"}").ok());
  EXPECT_FALSE(DecodeEvents("[{\"id\":\"e\",\"body\":\"\\ud800\"}]").ok());  // lone surrogate
  auto ok = DecodeAgLeader("{\"id\":\"x\",\"publicKey\":\"cl\xC3\xA9\"}");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(FieldOf(*ok, "publicKey"), "cl\xC3\xA9");
}

TEST(LeafJsonEncodingTest, TimestampsOutsideYears1To9999AreBadResponses) {
  EXPECT_FALSE(DecodeAgLeader(R"({"id":"x","createdTime":"0000-12-31T00:00:00Z"})").ok());
  EXPECT_TRUE(DecodeAgLeader(R"({"id":"x","createdTime":"0001-01-01T00:00:00Z"})").ok());
}

TEST(LeafJsonEncodingTest, TimestampErrorsDoNotQuoteTheValue) {
  auto r = DecodeAgLeader(R"({"id":"x","createdTime":"SECRET-MARKER-not-a-time"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("SECRET-MARKER"), absl::string_view::npos);
  EXPECT_NE(r.status().message().find("createdTime"), absl::string_view::npos);
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

TEST(LeafJsonEncodingTest, EscapedLoneLowSurrogateBecomesAReplacementCharacter) {
  auto events = DecodeEvents(R"([{"id":"e","body":"a\udc00b"}])");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ((*events)[0].body,
            "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

// Peak RSS (KiB) of a child process that decodes `body` as events.
long PeakRssOfDecoding(const std::string& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    (void)DecodeEvents(body);
    _exit(0);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  return usage.ru_maxrss;
}

TEST(LeafJsonNestingTest, AHostile4MiBBodyCostsBoundedMemory) {
  const std::string deep = std::string(2 << 20, '[') + std::string(2 << 20, ']');
  const long baseline = PeakRssOfDecoding("[]");
  const long hostile = PeakRssOfDecoding(deep);
  std::cerr << "peak RSS: baseline " << baseline << " KiB, 4 MiB nested body " << hostile
            << " KiB\n";
  // Without the cap the tree of 2 M nested arrays peaked near 100 MB.
  EXPECT_LT(hostile - baseline, 16 * 1024);
}

TEST(LeafJsonNestingTest, DeeplyNestedBodiesAreRefusedWithoutExhaustingTheStack) {
  // 1 MiB of '[' would overflow the stack of a recursive parser.
  const std::string deep(1 << 20, '[');
  EXPECT_FALSE(DecodeAgLeader(deep).ok());
  EXPECT_FALSE(DecodeEvents(deep).ok());
  EXPECT_FALSE(DecodeProblem(deep).has_value());
  const std::string balanced = std::string(200000, '[') + std::string(200000, ']');
  auto events = DecodeEvents(balanced);
  ASSERT_FALSE(events.ok());
  EXPECT_NE(events.status().message().find("nested deeper than 64"), std::string::npos);
  const std::string ok_depth =
      std::string(kMaxLeafJsonDepth, '[') + std::string(kMaxLeafJsonDepth, ']');
  EXPECT_TRUE(DecodeEvents(ok_depth).ok());  // nested arrays are skipped as elements
}

}  // namespace
}  // namespace leafsvc::leaf
