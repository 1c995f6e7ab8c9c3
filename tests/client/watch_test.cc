// agleader_client watch: parsing, the readable line, and a real stream
// against the in-process stack (printed until the server ends it).
#include "client/watch.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/commands.h"
#include "tests/client/test_util.h"
#include "tests/integration/harness.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

class WatchCommandTest : public ClientTest {};

TEST_F(WatchCommandTest, TakesSeveralUsersAndHasNoDefaultDeadline) {
  ParseResult r = Parse({"watch", "--leaf_user_id", kUser, "--leaf_user_id",
                         "0b0e8a52-1c2d-0e3f-8a9b-123456789abc", "--json"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.command, Command::kWatch);
  ASSERT_EQ(r.invocation.watch_request.leaf_user_ids_size(), 2);
  EXPECT_EQ(r.invocation.watch_request.leaf_user_ids(1), "0b0e8a52-1c2d-0e3f-8a9b-123456789abc");
  EXPECT_EQ(r.invocation.options.timeout, absl::InfiniteDuration());
  EXPECT_TRUE(r.invocation.options.json);

  r = Parse({"watch", "--leaf_user_id", kUser, "--timeout", "5s"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.timeout, absl::Seconds(5));

  r = Parse({"watch"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_NE(r.message.find("--leaf_user_id"), std::string::npos);
  // The other commands keep one user.
  r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.get_request.leaf_user_id(), kUser);
}

TEST(FormatChangeTest, OneLinePerChange) {
  v1::CredentialsChange c;
  c.set_leaf_user_id(kUser);
  c.set_kind(v1::CHANGE_KIND_STATUS_CHANGED);
  c.set_source(v1::CHANGE_SOURCE_LEAF_ALERT);
  c.mutable_observe_time()->set_seconds(1714557600);
  c.mutable_previous()->set_leaf_status("OK");
  c.mutable_previous()->set_id("cred-1");
  c.mutable_current()->set_leaf_status("UNAUTHENTICATED");
  c.mutable_current()->set_id("cred-1");
  EXPECT_EQ(FormatChange(c), absl::StrCat("2024-05-01T10:00:00.000Z ", kUser,
                                          " STATUS_CHANGED OK -> UNAUTHENTICATED id=cred-1 "
                                          "(leaf alert)\n"));
  c.set_kind(v1::CHANGE_KIND_DELETED);
  c.clear_current();
  c.set_source(v1::CHANGE_SOURCE_POLL);
  EXPECT_TRUE(absl::StrContains(FormatChange(c), "DELETED (was OK id=cred-1) (poll)"));
}

TEST_F(WatchCommandTest, PrintsChangesAsJsonLinesUntilTheServerEndsTheStream) {
  auto h = testing::Harness::Start(nullptr, [](ServerConfig& c) {
    c.watch_poll_interval = absl::Milliseconds(100);
    c.watch_poll_jitter = absl::ZeroDuration();
  });
  h->Create(kUser);
  CliResult result;
  std::thread cli([&] {
    // Not watched again: the server is gone (watch_resume_test re-watches).
    result = RunCli({"watch", "--server", h->app().target(), "--leaf_user_id", kUser, "--json",
                     "--max_rewatch_attempts", "0"});
  });
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (h->app().watch_hub().streams() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUser, "UNAUTHENTICATED"));
  absl::SleepFor(absl::Milliseconds(400));
  h->app().Shutdown(absl::Seconds(1));
  cli.join();
  EXPECT_EQ(result.exit_code, kExitRpcError);  // UNAVAILABLE: shutting down
  EXPECT_TRUE(absl::StrContains(result.err, "SHUTTING_DOWN")) << result.err;
  std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << result.out;
  EXPECT_TRUE(absl::StrContains(lines[0], "\"kind\":\"CHANGE_KIND_INITIAL\"")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], "\"kind\":\"CHANGE_KIND_STATUS_CHANGED\"")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[1], "\"leafStatus\":\"UNAUTHENTICATED\""));
}

}  // namespace
}  // namespace leafsvc::client
