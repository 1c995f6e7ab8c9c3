// agleader_client audit within Leaf's request budget, against a fake server
// (in-process gRPC) that defers users or refuses calls as the real one does
// (LEAF_RATE_LIMITED with RetryInfo): deferred users are asked again after
// the delay and end up as rows; the waits are bounded; the progress shows
// the budget. The audit's sleep and clock are injected: nothing really waits.
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/audit.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

std::string Id(int i) { return absl::StrFormat("00000000-0000-4000-8000-%012d", i); }

v1::BatchGetCredentialsResult Read(const std::string& id) {
  v1::BatchGetCredentialsResult r;
  r.set_leaf_user_id(id);
  r.mutable_credentials()->set_leaf_user_id(id);
  r.mutable_credentials()->set_status(v1::CREDENTIAL_STATUS_OK);
  r.mutable_credentials()->set_leaf_status("OK");
  return r;
}

// What the server answers for a user the budget could not serve in time;
// no RetryInfo when `retry_seconds` is negative.
v1::BatchGetCredentialsResult Deferred(const std::string& id, int retry_seconds) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  status.set_message("Leaf's request budget has no token for this user before the deadline");
  google::rpc::ErrorInfo info;
  info.set_reason("LEAF_RATE_LIMITED");
  info.set_domain("leaf.agleader.v1");
  status.add_details()->PackFrom(info);
  if (retry_seconds >= 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(retry_seconds);
    status.add_details()->PackFrom(retry);
  }
  v1::BatchGetCredentialsResult r;
  r.set_leaf_user_id(id);
  r.mutable_error()->ParseFromString(status.SerializeAsString());
  return r;
}

class FakeServer final : public v1::AgLeaderCredentials::Service {
 public:
  using BatchFn = std::function<grpc::Status(int call, const v1::BatchGetCredentialsRequest&,
                                             v1::BatchGetCredentialsResponse*)>;
  using ListFn = std::function<grpc::Status(int call, const v1::ListCredentialsRequest&,
                                            v1::ListCredentialsResponse*)>;
  BatchFn batch;
  ListFn list;
  std::string budget = "160";  // x-leaf-budget-bulk-per-minute; empty: not sent

  grpc::Status BatchGetCredentials(grpc::ServerContext* context,
                                   const v1::BatchGetCredentialsRequest* request,
                                   v1::BatchGetCredentialsResponse* response) override {
    if (!budget.empty()) context->AddInitialMetadata("x-leaf-budget-bulk-per-minute", budget);
    absl::MutexLock lock(&mu_);
    calls_.emplace_back(request->leaf_user_ids().begin(), request->leaf_user_ids().end());
    return batch(static_cast<int>(calls_.size()) - 1, *request, response);
  }
  grpc::Status ListCredentials(grpc::ServerContext* context,
                               const v1::ListCredentialsRequest* request,
                               v1::ListCredentialsResponse* response) override {
    if (!budget.empty()) context->AddInitialMetadata("x-leaf-budget-bulk-per-minute", budget);
    absl::MutexLock lock(&mu_);
    calls_.push_back({request->page_token()});
    return list(static_cast<int>(calls_.size()) - 1, *request, response);
  }
  // The ids of each BatchGetCredentials call (page token of each List call).
  std::vector<std::vector<std::string>> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> calls_;
};

struct AuditRun {
  int exit_code = -1;
  std::string out, err;
  std::vector<absl::Duration> sleeps;
  std::vector<std::string> rows;  // JSON lines of out
};

class AuditBudgetTest : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::AgLeaderCredentials::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    server_->Shutdown();
    ClientTest::TearDown();
  }

  // audit --json of users 0..n-1 (or every user when n is 0) with `flags`;
  // the sleep records its delay and moves the fake clock on.
  AuditRun Audit(int n, std::vector<std::string> flags) {
    std::vector<std::string> args = {"--json", "audit", "--progress", "plain"};
    std::string ids;
    if (n > 0) {
      args.insert(args.end(), {"--users", "-"});
      for (int i = 0; i < n; ++i) absl::StrAppend(&ids, Id(i), "\n");
    }
    args.insert(args.end(), flags.begin(), flags.end());
    ParseResult parsed = Parse(args, ids);
    AuditRun run;
    EXPECT_EQ(parsed.outcome, ParseResult::Outcome::kRun) << parsed.message;
    if (parsed.outcome != ParseResult::Outcome::kRun) return run;
    absl::Time now = absl::FromUnixSeconds(1000);
    AuditDeps deps;
    deps.sleep = [&](absl::Duration d) {
      run.sleeps.push_back(d);
      now += d;
    };
    deps.now = [&] { return now; };
    std::ostringstream out, err;
    run.exit_code = RunAudit(parsed.invocation, *stub_, out, err, false, deps);
    run.out = out.str();
    run.err = err.str();
    run.rows = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
    return run;
  }

  static int Rows(const AuditRun& run, const std::string& needle) {
    int n = 0;
    for (const std::string& row : run.rows) n += absl::StrContains(row, needle) ? 1 : 0;
    return n;
  }

  FakeServer fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgLeaderCredentials::Stub> stub_;
};

// Odd users are deferred the first time they are asked (delays 3, 7, none,
// 1 and 3 s): one wait of the largest, 7 s; then they are asked again in
// chunks and read; every row is a normal one.
TEST_F(AuditBudgetTest, DeferredUsersAreAskedAgainAfterTheLargestDelay) {
  const std::map<std::string, int> delay = {
      {Id(1), 3}, {Id(3), 7}, {Id(5), -1}, {Id(7), 1}, {Id(9), 3}};
  std::set<std::string> asked;
  fake_.batch = [&](int, const v1::BatchGetCredentialsRequest& req,
                    v1::BatchGetCredentialsResponse* resp) {
    for (const std::string& id : req.leaf_user_ids()) {
      const bool again = !asked.insert(id).second;
      *resp->add_results() = delay.count(id) && !again ? Deferred(id, delay.at(id)) : Read(id);
    }
    return grpc::Status::OK;
  };
  AuditRun run = Audit(10, {"--chunk_size", "4"});
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(run.sleeps, std::vector<absl::Duration>{absl::Seconds(7)});
  ASSERT_EQ(run.rows.size(), 10u) << run.out;
  EXPECT_EQ(Rows(run, "\"status\":\"OK\""), 10) << run.out;
  EXPECT_FALSE(absl::StrContains(run.out, "LEAF_RATE_LIMITED"));
  // The deferred users again, in chunks of 4.
  const auto calls = fake_.calls();
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[3], (std::vector<std::string>{Id(1), Id(3), Id(5), Id(7)}));
  EXPECT_EQ(calls[4], (std::vector<std::string>{Id(9)}));
  // Rows of the first round in order, then those read after waiting.
  EXPECT_TRUE(absl::StrContains(run.rows[4], Id(8))) << run.rows[4];
  EXPECT_TRUE(absl::StrContains(run.rows[5], Id(1))) << run.rows[5];
  EXPECT_TRUE(absl::StrContains(run.err, "waiting 7s for Leaf's request budget; 5 users deferred"))
      << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "(Leaf budget: 160 requests/min for bulk work)"))
      << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "  5 users read after waiting for Leaf's budget\n"))
      << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "  total                    10\n")) << run.err;
}

// A user the budget never serves: after two rounds that read nobody, an
// ERROR row LEAF_RATE_LIMITED and exit 1; the others are rows as usual.
TEST_F(AuditBudgetTest, PersistentDeferralEndsAfterTwoRoundsWithoutProgress) {
  fake_.batch = [&](int, const v1::BatchGetCredentialsRequest& req,
                    v1::BatchGetCredentialsResponse* resp) {
    for (const std::string& id : req.leaf_user_ids()) {
      *resp->add_results() = id == Id(2) ? Deferred(id, 1) : Read(id);
    }
    return grpc::Status::OK;
  };
  AuditRun run = Audit(5, {});
  EXPECT_EQ(run.exit_code, kExitRpcError);
  EXPECT_EQ(run.sleeps, std::vector<absl::Duration>(2, absl::Seconds(1)));
  EXPECT_EQ(fake_.calls().size(), 3u);
  ASSERT_EQ(run.rows.size(), 5u) << run.out;
  EXPECT_EQ(Rows(run, "\"status\":\"OK\""), 4);
  EXPECT_TRUE(absl::StrContains(run.rows[4], Id(2))) << run.rows[4];
  EXPECT_TRUE(absl::StrContains(run.rows[4], "\"errorReason\":\"LEAF_RATE_LIMITED\""))
      << run.rows[4];
  EXPECT_FALSE(absl::StrContains(run.err, "users read after waiting")) << run.err;
}

// A server that reads one deferred user per call: progress every round, so
// --max_rate_limited_waits ends it; delays are capped at 60 s. With 0, no
// wait at all (the audit as before the budget).
TEST_F(AuditBudgetTest, MaxRateLimitedWaitsBoundsTheRoundsAndDelaysAreCapped) {
  fake_.batch = [&](int, const v1::BatchGetCredentialsRequest& req,
                    v1::BatchGetCredentialsResponse* resp) {
    for (int i = 0; i < req.leaf_user_ids_size(); ++i) {
      const std::string& id = req.leaf_user_ids(i);
      *resp->add_results() = i == 0 ? Read(id) : Deferred(id, 3600);
    }
    return grpc::Status::OK;
  };
  AuditRun run = Audit(6, {"--max_rate_limited_waits", "3"});
  EXPECT_EQ(run.exit_code, kExitRpcError);
  EXPECT_EQ(run.sleeps, std::vector<absl::Duration>(3, absl::Seconds(60)));
  ASSERT_EQ(run.rows.size(), 6u) << run.out;
  EXPECT_EQ(Rows(run, "\"status\":\"OK\""), 4);
  EXPECT_EQ(Rows(run, "\"errorReason\":\"LEAF_RATE_LIMITED\""), 2);
  EXPECT_TRUE(absl::StrContains(run.err, "  3 users read after waiting for Leaf's budget\n"))
      << run.err;

  AuditRun never = Audit(6, {"--max_rate_limited_waits", "0"});
  EXPECT_EQ(never.exit_code, kExitRpcError);
  EXPECT_TRUE(never.sleeps.empty());
  EXPECT_EQ(Rows(never, "\"status\":\"OK\""), 1);
  EXPECT_EQ(Rows(never, "\"errorReason\":\"LEAF_RATE_LIMITED\""), 5);
  EXPECT_FALSE(absl::StrContains(never.err, "waiting")) << never.err;
}

// A whole chunk refused LEAF_RATE_LIMITED (RetryInfo 3 s) is asked again
// after the delay instead of turning into error rows.
TEST_F(AuditBudgetTest, WholeChunkRefusalIsAskedAgain) {
  fake_.budget = "";  // an unlimited budget: no ETA from it
  fake_.batch = [&](int call, const v1::BatchGetCredentialsRequest& req,
                    v1::BatchGetCredentialsResponse* resp) {
    if (call == 0) {
      return StatusWithDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, "no token in time", false,
                               true);
    }
    for (const std::string& id : req.leaf_user_ids()) *resp->add_results() = Read(id);
    return grpc::Status::OK;
  };
  AuditRun run = Audit(6, {"--chunk_size", "3"});
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(run.sleeps, std::vector<absl::Duration>{absl::Seconds(3)});
  ASSERT_EQ(run.rows.size(), 6u) << run.out;
  EXPECT_EQ(Rows(run, "\"status\":\"OK\""), 6);
  const auto calls = fake_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2], (std::vector<std::string>{Id(0), Id(1), Id(2)}));
  EXPECT_FALSE(absl::StrContains(run.err, "error:")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "waiting 3s for Leaf's request budget; 3 users deferred"))
      << run.err;
  EXPECT_FALSE(absl::StrContains(run.err, "Leaf budget:")) << run.err;
}

// Other failures are not waited for: the chunk's users are error rows at once.
TEST_F(AuditBudgetTest, OtherFailuresAreNotAskedAgain) {
  fake_.batch = [&](int call, const v1::BatchGetCredentialsRequest&,
                    v1::BatchGetCredentialsResponse*) {
    google::rpc::Status quota;  // RESOURCE_EXHAUSTED, but not the budget's
    quota.set_code(static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
    google::rpc::ErrorInfo info;
    info.set_reason("QUOTA_EXCEEDED");
    quota.add_details()->PackFrom(info);
    return call == 0 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")
                     : grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "quota",
                                    quota.SerializeAsString());
  };
  AuditRun run = Audit(4, {"--chunk_size", "2"});
  EXPECT_EQ(run.exit_code, kExitRpcError);
  EXPECT_TRUE(run.sleeps.empty());
  EXPECT_EQ(Rows(run, "\"status\":\"ERROR\""), 4) << run.out;
  EXPECT_EQ(fake_.calls().size(), 2u);
}

// ListCredentials refused by the budget: the same page again after the
// delay; the walk's ETA comes from Leaf's user count and says it is
// approximate. Refused for good: two re-asks, then the error.
TEST_F(AuditBudgetTest, ListingWaitsForTheBudgetWithAnApproximateEta) {
  fake_.list = [&](int call, const v1::ListCredentialsRequest& req,
                   v1::ListCredentialsResponse* resp) {
    if (call == 0) {
      return StatusWithDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, "no token in time", false,
                               true);
    }
    resp->set_total_size(10000);  // 100 pages of Leaf users
    *resp->add_credentials() = Read(Id(call)).credentials();
    if (req.page_token().empty()) resp->set_next_page_token("page-2");
    return grpc::Status::OK;
  };
  AuditRun run = Audit(0, {"--progress", "bar"});
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(run.sleeps, std::vector<absl::Duration>{absl::Seconds(3)});
  EXPECT_EQ(run.rows.size(), 2u) << run.out;
  EXPECT_TRUE(
      absl::StrContains(run.err, "\r0 done  0.0/s  waiting 3s for Leaf's request budget\x1b[K"))
      << run.err;
  // 100 requests at 160 a minute, 3 s of which are spent: ~35 s.
  EXPECT_TRUE(absl::StrContains(
      run.err,
      "1 done  0.3/s  ETA ~35s (approximate; Leaf budget: 160 requests/min for bulk "
      "work)"))
      << run.err;
  const auto calls = fake_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1], std::vector<std::string>{""});
  EXPECT_EQ(calls[2], std::vector<std::string>{"page-2"});

  FakeServer& fake = fake_;
  fake.list = [&](int, const v1::ListCredentialsRequest&, v1::ListCredentialsResponse*) {
    return StatusWithDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, "no token in time", false, true);
  };
  AuditRun refused = Audit(0, {"--progress", "none"});
  EXPECT_EQ(refused.exit_code, kExitRpcError);
  EXPECT_EQ(refused.sleeps.size(), 2u);
  EXPECT_TRUE(absl::StrContains(refused.err, "LEAF_RATE_LIMITED")) << refused.err;
  EXPECT_FALSE(absl::StrContains(refused.err, "waiting")) << refused.err;  // --progress none
}

}  // namespace
}  // namespace leafsvc::client
