// Bounded load and soak: 64 concurrent callers make a fixed number of mixed
// calls against one server process while the emulator fails 10% of Leaf
// requests. Every call must end with a code that is right for it, nothing
// may hang, and the server's memory after the run must stay within a small
// bound of its memory before. Loopback only; stops by itself.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "tests/process/stack.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kCallers = 64;
constexpr int kWarmupRounds = 5;   // per caller, 4 calls per round
constexpr int kRounds = 25;        // per caller, 4 calls per round: 6,400 calls

long ReadStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

class Tally {
 public:
  void Add(const std::string& rpc, grpc::StatusCode code) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[rpc][code];
  }
  std::map<std::string, std::map<grpc::StatusCode, int>> counts() {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::map<grpc::StatusCode, int>> counts_;
};

std::string UserFor(int caller) {
  return absl::StrFormat("%08x-0000-4000-8000-%012x", 0x10ad0000 + caller, caller);
}

void RunCaller(v1::AgLeaderCredentials::Stub& stub, int caller, int rounds, Tally& tally) {
  const std::string user = UserFor(caller);
  auto ctx = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
    return c;
  };
  for (int i = 0; i < rounds; ++i) {
    v1::CreateCredentialsRequest create;
    create.set_leaf_user_id(user);
    create.set_refresh_token("load-refresh-token-" + std::to_string(i));
    create.set_public_key("pk");
    create.set_private_key("load-private-key");
    v1::Credentials creds;
    tally.Add("Create", stub.CreateCredentials(ctx().get(), create, &creds).error_code());

    v1::GetCredentialsRequest get;
    get.set_leaf_user_id(user);
    tally.Add("Get", stub.GetCredentials(ctx().get(), get, &creds).error_code());

    v1::ListCredentialEventsRequest list;
    list.set_leaf_user_id(user);
    v1::ListCredentialEventsResponse events;
    tally.Add("List", stub.ListCredentialEvents(ctx().get(), list, &events).error_code());

    v1::DeleteCredentialsRequest del;
    del.set_leaf_user_id(user);
    google::protobuf::Empty empty;
    tally.Add("Delete", stub.DeleteCredentials(ctx().get(), del, &empty).error_code());
  }
}

void RunAll(v1::AgLeaderCredentials::Stub& stub, int rounds, Tally& tally) {
  std::vector<std::thread> threads;
  for (int c = 0; c < kCallers; ++c) {
    threads.emplace_back([&, c] { RunCaller(stub, c, rounds, tally); });
  }
  for (auto& t : threads) t.join();
}

TEST(LoadTest, MixedCallsWithTenPercentFaultsAllEndCorrectlyWithoutLeaking) {
  // The load is far beyond Leaf's real limit on purpose: this test is about
  // the transport and the edge, not the request budget (budget_test).
  auto stack = Stack::Start({"--max_connections_per_host=64", "--leaf_requests_per_minute=0"});
  ASSERT_NE(stack, nullptr);
  ASSERT_EQ(stack->Control("POST", "/_emulator/faults",
                           R"({"kind":"status","status":503,"times":-1,"probability":0.1,)"
                           R"("path_contains":"ag-leader-credentials"})"),
            200);
  auto stub = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials()));
  const pid_t pid = stack->server().pid();

  Tally warmup;
  RunAll(*stub, kWarmupRounds, warmup);
  const long rss_before = ReadStatusKb(pid, "VmRSS");

  Tally tally;
  const absl::Time start = absl::Now();
  RunAll(*stub, kRounds, tally);
  const absl::Duration took = absl::Now() - start;
  const long rss_after = ReadStatusKb(pid, "VmRSS");
  const long threads = ReadStatusKb(pid, "Threads");

  // What each RPC may legitimately end with under 503s: a create or a get
  // that lost its credentials to a failed create, a delete retried after
  // the credentials went, and UNAVAILABLE when every attempt failed.
  const std::map<std::string, std::set<grpc::StatusCode>> allowed = {
      {"Create", {grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE}},
      {"Get", {grpc::StatusCode::OK, grpc::StatusCode::NOT_FOUND, grpc::StatusCode::UNAVAILABLE}},
      {"List", {grpc::StatusCode::OK, grpc::StatusCode::NOT_FOUND, grpc::StatusCode::UNAVAILABLE}},
      {"Delete",
       {grpc::StatusCode::OK, grpc::StatusCode::NOT_FOUND, grpc::StatusCode::UNAVAILABLE}},
  };
  int total = 0;
  std::printf("\n%-8s %-6s %s\n", "rpc", "code", "calls");
  for (const auto& [rpc, codes] : tally.counts()) {
    for (const auto& [code, n] : codes) {
      std::printf("%-8s %-6d %d\n", rpc.c_str(), static_cast<int>(code), n);
      total += n;
      EXPECT_EQ(allowed.at(rpc).count(code), 1u) << rpc << " ended with code " << code;
    }
  }
  std::printf("calls: %d in %.2f s (%.0f/s), 64 callers, 10%% upstream 503s\n", total,
              absl::ToDoubleSeconds(took), total / absl::ToDoubleSeconds(took));
  std::printf("server RSS before: %ld KiB, after: %ld KiB (growth %ld KiB); threads: %ld\n",
              rss_before, rss_after, rss_after - rss_before, threads);
  std::fflush(stdout);

  EXPECT_EQ(total, kCallers * kRounds * 4);
  // Most calls succeed: retries hide most single 503s from GET/DELETE.
  EXPECT_GT(tally.counts()["Get"][grpc::StatusCode::OK], kCallers * kRounds / 2);
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << "server memory grew";
  // Threads do not grow per call (64 callers, 6,400 calls).
  EXPECT_LT(threads, 64);
  EXPECT_EQ(kill(pid, 0), 0) << "server died";
}

}  // namespace
}  // namespace leafsvc::testing
