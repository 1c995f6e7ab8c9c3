// agleader_client watch across stream ends, against a fake in-process server
// that plays a script per stream (changes, then a status): the next stream
// asks for the same users and view with the last change's resume_token, only
// retriable ends are watched again, RetryInfo and the limit are honoured. The
// sleep, clock and jitter are injected: nothing really waits.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/watch.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kOther[] = "0b0e8a52-1c2d-4e3f-8a9b-123456789abc";

v1::CredentialsChange Change(const std::string& token, v1::ChangeKind kind) {
  v1::CredentialsChange c;
  c.set_leaf_user_id(kUser);
  c.set_kind(kind);
  c.set_source(v1::CHANGE_SOURCE_INITIAL);
  c.mutable_current()->set_id("cred-1");
  c.mutable_current()->set_leaf_status("OK");
  c.set_resume_token(token);
  return c;
}

// What one stream of the fake sends; `lasts` moves the test's clock on
// before the status goes out (how long the stream stayed open).
struct Stream {
  std::vector<v1::CredentialsChange> changes;
  grpc::Status status;
  absl::Duration lasts = absl::ZeroDuration();
};

class FakeWatchServer final : public v1::AgLeaderCredentials::Service {
 public:
  explicit FakeWatchServer(absl::Time* clock) : clock_(clock) {}

  // The streams, in order, from the next one on; past the last one every
  // stream is refused (FAILED_PRECONDITION). Forgets the requests so far.
  void Script(std::vector<Stream> streams) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(streams);
    requests_.clear();
  }

  grpc::Status WatchCredentials(grpc::ServerContext*, const v1::WatchCredentialsRequest* request,
                                grpc::ServerWriter<v1::CredentialsChange>* writer) override {
    Stream stream;
    {
      absl::MutexLock lock(&mu_);
      const size_t n = requests_.size();
      requests_.push_back(*request);
      if (n >= script_.size()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "script over");
      }
      stream = script_[n];
    }
    for (const v1::CredentialsChange& c : stream.changes) writer->Write(c);
    absl::MutexLock lock(&mu_);
    *clock_ += stream.lasts;  // the client reads it only after the status
    return stream.status;
  }

  std::vector<v1::WatchCredentialsRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  absl::Mutex mu_;
  absl::Time* clock_;
  std::vector<Stream> script_;
  std::vector<v1::WatchCredentialsRequest> requests_;
};

struct WatchRun {
  int exit_code = -1;
  std::vector<std::string> lines;  // of out
  std::string err;
  std::vector<absl::Duration> sleeps;
};

class WatchResumeTest : public ClientTest {
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

  // watch of kUser and kOther with `flags`; the jitter draws its maximum.
  WatchRun Watch(std::vector<std::string> flags) {
    std::vector<std::string> args = {"watch", "--leaf_user_id", kUser, "--leaf_user_id", kOther};
    args.insert(args.end(), flags.begin(), flags.end());
    ParseResult parsed = Parse(args);
    WatchRun run;
    EXPECT_EQ(parsed.outcome, ParseResult::Outcome::kRun) << parsed.message;
    if (parsed.outcome != ParseResult::Outcome::kRun) return run;
    WatchDeps deps;
    deps.sleep = [&](absl::Duration d) {
      run.sleeps.push_back(d);
      clock_ += d;
    };
    deps.now = [&] { return clock_; };
    deps.random = [] { return 0.999999; };
    std::ostringstream out, err;
    run.exit_code = RunWatch(parsed.invocation, *stub_, out, err, deps);
    run.lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
    run.err = err.str();
    return run;
  }

  absl::Time clock_ = absl::FromUnixSeconds(1000);
  FakeWatchServer fake_{&clock_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgLeaderCredentials::Stub> stub_;
};

const grpc::Status kShuttingDown(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
const grpc::Status kInvalid(grpc::StatusCode::INVALID_ARGUMENT, "bad users");

TEST_F(WatchResumeTest, WatchesAgainFromTheLastChangesToken) {
  fake_.Script({
      {{Change("t1", v1::CHANGE_KIND_INITIAL), Change("t2", v1::CHANGE_KIND_STATUS_CHANGED)},
       kShuttingDown},
      {{Change("t3", v1::CHANGE_KIND_RESYNC)}, kInvalid},
  });
  WatchRun run = Watch({"--view", "full"});
  EXPECT_EQ(run.exit_code, kExitRpcError);
  std::vector<v1::WatchCredentialsRequest> requests = fake_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].resume_token(), "");
  EXPECT_EQ(requests[1].resume_token(), "t2");
  for (const auto& r : requests) {
    ASSERT_EQ(r.leaf_user_ids_size(), 2);
    EXPECT_EQ(r.leaf_user_ids(0), kUser);
    EXPECT_EQ(r.leaf_user_ids(1), kOther);
    EXPECT_EQ(r.view(), v1::CREDENTIALS_VIEW_FULL);
  }
  // What the second stream sent is printed, the resync labelled as such.
  ASSERT_EQ(run.lines.size(), 3u) << run.err;
  EXPECT_TRUE(absl::StrContains(run.lines[0], " INITIAL OK id=cred-1")) << run.lines[0];
  EXPECT_TRUE(absl::StrContains(run.lines[2], " RESYNC OK id=cred-1")) << run.lines[2];
  ASSERT_EQ(run.sleeps.size(), 1u);
  EXPECT_LE(run.sleeps[0], absl::Milliseconds(100));
  EXPECT_GE(run.sleeps[0], absl::Milliseconds(50));
  EXPECT_TRUE(absl::StrContains(run.err, "UNAVAILABLE")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "watching again")) << run.err;
  // The final error is the one that ended the watch.
  EXPECT_TRUE(absl::StrContains(run.err, "INVALID_ARGUMENT")) << run.err;
}

TEST_F(WatchResumeTest, StartsFromTheGivenTokenAndKeepsItWhenChangesCarryNone) {
  fake_.Script({
      {{}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed")},
      {{Change("", v1::CHANGE_KIND_INITIAL)}, kShuttingDown},
      {{Change("t9", v1::CHANGE_KIND_CREATED)}, kShuttingDown},
      {{}, kInvalid},
  });
  WatchRun run = Watch({"--resume_token", "t0", "--json"});
  std::vector<v1::WatchCredentialsRequest> requests = fake_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].resume_token(), "t0");
  EXPECT_EQ(requests[1].resume_token(), "t0");
  EXPECT_EQ(requests[2].resume_token(), "t0");  // a change without a token keeps the last
  EXPECT_EQ(requests[3].resume_token(), "t9");
  ASSERT_EQ(run.lines.size(), 2u);
  EXPECT_TRUE(absl::StrContains(run.lines[1], "\"resumeToken\":\"t9\"")) << run.lines[1];
}

TEST_F(WatchResumeTest, NonRetriableEndsStopAtOnce) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    SCOPED_TRACE(code);
    fake_.Script(
        {{{Change("t1", v1::CHANGE_KIND_INITIAL)}, grpc::Status(code, "no")}, {{}, kShuttingDown}});
    WatchRun run = Watch({});
    EXPECT_EQ(run.exit_code, kExitRpcError);
    EXPECT_EQ(fake_.requests().size(), 1u);
    EXPECT_TRUE(run.sleeps.empty());
    EXPECT_FALSE(absl::StrContains(run.err, "watching again")) << run.err;
  }
}

TEST_F(WatchResumeTest, WaitsWhatTheRetryInfoAsks) {
  fake_.Script({
      {{Change("t1", v1::CHANGE_KIND_INITIAL)},
       StatusWithDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, "Leaf's budget", false, true)},
      {{}, kInvalid},
  });
  WatchRun run = Watch({});
  ASSERT_EQ(fake_.requests().size(), 2u);
  EXPECT_EQ(fake_.requests()[1].resume_token(), "t1");
  ASSERT_EQ(run.sleeps.size(), 1u);
  EXPECT_EQ(run.sleeps[0], absl::Seconds(3));
}

TEST_F(WatchResumeTest, GivesUpAfterTheLimitOfAttemptsInARow) {
  std::vector<Stream> down(10, Stream{{}, kShuttingDown});
  fake_.Script(down);
  WatchRun run = Watch({"--max_rewatch_attempts", "3"});
  EXPECT_EQ(run.exit_code, kExitRpcError);
  EXPECT_EQ(fake_.requests().size(), 4u);  // the first stream and 3 re-watches
  ASSERT_EQ(run.sleeps.size(), 3u);
  // Backing off: each wait about twice the one before.
  EXPECT_GT(run.sleeps[1], run.sleeps[0] * 1.9);
  EXPECT_GT(run.sleeps[2], run.sleeps[1] * 1.9);
  EXPECT_TRUE(absl::StrContains(run.err, "error: UNAVAILABLE")) << run.err;
}

TEST_F(WatchResumeTest, ZeroAttemptsNeverWatchesAgain) {
  fake_.Script({{{Change("t1", v1::CHANGE_KIND_INITIAL)}, kShuttingDown}, {{}, kInvalid}});
  WatchRun run = Watch({"--max_rewatch_attempts=0"});
  EXPECT_EQ(run.exit_code, kExitRpcError);
  EXPECT_EQ(fake_.requests().size(), 1u);
  EXPECT_TRUE(run.sleeps.empty());
}

TEST_F(WatchResumeTest, AChangeOrALongQuietStreamStartsTheCountOver) {
  fake_.Script({
      {{}, kShuttingDown},
      {{}, kShuttingDown},
      {{Change("t1", v1::CHANGE_KIND_INITIAL)}, kShuttingDown},
      {{}, kShuttingDown},
      {{}, kShuttingDown, absl::Minutes(2)},  // e.g. --max_connection_age
      {{}, kShuttingDown},
      {{}, kShuttingDown},
      {{}, kShuttingDown},
  });
  WatchRun run = Watch({"--max_rewatch_attempts", "2"});
  EXPECT_EQ(run.exit_code, kExitRpcError);
  // 2 re-watches; a change: 1 more; the long one: 2 more; then the limit.
  EXPECT_EQ(fake_.requests().size(), 7u);
  ASSERT_EQ(run.sleeps.size(), 6u);
  EXPECT_LT(run.sleeps[2], run.sleeps[1]);  // the backoff started over after the change
  EXPECT_LT(run.sleeps[4], run.sleeps[3]);  // and after the long stream
}

TEST_F(WatchResumeTest, TheNoteOfAReWatchHidesSecrets) {
  fake_.Script(
      {{{}, grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string("proxy said ") + kApiKey)},
       {{}, kInvalid}});
  WatchRun run = Watch({"--api_key", kApiKey});
  ASSERT_EQ(run.sleeps.size(), 1u);
  EXPECT_FALSE(absl::StrContains(run.err, kApiKey)) << run.err;
}

TEST_F(WatchResumeTest, FlagsAreChecked) {
  ParseResult r = Parse({"watch", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.max_rewatch_attempts, -1);  // for ever
  EXPECT_EQ(r.invocation.watch_request.resume_token(), "");
  r = Parse({"watch", "--leaf_user_id", kUser, "--max_rewatch_attempts", "-2"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_TRUE(absl::StrContains(r.message, "--max_rewatch_attempts")) << r.message;
  r = Parse({"get", "--leaf_user_id", kUser, "--resume_token", "t1"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);  // watch's own
  r = Parse({"watch", "--help"});
  EXPECT_TRUE(absl::StrContains(r.usage, "AGLEADER_CLIENT_MAX_REWATCH_ATTEMPTS")) << r.usage;
  EXPECT_TRUE(absl::StrContains(r.usage, "--resume_token")) << r.usage;
}

}  // namespace
}  // namespace leafsvc::client
