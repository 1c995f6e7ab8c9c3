// BatchGet with fetches the test answers by hand: the fan-out bound, one
// fetch per distinct user (ids compared in their one spelling) with its
// result repeated at every position that asked, results in request order,
// cancel and deadline reasons for users not reached, exactly one Done.
#include "server/operations/batch_get.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

struct Fetches {
  struct One {
    std::string user;
    BatchGet::FetchDone done;
    bool cancelled = false;
  };
  std::deque<std::shared_ptr<One>> sent;
  int in_flight = 0, most_in_flight = 0;

  BatchGet::Fetch Fetch() {
    return [this](const std::string& user, BatchGet::FetchDone done) {
      auto one = std::make_shared<One>();
      one->user = user;
      one->done = std::move(done);
      sent.push_back(one);
      most_in_flight = std::max(most_in_flight, ++in_flight);
      struct Handle : leaf::Cancellable {
        std::shared_ptr<One> one;
        Fetches* owner;
        void Cancel() override {
          if (!one->done) return;
          one->cancelled = true;
          auto d = std::move(one->done);
          one->done = nullptr;
          --owner->in_flight;
          d(absl::CancelledError("cancelled"));
        }
      };
      auto h = std::make_shared<Handle>();
      h->one = one;
      h->owner = this;
      return h;
    };
  }
  void Answer(size_t i, const std::string& id) {
    ASSERT_TRUE(sent[i]->done);
    auto d = std::move(sent[i]->done);
    sent[i]->done = nullptr;
    --in_flight;
    leaf::ProviderCredentials c;
    c.id = id;
    c.status = "OK";
    d(c);
  }
};

TEST(BatchGetTest, FansOutAtMostFanOutAndAnswersInRequestOrder) {
  Fetches f;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back("user-" + std::to_string(i));
  auto batch = std::make_shared<BatchGet>(ids, 3, absl::InfiniteFuture(), f.Fetch());
  std::optional<std::vector<BatchGet::Result>> got;
  int dones = 0;
  batch->Start([&](std::vector<BatchGet::Result> r) {
    got = std::move(r);
    ++dones;
  });
  EXPECT_EQ(f.sent.size(), 3u);
  for (size_t i = 0; i < 10; ++i) f.Answer(i, "cred-" + f.sent[i]->user);
  EXPECT_LE(f.most_in_flight, 3);
  ASSERT_EQ(dones, 1);
  ASSERT_EQ(got->size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ((*got)[i]->id, "cred-user-" + std::to_string(i));
}

TEST(BatchGetTest, AUserAskedTwiceInAnySpellingIsFetchedOnce) {
  Fetches f;
  const std::vector<std::string> ids = {"3FA85F64-5717-4562-B3FC-2C963F66AFA6", "other",
                                        "3fa85f64-5717-4562-b3fc-2c963f66afa6"};
  auto batch = std::make_shared<BatchGet>(ids, 8, absl::InfiniteFuture(), f.Fetch());
  std::optional<std::vector<BatchGet::Result>> got;
  batch->Start([&](std::vector<BatchGet::Result> r) { got = std::move(r); });
  ASSERT_EQ(f.sent.size(), 2u);
  f.Answer(0, "c1");
  f.Answer(1, "c2");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got)[0]->id, "c1");
  EXPECT_EQ((*got)[1]->id, "c2");
  EXPECT_EQ((*got)[2]->id, "c1");
}

TEST(BatchGetTest, CancelEndsUsersNotReachedWithBatchCancelledAndCancelsTheOthers) {
  Fetches f;
  auto batch = std::make_shared<BatchGet>(std::vector<std::string>{"a", "b", "c", "d"}, 2,
                                          absl::InfiniteFuture(), f.Fetch());
  std::optional<std::vector<BatchGet::Result>> got;
  int dones = 0;
  batch->Start([&](std::vector<BatchGet::Result> r) {
    got = std::move(r);
    ++dones;
  });
  f.Answer(0, "ca");
  batch->Cancel();
  batch->Cancel();
  ASSERT_EQ(dones, 1);
  EXPECT_TRUE((*got)[0].ok());
  EXPECT_EQ((*got)[1].status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(GetStatusDetails((*got)[3].status()).reason, "BATCH_CANCELLED");
  EXPECT_EQ(f.sent.size(), 3u) << "no user started after the cancel";
}

TEST(BatchGetTest, UsersNotStartedByTheDeadlineGetBatchDeadlineExceeded) {
  Fetches f;
  auto batch = std::make_shared<BatchGet>(std::vector<std::string>{"a", "b", "c"}, 1,
                                          absl::Now() + absl::Milliseconds(50), f.Fetch());
  std::optional<std::vector<BatchGet::Result>> got;
  batch->Start([&](std::vector<BatchGet::Result> r) { got = std::move(r); });
  absl::SleepFor(absl::Milliseconds(80));
  f.Answer(0, "ca");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE((*got)[0].ok());
  EXPECT_EQ(GetStatusDetails((*got)[1].status()).reason, "BATCH_DEADLINE_EXCEEDED");
  EXPECT_EQ(GetStatusDetails((*got)[2].status()).reason, "BATCH_DEADLINE_EXCEEDED");
  EXPECT_EQ(f.sent.size(), 1u);
}

// When Leaf's request budget is why the batch ran out of time, the users
// not reached hear that (LEAF_RATE_LIMITED with its RetryInfo), so a caller
// knows to ask again for them after the delay, not that the batch broke.
TEST(BatchGetTest, UsersNotReachedAfterABudgetRefusalGetTheRefusal) {
  Fetches f;
  auto batch = std::make_shared<BatchGet>(std::vector<std::string>{"a", "b", "c", "d"}, 1,
                                          absl::Now() + absl::Milliseconds(50), f.Fetch());
  std::optional<std::vector<BatchGet::Result>> got;
  batch->Start([&](std::vector<BatchGet::Result> r) { got = std::move(r); });
  f.Answer(0, "ca");
  ASSERT_EQ(f.sent.size(), 2u);
  StatusDetails d;
  d.retry_delay = absl::Seconds(4);
  auto refuse = std::move(f.sent[1]->done);
  f.sent[1]->done = nullptr;
  --f.in_flight;
  absl::SleepFor(absl::Milliseconds(80));  // the batch's deadline passes
  refuse(MakeError(reasons::kLeafRateLimited, "no token in time", d));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE((*got)[0].ok());
  for (int i = 1; i < 4; ++i) {
    const StatusDetails got_d = GetStatusDetails((*got)[i].status());
    EXPECT_EQ(got_d.reason, "LEAF_RATE_LIMITED") << i;
    EXPECT_EQ(got_d.retry_delay, absl::Seconds(4)) << i;
  }
  EXPECT_EQ(f.sent.size(), 2u);
}

}  // namespace
}  // namespace leafsvc
