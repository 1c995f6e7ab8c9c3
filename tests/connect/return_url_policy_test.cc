// The return URL policy refuses everything that could make a link an open
// redirect, and appends the result parameters properly.
#include "server/connect/return_url_policy.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/errors/status_details.h"

namespace leafsvc::connect {
namespace {

ReturnUrlPolicy Policy() {
  return ReturnUrlPolicy({"https://a.example/app", "https://b.example/", "https://c.example:8443",
                          "http://localhost:3000/cb", "http://[::1]:9/x"});
}

TEST(ReturnUrlPolicyTest, AllowsUrlsUnderAPrefixAtABoundary) {
  const ReturnUrlPolicy p = Policy();
  for (const char* ok :
       {"https://a.example/app", "https://a.example/app/", "https://a.example/app/x/y",
        "https://a.example/app?x=1", "https://A.EXAMPLE/app/done", "https://a.example:443/app",
        "https://b.example/", "https://b.example/z", "https://b.example",
        "https://c.example:8443/anything", "http://localhost:3000/cb?x", "http://[::1]:9/x/y"}) {
    EXPECT_TRUE(p.Check(ok).ok()) << ok << ": " << p.Check(ok);
  }
}

TEST(ReturnUrlPolicyTest, RefusesLookAlikesAndTricks) {
  const ReturnUrlPolicy p = Policy();
  for (const char* bad : {
           "https://a.example/application",   // not at a boundary
           "https://a.example.evil.com/app",  // host suffix
           "https://a.example/ap",            // shorter
           "https://evil.com/https://a.example/app",
           "https://a.example@evil.com/app",  // userinfo
           "https://user:pw@a.example/app",
           "https://a.example/app#frag",    // fragment
           "https://a.example/app\\..\\x",  // backslash
           "https://a.example\\@evil.com/app",
           "https://a.example/app/../admin",      // dot segment
           "https://a.example/app/%2e%2e/admin",  // encoded dot segment
           "https://a.example/app%2Fx",
           "https://a.example/app/\t",        // control character
           "https://a.example/app/ x",        // space
           "https://a.example/app/\xc3\xa9",  // non-ASCII
           "http://a.example/app",            // http, not loopback
           "https://a.example:444/app",       // another port
           "https://c.example/anything",      // 443 is not 8443
           "http://localhost:3001/cb",
           "https://localhost:3000/cb",  // scheme differs from the prefix
           "javascript:alert(1)",
           "//a.example/app",  // scheme-relative
           "/app",
           "ftp://a.example/app",
           "https:///app",
           "https://a.example:/app",
           "https://a.example:99999/app",
           "https://a.example./app",
           "https://[::1/x",
           "",
       }) {
    absl::Status s = p.Check(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (s.ok()) continue;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    const StatusDetails d = GetStatusDetails(s);
    EXPECT_EQ(d.reason, "CONNECT_RETURN_URL_NOT_ALLOWED") << bad;
    ASSERT_EQ(d.field_violations.size(), 1u);
    EXPECT_EQ(d.field_violations[0].field, "return_url");
  }
}

TEST(ReturnUrlPolicyTest, TheErrorNeverQuotesTheUrl) {
  const std::string url = "https://evil.example/<script>marker";
  absl::Status s = Policy().Check(url);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()).find("marker"), std::string::npos);
  EXPECT_EQ(GetStatusDetails(s).field_violations[0].description.find("marker"), std::string::npos);
}

TEST(ReturnUrlPolicyTest, RefusesOverlongUrls) {
  EXPECT_FALSE(Policy().Check("https://b.example/" + std::string(3000, 'a')).ok());
}

TEST(ReturnUrlPolicyTest, NoPrefixesAllowNothing) {
  EXPECT_FALSE(ReturnUrlPolicy({}).Check("https://a.example/app").ok());
  // A malformed prefix allows nothing rather than everything.
  EXPECT_FALSE(ReturnUrlPolicy({"https://"}).Check("https://a.example/").ok());
  EXPECT_FALSE(ReturnUrlPolicy({"https:// a.example"}).Check("https://a.example/").ok());
}

TEST(ReturnUrlPolicyTest, CheckPrefixesReportsBadOnes) {
  EXPECT_TRUE(
      ReturnUrlPolicy::CheckPrefixes({"https://a.example/app", "http://127.0.0.1:8/"}).ok());
  EXPECT_FALSE(ReturnUrlPolicy::CheckPrefixes({"http://a.example/"}).ok());
  EXPECT_FALSE(ReturnUrlPolicy::CheckPrefixes({"https://a.example/?x=1"}).ok());
  EXPECT_FALSE(ReturnUrlPolicy::CheckPrefixes({"a.example"}).ok());
}

TEST(ReturnUrlPolicyTest, AppendResultAddsEncodedParameters) {
  EXPECT_EQ(ReturnUrlPolicy::AppendResult("https://a.example/app", "id1", "CONNECTED"),
            "https://a.example/app?connect_link=id1&state=CONNECTED");
  EXPECT_EQ(ReturnUrlPolicy::AppendResult("https://a.example/app?x=1", "id1", "DENIED"),
            "https://a.example/app?x=1&connect_link=id1&state=DENIED");
  EXPECT_EQ(ReturnUrlPolicy::AppendResult("https://a.example/app?", "a b&c", "X=Y"),
            "https://a.example/app?connect_link=a%20b%26c&state=X%3DY");
  // The URL's own connect_link/state parameters do not survive: the
  // application reads ours.
  EXPECT_EQ(ReturnUrlPolicy::AppendResult(
                "https://a.example/app?state=CONNECTED&y=2&connect_link=forged&&", "id1", "FAILED"),
            "https://a.example/app?y=2&connect_link=id1&state=FAILED");
  // Parameters whose names merely start the same stay.
  EXPECT_EQ(ReturnUrlPolicy::AppendResult("https://a.example/app?states=1", "i", "s"),
            "https://a.example/app?states=1&connect_link=i&state=s");
}

}  // namespace
}  // namespace leafsvc::connect
