// EVALSHA with a reload on NOSCRIPT, on a real redis-server.
#include "server/fleet/redis_script.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::WaitUntil;
using ::leafsvc::testing::RedisServer;

absl::StatusOr<RedisReply> EvalNow(const RedisScript& script, std::vector<std::string> keys,
                                   std::vector<std::string> args) {
  auto p = std::make_shared<std::promise<absl::StatusOr<RedisReply>>>();
  auto f = p->get_future();
  script.Eval(std::move(keys), std::move(args),
              [p](absl::StatusOr<RedisReply> r) { p->set_value(std::move(r)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return absl::InternalError("no callback within 30 s");
  }
  return f.get();
}

TEST(RedisScriptTest, LoadsOnceReloadsAfterAFlushAndReportsFailures) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  std::unique_ptr<RedisClient> client = *RedisClient::Create(OptionsFor(server));
  ASSERT_TRUE(WaitUntil([&] { return client->up(); }));
  const RedisScript echo(client.get(), "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "the echo");

  absl::StatusOr<RedisReply> r = EvalNow(echo, {"k"}, {"a", "b"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->DebugString(), "[\"k\", \"a\", 1, 2]");
  ASSERT_TRUE(EvalNow(echo, {"k"}, {"a"}).ok());
  EXPECT_EQ(echo.loads(), 1);

  ASSERT_TRUE(Call(*client, {"SCRIPT", "FLUSH"}).ok());
  r = EvalNow(echo, {}, {"x"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(echo.loads(), 2);

  const RedisScript failing(client.get(), "return redis.call('INCR', KEYS[1])", "the incr");
  ASSERT_TRUE(Call(*client, {"SET", "s", "not a number"}).ok());
  r = EvalNow(failing, {"s"}, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("the incr failed"), std::string::npos) << r.status();

  const RedisScript broken(client.get(), "this is not lua", "the broken one");
  EXPECT_EQ(EvalNow(broken, {}, {}).status().code(), absl::StatusCode::kInternal);

  server.Kill();
  ASSERT_TRUE(WaitUntil([&] { return !client->up(); }));
  EXPECT_EQ(EvalNow(echo, {}, {}).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace leafsvc::fleet
