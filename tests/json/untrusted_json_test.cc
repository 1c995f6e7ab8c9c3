#include "server/json/untrusted_json.h"

#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafsvc::json {
namespace {

// The number fuzzing found in Leaf's login answer: RapidJSON 1.1's own
// arithmetic overflows an int on it (`exp + expFrac`, reader.h:1360), which
// only a UBSan build reports; tests/fuzz replays it under UBSan.
constexpr char kExponentOverflow[] = "337206.35803523372022331e-2147483637";

absl::Status Parse(absl::string_view text, rapidjson::Document& doc) {
  return ParseUntrusted(text, doc);
}

TEST(UntrustedJsonTest, TheExponentOverflowIsANumberNearZero) {
  rapidjson::Document doc;
  ASSERT_TRUE(Parse(kExponentOverflow, doc).ok());
  ASSERT_TRUE(doc.IsDouble());
  EXPECT_EQ(doc.GetDouble(), 0.0);
  ASSERT_TRUE(Parse(std::string(R"({"exp":)") + kExponentOverflow + "}", doc).ok());
  EXPECT_EQ(NumberAsDouble(doc["exp"]), 0.0);
  EXPECT_EQ(NumberAsInt64(doc["exp"]), std::nullopt);
  // The same shape with a large negative exponent and many fraction digits.
  ASSERT_TRUE(Parse("-1." + std::string(5000, '7') + "e-2147483639", doc).ok());
  EXPECT_EQ(doc.GetDouble(), 0.0);
}

TEST(UntrustedJsonTest, AMillionOpenBracketsAreRefusedByDepth) {
  rapidjson::Document doc;
  absl::Status st = Parse(std::string(1000000, '['), doc);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "nested deeper than 64 levels");
  EXPECT_TRUE(doc.IsNull());
  st = Parse(std::string(1000000, '[') + std::string(1000000, ']'), doc);
  EXPECT_EQ(st.message(), "nested deeper than 64 levels");
  st = Parse(std::string(500000, '{'), doc);
  EXPECT_FALSE(st.ok());
}

TEST(UntrustedJsonTest, DepthCapIsExact) {
  rapidjson::Document doc;
  EXPECT_TRUE(Parse(std::string(64, '[') + std::string(64, ']'), doc).ok());
  EXPECT_EQ(Parse(std::string(65, '[') + std::string(65, ']'), doc).message(),
            "nested deeper than 64 levels");
  // Objects and arrays count alike; closing one frees its level.
  std::string mixed;
  for (int i = 0; i < 32; ++i) mixed += R"({"a":[)";
  mixed += "1";
  for (int i = 0; i < 32; ++i) mixed += "]}";
  EXPECT_TRUE(Parse(mixed, doc).ok());
  EXPECT_FALSE(Parse("[" + mixed + "," + mixed + "]", doc).ok());  // 65 deep
  EXPECT_TRUE(ParseUntrusted("[[1]]", doc, 2).ok());
  EXPECT_EQ(ParseUntrusted("[[[1]]]", doc, 2).message(), "nested deeper than 2 levels");
  EXPECT_FALSE(ParseUntrusted("[]", doc, 0).ok());
  EXPECT_TRUE(ParseUntrusted("\"s\"", doc, 0).ok());
}

TEST(UntrustedJsonTest, NumbersKeepTheirJsonType) {
  rapidjson::Document doc;
  ASSERT_TRUE(Parse(R"({"n":12,"s":"12","neg":-5,"zero":-0,"f":1.5,"e":1e2,"t":true})", doc).ok());
  EXPECT_TRUE(doc["n"].IsInt());
  EXPECT_TRUE(doc["s"].IsString());
  EXPECT_STREQ(doc["s"].GetString(), "12");
  EXPECT_EQ(NumberAsInt64(doc["n"]), 12);
  EXPECT_EQ(NumberAsInt64(doc["s"]), std::nullopt) << "a string is not a number";
  EXPECT_EQ(NumberAsDouble(doc["s"]), std::nullopt);
  EXPECT_EQ(NumberAsInt64(doc["neg"]), -5);
  EXPECT_TRUE(doc["neg"].IsInt());
  EXPECT_EQ(NumberAsInt64(doc["zero"]), 0);
  EXPECT_EQ(NumberAsInt64(doc["f"]), std::nullopt) << "not an integer";
  EXPECT_EQ(NumberAsDouble(doc["f"]), 1.5);
  EXPECT_EQ(NumberAsInt64(doc["e"]), std::nullopt) << "written with an exponent";
  EXPECT_EQ(NumberAsDouble(doc["e"]), 100.0);
  EXPECT_EQ(NumberAsInt64(doc["t"]), std::nullopt);
  EXPECT_EQ(NumberAsDouble(doc["n"]), 12.0);
  const rapidjson::Value null;
  EXPECT_EQ(NumberAsInt64(null), std::nullopt);
  EXPECT_EQ(NumberAsDouble(null), std::nullopt);
}

TEST(UntrustedJsonTest, IntegersAtTheEdgesOfTheirTypes) {
  rapidjson::Document doc;
  ASSERT_TRUE(Parse("[9223372036854775807,-9223372036854775808,9223372036854775808,"
                    "18446744073709551615,18446744073709551616,-9223372036854775809,"
                    "4294967295,-2147483648]",
                    doc)
                  .ok());
  EXPECT_EQ(NumberAsInt64(doc[0]), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(NumberAsInt64(doc[1]), std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(doc[2].IsUint64());
  EXPECT_EQ(NumberAsInt64(doc[2]), std::nullopt) << "out of range";
  EXPECT_EQ(doc[3].GetUint64(), std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(doc[4].IsDouble()) << "beyond uint64, a double as RapidJSON makes it";
  EXPECT_EQ(NumberAsDouble(doc[4]), 18446744073709551616.0);
  EXPECT_TRUE(doc[5].IsDouble());
  EXPECT_TRUE(doc[6].IsUint() && !doc[6].IsInt());
  EXPECT_TRUE(doc[7].IsInt());
}

TEST(UntrustedJsonTest, NumbersBeyondADoubleAreRefusedWithoutTheText) {
  rapidjson::Document doc;
  for (const char* text : {"[1e400]", "[1.7976931348623159e308]", "[-1e309]",
                           "[1234567890123456789012345678901234567890e300]"}) {
    absl::Status st = Parse(text, doc);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(st.message().find("e30"), absl::string_view::npos) << st.message();
    EXPECT_TRUE(doc.IsNull());
  }
  EXPECT_TRUE(Parse("[1.7976931348623157e308, 4.9e-324, 1e-400]", doc).ok());
  EXPECT_EQ(doc[2].GetDouble(), 0.0);
}

TEST(UntrustedJsonTest, RefusesWhatIsNotExactlyOneJsonValue) {
  rapidjson::Document doc;
  EXPECT_EQ(Parse("", doc).message(), "empty body, expected JSON");
  EXPECT_EQ(Parse(absl::string_view("{}\0{\"x\":1}", 10), doc).message(),
            "not valid JSON (a NUL byte)");
  EXPECT_FALSE(Parse("{} {}", doc).ok());
  EXPECT_FALSE(Parse("{\"a\":1,}", doc).ok());
  EXPECT_FALSE(Parse("NaN", doc).ok());
  EXPECT_FALSE(Parse("[01]", doc).ok());
  EXPECT_FALSE(Parse("\"\xff\"", doc).ok()) << "not UTF-8";
  EXPECT_FALSE(Parse("\"\xc3\"", doc).ok()) << "cut UTF-8";
  EXPECT_TRUE(Parse("\"caf\xc3\xa9\"", doc).ok());
  EXPECT_TRUE(Parse("\xef\xbb\xbf{}", doc).ok()) << "a byte order mark, as Document::Parse";
  EXPECT_TRUE(Parse(" \n{\"a\" : [ 1 , null , false ] }\t", doc).ok());
}

TEST(UntrustedJsonTest, ErrorsNeverQuoteTheText) {
  rapidjson::Document doc;
  for (const char* text : {R"({"token":"SECRET-MARKER")", R"({"SECRET-MARKER":1,})",
                           R"(SECRET-MARKER)", R"(["SECRET-MARKER", 1e999])"}) {
    absl::Status st = Parse(text, doc);
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_EQ(st.message().find("SECRET"), absl::string_view::npos) << st.message();
    EXPECT_NE(st.message().find("offset"), absl::string_view::npos) << st.message();
  }
}

TEST(UntrustedJsonTest, ADocumentIsReplacedByTheNextParse) {
  rapidjson::Document doc;
  ASSERT_TRUE(Parse(R"({"a":"b"})", doc).ok());
  ASSERT_TRUE(Parse("[1,2]", doc).ok());
  ASSERT_TRUE(doc.IsArray());
  EXPECT_EQ(doc.Size(), 2u);
  EXPECT_FALSE(Parse("[1,", doc).ok());
  EXPECT_TRUE(doc.IsNull());
  // Strings and keys are copied: the text may go away after the parse.
  {
    std::string text = R"({"key":"value"})";
    ASSERT_TRUE(Parse(text, doc).ok());
    text.assign(text.size(), 'x');
  }
  EXPECT_STREQ(doc["key"].GetString(), "value");
}

}  // namespace
}  // namespace leafsvc::json
