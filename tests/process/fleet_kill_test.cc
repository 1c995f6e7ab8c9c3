// A replica SIGKILLed in a fleet of two real server processes (one real
// Redis, the emulator binary): nothing of its own is released (its poll
// leases stay in Redis), yet
// - an alert sent to the surviving replica about a user the dead one was
//   polling is read and reported within the heartbeat's TTL (6 s), not
//   the dead lease's (two 30 s poll intervals and more);
// - a stream of the dead replica resumes on the survivor with its token
//   and gets exactly the change it missed.
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/alerts/signature.h"
#include "tests/integration/watch_stream.h"
#include "tests/process/stack.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kSecret[] = "webhook-secret-for-fleet-kill-test-0123456789";
constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

std::vector<std::string> FleetFlags(const RedisServer& redis, int alert_port) {
  return {absl::StrCat("--redis_url=redis://127.0.0.1:", redis.port(), "/0"), "--fleet_size_hint=2",
          "--watch_poll_interval=30s", "--alerts_min_prompt_interval=0s",
          absl::StrCat("--alerts_listen=127.0.0.1:", alert_port)};
}

TEST(FleetKillTest, ASIGKILLedReplicasUsersAreTakenOverAndItsStreamsResume) {
  if (!RedisServer::Available()) GTEST_SKIP() << "no redis-server on this machine";
  RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  const int port_a = FreePort();
  const int port_b = FreePort();
  const std::map<std::string, std::string> secret = {{"AGLEADER_ALERTS_SECRET", kSecret}};
  std::unique_ptr<Stack> a = Stack::Start(FleetFlags(redis, port_a), {}, secret);
  ASSERT_NE(a, nullptr);
  // Replica B: the same emulator and Redis.
  const std::string tmp = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  std::vector<std::string> argv = {RunfilePath("server/agleader_credentials_server"),
                                   "--listen=127.0.0.1:0", "--leaf_api_url=" + a->leaf_url()};
  for (const std::string& f : FleetFlags(redis, port_b)) argv.push_back(f);
  std::map<std::string, std::string> env = secret;
  env.emplace("AGLEADER_LEAF_TOKEN", kStackToken);
  std::optional<Subprocess> b = Subprocess::Start(argv, env, tmp + "/server_b.log");
  ASSERT_TRUE(b.has_value());
  std::optional<std::string> line =
      b->WaitForLine("agleader_credentials_server listening on ", absl::Seconds(20));
  ASSERT_TRUE(line.has_value());
  const std::string target_b = line->substr(line->find("listening on ") + 13);

  auto stub_a = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel(a->target(), grpc::InsecureChannelCredentials()));
  auto stub_b = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel(target_b, grpc::InsecureChannelCredentials()));
  v1::CreateCredentialsRequest create;
  create.set_leaf_user_id(kUser);
  create.set_refresh_token("refresh-token-AAAA1111");
  create.set_private_key("private-key-BBBB2222");
  create.set_public_key("public-key-CCCC3333");
  v1::Credentials created;
  grpc::ClientContext cc;
  cc.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status st = stub_a->CreateCredentials(&cc, create, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  // A watches first: it reads the user first and holds its lease.
  std::string token;
  auto on_a = std::make_unique<WatchStream>(*stub_a, std::vector<std::string>{kUser});
  std::optional<v1::CredentialsChange> first = on_a->Next(absl::Seconds(15));
  ASSERT_TRUE(first.has_value());
  token = first->resume_token();
  WatchStream on_b(*stub_b, {kUser});
  ASSERT_TRUE(on_b.Next(absl::Seconds(15)).has_value());

  a->server().Signal(SIGKILL);
  ASSERT_TRUE(a->server().Wait(absl::Seconds(10)).has_value());
  on_a.reset();

  // The grower revokes; Leaf's alert reaches B only.
  ASSERT_EQ(a->Control("POST", absl::StrCat("/_emulator/users/", kUser, "/status"),
                       R"({"status":"UNAUTHENTICATED"})"),
            200);
  const std::string body =
      absl::StrCat(R"({"credentialId":")", created.id(),
                   R"(","status":"UNAUTHENTICATED","type":"credentialsUnauthenticated"})");
  const absl::Time sent = absl::Now();
  bool heard = false;
  // The alert may come before the dead lease lapses: Leaf's alerts are
  // doorbells, and the test rings until the survivor reads (as Leaf's
  // retries and the next poll would).
  while (!heard && absl::Now() - sent < absl::Seconds(25)) {
    httplib::Client c("127.0.0.1", port_b);
    auto r = c.Post("/leaf/alerts", {{"X-Leaf-Signature", alerts::SignBody(kSecret, body)}}, body,
                    "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    std::optional<v1::CredentialsChange> c2 = on_b.Next(absl::Seconds(2));
    heard = c2.has_value() && c2->kind() == v1::CHANGE_KIND_STATUS_CHANGED;
  }
  const absl::Duration took = absl::Now() - sent;
  std::printf("the survivor reported the change %.1f s after the first alert\n",
              absl::ToDoubleSeconds(took));
  ASSERT_TRUE(heard) << "the dead replica's lease kept the user unread";
  EXPECT_LT(took, absl::Seconds(12));

  // A's stream resumes on B: exactly the missed change.
  WatchStream resumed(*stub_b, {kUser}, token);
  std::optional<v1::CredentialsChange> missed = resumed.Next(absl::Seconds(10));
  ASSERT_TRUE(missed.has_value());
  EXPECT_EQ(missed->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(missed->current().leaf_status(), "UNAUTHENTICATED");
  EXPECT_FALSE(resumed.Next(absl::Seconds(2)).has_value());
}

}  // namespace
}  // namespace leafsvc::testing
