#include "emulator/agfiniti/pages.h"

#include <string>

#include "gtest/gtest.h"

namespace leafemu {
namespace agfiniti {
namespace {

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(PagesTest, SignInPageHasTheFormIdsAndEscapes) {
  const std::string html = SignInPage("req\"1", "<b>App</b>", "bad <password>");
  EXPECT_TRUE(Has(html, "id=\"username\""));
  EXPECT_TRUE(Has(html, "id=\"password\""));
  EXPECT_TRUE(Has(html, "id=\"sign-in\""));
  EXPECT_TRUE(Has(html, "value=\"req&quot;1\""));
  EXPECT_TRUE(Has(html, "&lt;b&gt;App&lt;/b&gt;"));
  EXPECT_TRUE(Has(html, "bad &lt;password&gt;"));
  EXPECT_FALSE(Has(html, "<b>App"));
  EXPECT_FALSE(Has(html, "<script"));
  EXPECT_FALSE(Has(html, "http"));  // no external resources
}

TEST(PagesTest, ConsentPageNamesAppGrowerScopesAndHasBothButtons) {
  const std::string html = ConsentPage("c1", "Leaf <connector>", "g@x'", {"read", "readwrite"});
  EXPECT_TRUE(Has(html, "id=\"allow\""));
  EXPECT_TRUE(Has(html, "id=\"deny\""));
  EXPECT_TRUE(Has(html, "Leaf &lt;connector&gt;"));
  EXPECT_TRUE(Has(html, "g@x&#39;"));
  EXPECT_TRUE(Has(html, "data-scope=\"read\""));
  EXPECT_TRUE(Has(html, "data-scope=\"readwrite\""));
  EXPECT_TRUE(Has(html, "value=\"c1\""));
}

TEST(PagesTest, SendPageSetsProtectiveHeaders) {
  httplib::Response res;
  SendPage(res, 400, ErrorPage("Oops", "<x>"));
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(res.get_header_value("X-Frame-Options"), "DENY");
  EXPECT_TRUE(Has(res.get_header_value("Content-Security-Policy"), "frame-ancestors 'none'"));
  EXPECT_TRUE(Has(res.body, "&lt;x&gt;"));
  EXPECT_TRUE(Has(res.body, "id=\"error\""));
}

}  // namespace
}  // namespace agfiniti
}  // namespace leafemu
