#include "server/text/html_escape.h"

#include <gtest/gtest.h>

namespace leafsvc {
namespace {

TEST(HtmlEscapeTest, EscapesMarkupQuotesAndAmpersands) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
}

TEST(HtmlEscapeTest, LeavesPlainTextAndUtf8Alone) {
  EXPECT_EQ(HtmlEscape("plain words"), "plain words");
  EXPECT_EQ(HtmlEscape("Grünland – ferme"), "Grünland – ferme");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(HtmlEscapeTest, AnEscapedTextIsEscapedAgainNotDecoded) {
  EXPECT_EQ(HtmlEscape("&lt;"), "&amp;lt;");
}

}  // namespace
}  // namespace leafsvc
