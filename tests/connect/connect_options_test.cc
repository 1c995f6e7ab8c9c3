// The redirect URI and link URLs are exact strings built from public_url.
#include "server/connect/connect_options.h"

#include "gtest/gtest.h"

namespace leafsvc::connect {
namespace {

TEST(ConnectOptionsTest, RedirectUriAndLinkUrl) {
  ConnectOptions o;
  o.public_url = "https://connect.example.com";
  EXPECT_EQ(o.RedirectUri(), "https://connect.example.com/agleader/callback");
  EXPECT_EQ(o.LinkUrl("abc_-1"), "https://connect.example.com/connect/abc_-1");
}

TEST(ConnectOptionsTest, DefaultsAreAgFinitisDocumentedOnes) {
  ConnectOptions o;
  EXPECT_EQ(o.authorize_url, "https://www.agfiniti.com/Account/Authorize");
  EXPECT_EQ(o.token_url, "https://www.agfiniti.com/api/token");
  EXPECT_EQ(o.scopes, "read readwrite");
  EXPECT_EQ(o.link_ttl, absl::Hours(24 * 7));
  EXPECT_EQ(o.attempt_ttl, absl::Minutes(15));
  EXPECT_FALSE(o.pkce);
}

}  // namespace
}  // namespace leafsvc::connect
