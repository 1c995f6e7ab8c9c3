// The emulator's JSON helpers (emulator/json.h): writing arbitrary bytes as
// JSON strings, and the lenient member readers.
#include "emulator/json.h"

#include <string>

#include "gtest/gtest.h"

namespace leafemu {
namespace {

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document doc;
  EXPECT_TRUE(ParseObject(body, doc)) << body;
  return doc;
}

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("\n\t\x01"), "\"\\n\\t\\u0001\"");
}

TEST(JsonQuoteTest, EmbeddedNulIsWrittenNotTruncated) {
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(JsonQuote(with_nul), "\"a\\u0000b\"");
  // And reads back as the same three bytes.
  rapidjson::Document doc = Parse("{\"k\":" + JsonQuote(with_nul) + "}");
  EXPECT_EQ(StringMember(doc, "k"), with_nul);
}

TEST(JsonQuoteTest, OnlyTheViewIsWrittenNotTheBytesAfterIt) {
  const std::string s = "abcSECRET";
  EXPECT_EQ(JsonQuote(absl::string_view(s).substr(0, 3)), "\"abc\"");
}

TEST(WriteKeyTest, KeysAndStringsFormAnObjectThatReadsBack) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  const std::string key = "na\"me";
  WriteKey(w, absl::string_view(key));
  WriteString(w, absl::string_view("va\\lue"));
  w.EndObject();
  rapidjson::Document doc = Parse(buf.GetString());
  EXPECT_EQ(StringMember(doc, "na\"me"), "va\\lue");
}

TEST(ParseObjectTest, OnlyAnObjectIsAccepted) {
  rapidjson::Document doc;
  EXPECT_TRUE(ParseObject("{}", doc));
  EXPECT_TRUE(ParseObject(" {\"a\":1} ", doc));
  for (const char* bad :
       {"", "[]", "1", "\"s\"", "null", "{", "{\"a\":}", "{} trailing", "{\"a\":1,}"}) {
    EXPECT_FALSE(ParseObject(bad, doc)) << bad;
  }
}

TEST(StringMemberTest, OnlyAStringCounts) {
  rapidjson::Document doc =
      Parse(R"({"s":"x","e":"","n":1,"z":null,"b":true,"o":{},"a":[],"u":"\u00e9"})");
  EXPECT_EQ(StringMember(doc, "s"), "x");
  EXPECT_EQ(StringMember(doc, "e"), "");
  EXPECT_EQ(StringMember(doc, "u"), "\xc3\xa9");
  for (const char* name : {"n", "z", "b", "o", "a", "missing"}) {
    EXPECT_EQ(StringMember(doc, name), std::nullopt) << name;
  }
}

TEST(IntMemberTest, NumbersTruncatedAndDecimalStrings) {
  rapidjson::Document doc =
      Parse(R"({"i":42,"neg":-7,"big":9223372036854775807,"f":3.9,"nf":-3.9,"s":"15","sn":"-2"})");
  EXPECT_EQ(IntMember(doc, "i"), 42);
  EXPECT_EQ(IntMember(doc, "neg"), -7);
  EXPECT_EQ(IntMember(doc, "big"), INT64_MAX);
  EXPECT_EQ(IntMember(doc, "f"), 3);
  EXPECT_EQ(IntMember(doc, "nf"), -3);
  EXPECT_EQ(IntMember(doc, "s"), 15);
  EXPECT_EQ(IntMember(doc, "sn"), -2);
}

TEST(IntMemberTest, AnythingElseIsAbsent) {
  rapidjson::Document doc =
      Parse(R"({"x":"abc","half":"12abc","fl":"1.5","empty":"","b":true,"z":null,"o":{},)"
            R"("over":"99999999999999999999"})");
  for (const char* name : {"x", "half", "fl", "empty", "b", "z", "o", "over", "missing"}) {
    EXPECT_EQ(IntMember(doc, name), std::nullopt) << name;
  }
}

TEST(BoolMemberTest, BooleansAndTheirStringsInAnyCase) {
  rapidjson::Document doc =
      Parse(R"({"t":true,"f":false,"st":"TRUE","sf":"False","mixed":"tRuE"})");
  EXPECT_EQ(BoolMember(doc, "t"), true);
  EXPECT_EQ(BoolMember(doc, "f"), false);
  EXPECT_EQ(BoolMember(doc, "st"), true);
  EXPECT_EQ(BoolMember(doc, "sf"), false);
  EXPECT_EQ(BoolMember(doc, "mixed"), true);
}

TEST(BoolMemberTest, NumbersAndOtherStringsAreAbsent) {
  rapidjson::Document doc =
      Parse(R"({"one":1,"zero":0,"s1":"1","yes":"yes","sp":" true","z":null,"e":""})");
  for (const char* name : {"one", "zero", "s1", "yes", "sp", "z", "e", "missing"}) {
    EXPECT_EQ(BoolMember(doc, name), std::nullopt) << name;
  }
}

}  // namespace
}  // namespace leafemu
