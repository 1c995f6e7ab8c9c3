// 1,000 WatchCredentials streams over 100 users: each user is read once per
// interval, not once per stream.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kUsers = 100;
constexpr int kStreams = 1000;

// Reads one stream until it ends, counting messages.
class Reader final : public grpc::ClientReadReactor<v1::CredentialsChange> {
 public:
  Reader(v1::AgLeaderCredentials::Stub& stub, const std::string& user, std::atomic<int>* initial,
         std::atomic<int>* done)
      : initial_(initial), done_(done) {
    request_.add_leaf_user_ids(user);
    stub.async()->WatchCredentials(&context_, &request_, this);
    StartRead(&change_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (change_.kind() == v1::CHANGE_KIND_INITIAL) initial_->fetch_add(1);
    StartRead(&change_);
  }
  void OnDone(const grpc::Status&) override { done_->fetch_add(1); }
  void Cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  v1::WatchCredentialsRequest request_;
  v1::CredentialsChange change_;
  std::atomic<int>* initial_;
  std::atomic<int>* done_;
};

std::string UserId(int i) { return absl::StrFormat("00000000-0000-4000-8000-%012d", i); }

TEST(WatchFanoutTest, OneReadPerUserPerIntervalHoweverManyStreams) {
  const absl::Duration interval = absl::Seconds(1);
  auto h = Harness::Start(nullptr, [&](ServerConfig& c) {
    c.watch_poll_interval = interval;
    c.watch_poll_jitter = absl::ZeroDuration();
  });
  ASSERT_NE(h, nullptr);
  for (int i = 0; i < kUsers; i += 2) h->Create(UserId(i));  // half have credentials

  // Spread over a few channels, as many callers would be.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::AgLeaderCredentials::Stub>> stubs;
  for (int i = 0; i < 10; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(h->app().target(), grpc::InsecureChannelCredentials(), args));
    stubs.push_back(v1::AgLeaderCredentials::NewStub(channels.back()));
  }
  std::atomic<int> initial{0}, done{0};
  std::vector<std::unique_ptr<Reader>> readers;
  for (int i = 0; i < kStreams; ++i) {
    readers.push_back(
        std::make_unique<Reader>(*stubs[i % stubs.size()], UserId(i % kUsers), &initial, &done));
  }
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (initial.load() < kStreams && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(initial.load(), kStreams);
  EXPECT_EQ(h->app().watch_hub().streams(), kStreams);
  EXPECT_EQ(h->app().watch_hub().users(), kUsers);

  h->emulator().ClearRequests();
  const int intervals = 3;
  absl::SleepFor(interval * intervals);
  // The users with credentials are read through the users listing (one
  // request for all of them, docs/watch.md); the others one GET each.
  const int gets = h->emulator().CountRequests("GET", "ag-leader-credentials");
  const int pages = h->emulator().CountRequests("GET", "/users") - gets;
  const double per_interval = static_cast<double>(gets) / intervals;
  const double pages_per_interval = static_cast<double>(pages) / intervals;
  std::cout << "upstream requests per interval with " << kStreams << " streams over " << kUsers
            << " users: " << per_interval << " GETs, " << pages_per_interval
            << " listing pages\n";
  EXPECT_GE(per_interval, 0.8 * kUsers / 2);
  EXPECT_LE(per_interval, 1.2 * kUsers / 2);
  EXPECT_GE(pages_per_interval, 0.5);
  EXPECT_LE(pages_per_interval, 2);

  for (auto& r : readers) r->Cancel();
  deadline = absl::Now() + absl::Seconds(30);
  while (done.load() < kStreams && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(done.load(), kStreams);
  deadline = absl::Now() + absl::Seconds(5);
  while (h->app().watch_hub().users() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(h->app().watch_hub().streams(), 0);
  EXPECT_EQ(h->app().watch_hub().users(), 0);
}

}  // namespace
}  // namespace leafsvc::testing
