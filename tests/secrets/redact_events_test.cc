#include "server/secrets/redact_events.h"

#include <string>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

TEST(SecretKeyNameTest, NormalisedCaseAndSeparators) {
  for (const char* key :
       {"access_token", "refreshToken", "ID-TOKEN", "token", "private_key", "privateKey",
        "client_secret", "password", "api_key", "apiKey", "secret", "Authorization", "Cookie",
        "Set-Cookie", "X-Api-Key", "x-auth-token", "Proxy-Authorization"}) {
    EXPECT_TRUE(IsSecretKeyName(key)) << key;
  }
  for (const char* key : {"token_type", "expires_in", "publicKey", "Content-Type", "error",
                          "grant_type", "scope", "id"}) {
    EXPECT_FALSE(IsSecretKeyName(key)) << key;
  }
}

TEST(RedactEventTextTest, JsonAtAnyDepthStaysJson) {
  EXPECT_EQ(
      RedactEventText(R"({"a":{"b":[{"Refresh_Token":"r-1","n":1.50}]},"password":12,"ok":true,)"
                      R"("client_secret":{"x":["s",2,null]},"empty":""})"),
      R"({"a":{"b":[{"Refresh_Token":"[redacted]","n":1.50}]},"password":"[redacted]",)"
      R"("ok":true,"client_secret":{"x":["[redacted]","[redacted]",null]},"empty":""})");
}

TEST(RedactEventTextTest, EmulatorTokenResponse) {
  EXPECT_EQ(RedactEventText(R"({"access_token":"9f86d081884c7d659a2feaa0c55ad015",)"
                            R"("token_type":"bearer","expires_in":3600})"),
            R"({"access_token":"[redacted]","token_type":"bearer","expires_in":3600})");
}

TEST(RedactEventTextTest, HeadersFormsAndEmbeddedText) {
  EXPECT_EQ(RedactEventText("Content-Type: text/plain\r\nAuthorization: Bearer abc def\r\n"
                            "Cookie: a=b; c=d\r\nX-Api-Key: k123"),
            "Content-Type: text/plain\r\nAuthorization: [redacted]\r\n"
            "Cookie: [redacted]\r\nX-Api-Key: [redacted]");
  EXPECT_EQ(RedactEventText("grant_type=refresh_token&refresh_token=rt-123&client_id=c"),
            "grant_type=refresh_token&refresh_token=[redacted]&client_id=c");
  // A form body or JSON text inside a JSON string.
  EXPECT_EQ(RedactEventText(R"({"request":"a=1&password=hunter2","raw":"{\"id_token\":\"x\"}"})"),
            R"({"request":"a=1&password=[redacted]","raw":"{\"id_token\":\"[redacted]\"}"})");
  EXPECT_EQ(RedactEventText("sent Bearer abc.def-123 to AgLeader"),
            "sent Bearer [redacted] to AgLeader");
}

TEST(RedactEventTextTest, JwtsAndOpaqueTokensInFreeText) {
  EXPECT_EQ(RedactEventText("got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln back"),
            "got [redacted] back");
  EXPECT_EQ(RedactEventText("key Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA== rest"), "key [redacted] rest");
  // Ids and words are left alone.
  EXPECT_EQ(RedactEventText("user 3fa85f64-5717-4562-b3fc-2c963f66afa6 not found"),
            "user 3fa85f64-5717-4562-b3fc-2c963f66afa6 not found");
}

TEST(RedactEventTextTest, TruncatedOrTooDeepJsonFallsBackToText) {
  EXPECT_EQ(RedactEventText(R"({"refresh_token": "abc", "x": )"),
            R"({"refresh_token": "[redacted]", "x": )");
  std::string deep(kMaxEventJsonDepth + 1, '[');
  deep += R"({"token":"t0ps3cret"})";
  deep += std::string(kMaxEventJsonDepth + 1, ']');
  const std::string out = RedactEventText(deep);
  EXPECT_EQ(out.find("t0ps3cret"), std::string::npos) << out;
}

// Event bodies come from outside: numbers are copied as their text, never
// converted (RapidJSON's own conversion overflows an int on this one, which
// tests/fuzz shows under UBSan), and a million '[' cost no recursion.
TEST(RedactEventTextTest, HostileNumbersAndNestingPassUnharmed) {
  const std::string body = R"({"n":337206.35803523372022331e-2147483637,"m":1e999,"k":-0.10})";
  EXPECT_EQ(RedactEventText(body), body);
  const std::string deep(1000000, '[');
  EXPECT_EQ(RedactEventText(deep), deep);
}

}  // namespace
}  // namespace leafsvc
