// Percent-encoding keeps only RFC 3986's unreserved characters.
#include "server/connect/url_encoding.h"

#include <string>

#include "gtest/gtest.h"

namespace leafsvc::connect {
namespace {

TEST(UrlEncodingTest, UnreservedStayOthersEncoded) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("read readwrite"), "read%20readwrite");
  EXPECT_EQ(PercentEncode("a&b=c#d%e+f/g?h"), "a%26b%3Dc%23d%25e%2Bf%2Fg%3Fh");
  EXPECT_EQ(PercentEncode("https://x/cb"), "https%3A%2F%2Fx%2Fcb");
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(PercentEncode(""), "");
}

TEST(UrlEncodingTest, AppendsWithoutTouchingWhatIsThere) {
  std::string out = "k=";
  AppendPercentEncoded("a b", out);
  EXPECT_EQ(out, "k=a%20b");
}

}  // namespace
}  // namespace leafsvc::connect
