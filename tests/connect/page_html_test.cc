// The pages' HTML: escaping of every dynamic text, the style block matching
// the hash the CSP allows, no script, the landing page's form, the result
// page's words and its way back.
#include "server/connect/page_html.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace leafsvc::connect {
namespace {

std::string Between(const std::string& s, const std::string& open, const std::string& close) {
  const size_t a = s.find(open);
  if (a == std::string::npos) return "";
  const size_t b = s.find(close, a + open.size());
  if (b == std::string::npos) return "";
  return s.substr(a + open.size(), b - a - open.size());
}

TEST(PageHtmlTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("plain words"), "plain words");
}

TEST(PageHtmlTest, StyleBlockMatchesTheHashTheCspAllows) {
  const std::string page = RenderPage("t", "<p>x</p>");
  const std::string style = Between(page, "<style>", "</style>");
  ASSERT_FALSE(style.empty());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(style.data()), style.size(), digest);
  const std::string expected = absl::StrCat(
      "'sha256-",
      absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest)),
      "'");
  EXPECT_EQ(PageStyleSource(), expected);
  EXPECT_EQ(page.find("<style", page.find("</style>")), std::string::npos) << "one style block";
}

TEST(PageHtmlTest, PagesAreForPhonesAndHaveNoScript) {
  const std::string page = MessagePage("Heading", "Text");
  EXPECT_TRUE(absl::StrContains(page, "name=\"viewport\" content=\"width=device-width"));
  EXPECT_TRUE(absl::StartsWith(page, "<!doctype html>"));
  EXPECT_FALSE(absl::StrContains(absl::AsciiStrToLower(page), "<script"));
  EXPECT_FALSE(absl::StrContains(page, " on")) << "no inline event handler";
}

TEST(PageHtmlTest, LandingPageSaysWhoAsksForWhatWithAButtonInAPostForm) {
  LandingView v;
  v.display_name = "Acme <script>alert(1)</script> & Sons";
  v.scopes = "read readwrite weird\"scope";
  v.leaf_user_id = "0f1e2d3c-aaaa-bbbb-cccc-9c8b7a6f5e4d";
  v.action_path = "/connect/L1";
  v.csrf_token = "tok\"en";
  const std::string page = LandingPage(v);
  EXPECT_FALSE(absl::StrContains(page, "<script")) << page;
  EXPECT_TRUE(absl::StrContains(page, "Acme &lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons"));
  EXPECT_TRUE(absl::StrContains(page, "AgFiniti account"));
  EXPECT_TRUE(absl::StrContains(page, "machine files"));
  EXPECT_TRUE(absl::StrContains(page, "add and update files"));
  EXPECT_TRUE(absl::StrContains(page, "weird&quot;scope"));
  EXPECT_FALSE(absl::StrContains(page, v.leaf_user_id)) << "the whole user id is not shown";
  EXPECT_TRUE(absl::StrContains(page, ShortUserId(v.leaf_user_id)));
  EXPECT_TRUE(absl::StrContains(page, "<form method=\"post\" action=\"/connect/L1\">"));
  EXPECT_TRUE(absl::StrContains(page, "name=\"csrf\" value=\"tok&quot;en\""));
  EXPECT_TRUE(absl::StrContains(page, "<button id=\"connect\""));
}

TEST(PageHtmlTest, ShortUserIdHidesMostOfTheId) {
  const std::string id = "0f1e2d3c-aaaa-bbbb-cccc-9c8b7a6f5e4d";
  const std::string s = ShortUserId(id);
  EXPECT_TRUE(absl::StartsWith(s, "0f1e"));
  EXPECT_TRUE(absl::EndsWith(s, "5e4d"));
  EXPECT_LT(s.size(), 16u);
  EXPECT_EQ(ShortUserId("abc"), "***");
}

TEST(PageHtmlTest, ResultPageInPlainWordsPerState) {
  ResultView v;
  v.display_name = "Acme";
  v.state = LinkState::kConnected;
  EXPECT_TRUE(absl::StrContains(ResultPage(v), "you can close this page") ||
              absl::StrContains(ResultPage(v), "You can close this page"));
  v.state = LinkState::kDenied;
  EXPECT_TRUE(absl::StrContains(ResultPage(v), "open the link again"));
  v.state = LinkState::kFailed;
  v.error_reason = "AGFINITI_UNAVAILABLE";
  EXPECT_TRUE(absl::StrContains(ResultPage(v), "wait a few minutes"));
  v.error_reason = "AGFINITI_CLIENT_REJECTED";
  EXPECT_TRUE(absl::StrContains(ResultPage(v), "tell the person who sent you the link"));
  v.error_reason = "SOMETHING_ELSE";
  EXPECT_TRUE(absl::StrContains(ResultPage(v), "contact the person who sent you the link"));
  EXPECT_FALSE(absl::StrContains(ResultPage(v), "SOMETHING_ELSE")) << "no reason code shown";
  v.state = LinkState::kExpired;
  EXPECT_TRUE(absl::StrContains(ResultPage(v), "expired"));
}

TEST(PageHtmlTest, ResultPageLeadsBackToTheReturnUrlEscaped) {
  ResultView v;
  v.display_name = "Acme";
  v.state = LinkState::kConnected;
  const std::string none = ResultPage(v);
  EXPECT_FALSE(absl::StrContains(none, "http-equiv")) << none;
  EXPECT_FALSE(absl::StrContains(none, "Continue"));
  v.continue_url = "https://app.example/back?connect_link=L1&state=CONNECTED&x=\"><b>";
  const std::string page = ResultPage(v);
  const std::string escaped =
      "https://app.example/back?connect_link=L1&amp;state=CONNECTED&amp;x=&quot;&gt;&lt;b&gt;";
  EXPECT_TRUE(absl::StrContains(
      page, absl::StrCat("<meta http-equiv=\"refresh\" content=\"2;url=", escaped, "\">")))
      << page;
  EXPECT_TRUE(absl::StrContains(page, absl::StrCat("href=\"", escaped, "\">Continue</a>")));
  EXPECT_FALSE(absl::StrContains(page, "<b>"));
}

}  // namespace
}  // namespace leafsvc::connect
