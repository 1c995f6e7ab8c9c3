#include "server/config/flags.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

class FlagsTest : public ::testing::Test {
 protected:
  FlagsTest() : flags_("FLAGSTEST_") {
    flags_.Add("name", FlagSet::Type::kString, "dflt", "a name");
    flags_.Add("verbose", FlagSet::Type::kBool, "false", "be loud");
    flags_.Add("count", FlagSet::Type::kInt, "3", "how many");
    flags_.Add("wait", FlagSet::Type::kDuration, "10s", "how long");
    flags_.Add("password", FlagSet::Type::kString, "", "secret", /*secret=*/true);
  }
  ~FlagsTest() override {
    unsetenv("FLAGSTEST_NAME");
    unsetenv("FLAGSTEST_COUNT");
  }

  absl::Status Parse(std::vector<const char*> args) {
    args.insert(args.begin(), "prog");
    return flags_.Parse(static_cast<int>(args.size()), const_cast<char**>(args.data()));
  }

  FlagSet flags_;
};

TEST_F(FlagsTest, DefaultsApplyWhenNothingIsSet) {
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_EQ(flags_.GetString("name"), "dflt");
  EXPECT_FALSE(flags_.GetBool("verbose"));
  EXPECT_EQ(flags_.GetInt("count"), 3);
  EXPECT_EQ(flags_.GetDuration("wait"), absl::Seconds(10));
  EXPECT_FALSE(flags_.IsSet("name"));
}

TEST_F(FlagsTest, BothSyntaxesAndBooleans) {
  ASSERT_TRUE(Parse({"--name=a", "--count", "7", "--verbose", "--wait=250ms"}).ok());
  EXPECT_EQ(flags_.GetString("name"), "a");
  EXPECT_EQ(flags_.GetInt("count"), 7);
  EXPECT_TRUE(flags_.GetBool("verbose"));
  EXPECT_EQ(flags_.GetDuration("wait"), absl::Milliseconds(250));
}

TEST_F(FlagsTest, NoPrefixNegatesBoolean) {
  ASSERT_TRUE(Parse({"--verbose", "--noverbose"}).ok());
  EXPECT_FALSE(flags_.GetBool("verbose"));
}

TEST_F(FlagsTest, EnvironmentTwinIsReadAndCommandLineWins) {
  setenv("FLAGSTEST_NAME", "from-env", 1);
  setenv("FLAGSTEST_COUNT", "9", 1);
  ASSERT_TRUE(Parse({"--count=4"}).ok());
  EXPECT_EQ(flags_.GetString("name"), "from-env");
  EXPECT_TRUE(flags_.IsSet("name"));
  EXPECT_EQ(flags_.GetInt("count"), 4);
}

TEST_F(FlagsTest, UnknownFlagIsAnError) {
  absl::Status st = Parse({"--nope=1"});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--nope"), absl::string_view::npos);
}

TEST_F(FlagsTest, BadValuesAreErrors) {
  EXPECT_FALSE(Parse({"--count=abc"}).ok());
  EXPECT_FALSE(Parse({"--wait=soon"}).ok());
  EXPECT_FALSE(Parse({"--verbose=maybe"}).ok());
  EXPECT_FALSE(Parse({"--name"}).ok());
}

TEST_F(FlagsTest, SecretValuesAreNeverEchoed) {
  flags_.Add("pin", FlagSet::Type::kInt, "0", "a secret number", /*secret=*/true);
  absl::Status st = Parse({"--pin=hunter2"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find("hunter2"), absl::string_view::npos);
  EXPECT_NE(st.message().find("[redacted]"), absl::string_view::npos);
}

TEST_F(FlagsTest, HelpAndPositionals) {
  ASSERT_TRUE(Parse({"get", "--help", "x"}).ok());
  EXPECT_TRUE(flags_.help_requested());
  EXPECT_EQ(flags_.positional(), (std::vector<std::string>{"get", "x"}));
  std::string help = flags_.Help("usage: prog");
  EXPECT_NE(help.find("--wait"), std::string::npos);
  EXPECT_NE(help.find("FLAGSTEST_WAIT"), std::string::npos);
  EXPECT_NE(help.find("10s"), std::string::npos);
}

}  // namespace
}  // namespace leafsvc

namespace leafsvc {
namespace {

TEST(FlagListTest, RepeatsAccumulateAndReplaceTheEnvironment) {
  FlagSet flags("LISTTEST_");
  flags.Add("token", FlagSet::Type::kList, "", "tokens");
  flags.SetEnvName("token", "LISTTEST_TOKENS");
  EXPECT_EQ(flags.EnvName("token"), "LISTTEST_TOKENS");
  setenv("LISTTEST_TOKENS", "e1,e2", 1);
  {
    std::vector<const char*> args = {"prog"};
    ASSERT_TRUE(flags.Parse(1, const_cast<char**>(args.data())).ok());
    EXPECT_EQ(flags.GetList("token"), (std::vector<std::string>{"e1", "e2"}));
  }
  FlagSet again("LISTTEST_");
  again.Add("token", FlagSet::Type::kList, "", "tokens");
  again.SetEnvName("token", "LISTTEST_TOKENS");
  std::vector<const char*> args = {"prog", "--token=a,b", "--token", "c"};
  ASSERT_TRUE(again.Parse(4, const_cast<char**>(args.data())).ok());
  EXPECT_EQ(again.GetList("token"), (std::vector<std::string>{"a,b", "c"}));
  unsetenv("LISTTEST_TOKENS");
}

}  // namespace
}  // namespace leafsvc

namespace leafsvc {
namespace {

TEST(FlagsWipeTest, SecretValuesLeaveTheEnvironmentAndArgvOthersStay) {
  FlagSet flags("WIPETEST_");
  flags.Add("token", FlagSet::Type::kString, "", "secret", /*secret=*/true);
  flags.Add("key", FlagSet::Type::kString, "", "secret", /*secret=*/true);
  flags.Add("pin", FlagSet::Type::kString, "", "secret", /*secret=*/true);
  flags.Add("name", FlagSet::Type::kString, "", "not secret");
  setenv("WIPETEST_TOKEN", "env-token-value", 1);
  setenv("WIPETEST_NAME", "env-name", 1);
  // Writable, as main()'s argv is.
  std::vector<std::string> storage = {
      "prog",      "--key=argv-key-value", "--pin", "argv-pin-value", "--name", "argv-name",
      "positional"};
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  ASSERT_TRUE(flags.Parse(static_cast<int>(argv.size()), argv.data()).ok());
  flags.WipeSecretSources(static_cast<int>(argv.size()), argv.data());

  EXPECT_EQ(flags.GetString("token"), "env-token-value");  // the parsed copy stays
  EXPECT_EQ(flags.GetString("key"), "argv-key-value");
  EXPECT_EQ(flags.GetString("pin"), "argv-pin-value");
  EXPECT_STREQ(std::getenv("WIPETEST_TOKEN"), "");
  EXPECT_STREQ(std::getenv("WIPETEST_NAME"), "env-name");
  EXPECT_STREQ(argv[1], "--key=");
  EXPECT_EQ(storage[1], std::string("--key=") + std::string(14, '\0'));
  EXPECT_STREQ(argv[2], "--pin");
  EXPECT_STREQ(argv[3], "");
  EXPECT_STREQ(argv[5], "argv-name");
  EXPECT_STREQ(argv[6], "positional");
  unsetenv("WIPETEST_TOKEN");
  unsetenv("WIPETEST_NAME");
}

}  // namespace
}  // namespace leafsvc
