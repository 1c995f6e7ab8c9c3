#include "emulator/agfiniti/form.h"

#include <string>

#include "gtest/gtest.h"

namespace leafemu {
namespace agfiniti {
namespace {

TEST(FormDecodeTest, DecodesPlusAndPercent) {
  EXPECT_EQ(FormDecode("a+b%20c%2Bd").value(), "a b c+d");
  EXPECT_EQ(FormDecode("").value(), "");
}

TEST(FormDecodeTest, RefusesBrokenEscapesAndNul) {
  EXPECT_FALSE(FormDecode("%"));
  EXPECT_FALSE(FormDecode("%4"));
  EXPECT_FALSE(FormDecode("%zz"));
  EXPECT_FALSE(FormDecode("a%00b"));
}

TEST(FormEncodeTest, RoundTripsEveryByteButNul) {
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string enc = FormEncode(all);
  EXPECT_EQ(enc.find_first_of("&=+ #?"), std::string::npos);
  EXPECT_EQ(FormDecode(enc).value(), all);
}

TEST(ParseFormTest, ParsesFields) {
  auto f = ParseForm("grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fx%2Fcb&&e");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->at("grant_type"), "authorization_code");
  EXPECT_EQ(f->at("redirect_uri"), "https://x/cb");
  EXPECT_EQ(f->at("e"), "");
  EXPECT_EQ(f->size(), 4u);
}

TEST(ParseFormTest, RefusesRepeatsEmptyNamesBadEscapesAndTooManyFields) {
  EXPECT_FALSE(ParseForm("code=a&code=b"));
  EXPECT_FALSE(ParseForm("=x"));
  EXPECT_FALSE(ParseForm("code=%G0"));
  std::string many;
  for (int i = 0; i < 65; ++i) many += "f" + std::to_string(i) + "=1&";
  EXPECT_FALSE(ParseForm(many));
  EXPECT_TRUE(ParseForm(many, 100));
}

TEST(ParseBasicAuthTest, DecodesAndFormDecodesBothParts) {
  // base64("pub key%3A:s3cr%2Bt"), computed outside this code.
  auto b = ParseBasicAuth("Basic cHViIGtleSUzQTpzM2NyJTJCdA==");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first, "pub key:");
  EXPECT_EQ(b->second, "s3cr+t");
  auto lower = ParseBasicAuth("basic cHViIGtleSUzQTpzM2NyJTJCdA==");
  EXPECT_TRUE(lower);
}

TEST(ParseBasicAuthTest, RefusesMalformed) {
  EXPECT_FALSE(ParseBasicAuth("Bearer abc"));
  EXPECT_FALSE(ParseBasicAuth("Basic "));
  EXPECT_FALSE(ParseBasicAuth("Basic !!!!"));
  EXPECT_FALSE(ParseBasicAuth("Basic YWJj"));  // "abc": no colon
  EXPECT_FALSE(ParseBasicAuth("Basic " + std::string(10000, 'A')));
}

TEST(AppendQueryTest, KeepsExistingQueryAndEncodes) {
  EXPECT_EQ(AppendQuery("https://x/cb", {{"code", "a b"}, {"state", "s&t=1"}}),
            "https://x/cb?code=a%20b&state=s%26t%3D1");
  EXPECT_EQ(AppendQuery("https://x/cb?k=v", {{"code", "c"}}), "https://x/cb?k=v&code=c");
}

TEST(HtmlEscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
}

}  // namespace
}  // namespace agfiniti
}  // namespace leafemu
