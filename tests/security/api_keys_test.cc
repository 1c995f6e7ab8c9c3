#include "server/security/api_keys.h"

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

constexpr char kKeyA[] = "key-aaaaaaaaaaaaaaaa-0001";
constexpr char kKeyB[] = "key-bbbbbbbbbbbbbbbb-0002";

std::vector<std::string> Reveal(const std::vector<Secret>& keys) {
  std::vector<std::string> out;
  for (const Secret& k : keys) out.push_back(k.Reveal());
  return out;
}

TEST(ParseApiKeysFileTest, ReadsOneKeyPerLineSkippingBlankLinesAndComments) {
  auto keys = ParseApiKeysFile(
      "# production callers\n\n  key-aaaaaaaaaaaaaaaa-0001  \r\n   # old: rotated\n"
      "key-bbbbbbbbbbbbbbbb-0002\n\n",
      "--api_keys_file f");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(Reveal(*keys), (std::vector<std::string>{kKeyA, kKeyB}));
}

TEST(ParseApiKeysFileTest, FileWithoutKeysIsAnError) {
  auto keys = ParseApiKeysFile("# nothing yet\n\n   \n", "--api_keys_file /etc/k");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(keys.status().message().find("--api_keys_file /etc/k"), std::string::npos);
  EXPECT_NE(keys.status().message().find("holds no key"), std::string::npos);
}

TEST(ParseApiKeysFileTest, EmptyFileIsAnError) { EXPECT_FALSE(ParseApiKeysFile("", "f").ok()); }

TEST(ParseApiKeysFileTest, ShortKeyIsRefusedNamingTheLineButNotTheKey) {
  auto keys = ParseApiKeysFile(std::string(kKeyA) + "\n# c\nshort-secret-7\n", "--api_keys_file f");
  ASSERT_FALSE(keys.ok());
  const std::string message(keys.status().message());
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
  EXPECT_NE(message.find("shorter than 16"), std::string::npos) << message;
  EXPECT_EQ(message.find("short-secret-7"), std::string::npos) << message;
  EXPECT_EQ(message.find(kKeyA), std::string::npos) << message;
}

TEST(ParseApiKeysFileTest, KeyWithInnerSpaceIsRefusedWithoutEchoingIt) {
  auto keys = ParseApiKeysFile("two-halves-of-a secret-key-value\n", "f");
  ASSERT_FALSE(keys.ok());
  const std::string message(keys.status().message());
  EXPECT_NE(message.find("line 1"), std::string::npos) << message;
  EXPECT_EQ(message.find("two-halves"), std::string::npos) << message;
  EXPECT_EQ(message.find("secret-key-value"), std::string::npos) << message;
}

TEST(ParseApiKeysFileTest, NonAsciiKeyIsRefused) {
  EXPECT_FALSE(ParseApiKeysFile("key-\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9-aaaaaaaaaa\n", "f").ok());
}

TEST(ParseApiKeyListTest, SplitsOnCommasAndTrims) {
  auto keys = ParseApiKeyList(std::string(" ") + kKeyA + " ,," + kKeyB + ",", "--api_keys");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(Reveal(*keys), (std::vector<std::string>{kKeyA, kKeyB}));
}

TEST(ParseApiKeyListTest, ListWithoutKeysIsAnError) {
  EXPECT_FALSE(ParseApiKeyList(" , ,", "--api_keys").ok());
}

TEST(ParseApiKeyListTest, BadKeyIsNamedByPositionNeverByValue) {
  auto keys = ParseApiKeyList(std::string(kKeyA) + ",tiny-key-99", "--api_keys");
  ASSERT_FALSE(keys.ok());
  const std::string message(keys.status().message());
  EXPECT_NE(message.find("--api_keys: key number 2"), std::string::npos) << message;
  EXPECT_EQ(message.find("tiny-key-99"), std::string::npos) << message;
  EXPECT_EQ(message.find(kKeyA), std::string::npos) << message;
}

TEST(BearerKeyTest, ExtractsTheKeyWithAnySchemeCase) {
  EXPECT_EQ(BearerKey("Bearer abc"), std::optional<absl::string_view>("abc"));
  EXPECT_EQ(BearerKey("bearer   abc  "), std::optional<absl::string_view>("abc"));
  EXPECT_EQ(BearerKey("BEARER abc"), std::optional<absl::string_view>("abc"));
}

TEST(BearerKeyTest, RejectsOtherForms) {
  EXPECT_FALSE(BearerKey("abc").has_value());
  EXPECT_FALSE(BearerKey("Bearer").has_value());
  EXPECT_FALSE(BearerKey("Bearer    ").has_value());
  EXPECT_FALSE(BearerKey("Bearerabc").has_value());
  EXPECT_FALSE(BearerKey("Basic YWxhZGRpbjpvcGVuc2VzYW1l").has_value());
}

TEST(ConstantTimeEqualsTest, EqualStringsAreEqual) {
  EXPECT_TRUE(ConstantTimeEquals(kKeyA, kKeyA));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(ConstantTimeEqualsTest, SameLengthStringsDifferingInOneByteDiffer) {
  std::string other = kKeyA;
  other.back() = '2';
  EXPECT_FALSE(ConstantTimeEquals(kKeyA, other));
  other = kKeyA;
  other.front() = 'K';
  EXPECT_FALSE(ConstantTimeEquals(kKeyA, other));
}

TEST(ConstantTimeEqualsTest, PrefixesAndLongerStringsDiffer) {
  const std::string key = kKeyA;
  EXPECT_FALSE(ConstantTimeEquals(key, key.substr(0, key.size() - 1)));
  EXPECT_FALSE(ConstantTimeEquals(key, key + "x"));
  EXPECT_FALSE(ConstantTimeEquals(key, ""));
}

TEST(ConstantTimeEqualsTest, EmbeddedNulBytesCount) {
  EXPECT_FALSE(ConstantTimeEquals(absl::string_view("a\0b", 3), absl::string_view("a\0c", 3)));
  EXPECT_FALSE(ConstantTimeEquals(absl::string_view("a\0", 2), "a"));
}

TEST(ApiKeySetTest, ContainsEveryKeyAndNothingElse) {
  ApiKeySet set({Secret(kKeyA), Secret(kKeyB)});
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.Contains(kKeyA));
  EXPECT_TRUE(set.Contains(kKeyB));
  EXPECT_FALSE(set.Contains("key-cccccccccccccccc-0003"));
  EXPECT_FALSE(set.Contains(std::string(kKeyA) + " "));
  EXPECT_FALSE(set.Contains(""));
}

TEST(ApiKeySetTest, EmptySetAcceptsNothing) {
  ApiKeySet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.Contains(""));
  EXPECT_FALSE(set.Contains(kKeyA));
}

}  // namespace
}  // namespace leafsvc
