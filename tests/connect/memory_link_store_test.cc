// The in-memory store: the LinkStore contract, its bounds and expiry.
#include "server/connect/memory_link_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/connect/store_sync.h"

namespace leafsvc::connect {
namespace {

using testing::CreateNow;
using testing::GetNow;
using testing::PutNow;
using testing::TakeNow;
using testing::TestAttempt;
using testing::TestLink;
using testing::UpdateNow;

class MemoryLinkStoreTest : public ::testing::Test {
 protected:
  MemoryLinkStore Make(size_t max_links = 100, size_t max_attempts = 100) {
    MemoryLinkStoreOptions o;
    o.max_links = max_links;
    o.max_attempts = max_attempts;
    o.clock = clock_.Fn();
    return MemoryLinkStore(o);
  }
  testing::FakeClock clock_;
};

TEST_F(MemoryLinkStoreTest, CreateGetAndNoDuplicateIds) {
  MemoryLinkStore s = Make();
  ASSERT_TRUE(CreateNow(s, TestLink("l1", clock_.Now())).ok());
  absl::StatusOr<ConnectLink> got = GetNow(s, "l1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->leaf_user_id, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  EXPECT_EQ(got->return_url, "https://a.example/app");
  EXPECT_EQ(got->state, LinkState::kPending);
  EXPECT_EQ(CreateNow(s, TestLink("l1", clock_.Now())).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(GetNow(s, "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemoryLinkStoreTest, UpdateChangesStateButNeverLeavesConnected) {
  MemoryLinkStore s = Make();
  ASSERT_TRUE(CreateNow(s, TestLink("l1", clock_.Now())).ok());
  LinkUpdate failed{LinkState::kFailed, clock_.Now() + absl::Seconds(1), "AGFINITI_UNAVAILABLE",
                    "down", ""};
  absl::StatusOr<ConnectLink> u = UpdateNow(s, "l1", failed);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->state, LinkState::kFailed);
  EXPECT_EQ(u->error_reason, "AGFINITI_UNAVAILABLE");
  EXPECT_EQ(u->return_url, "https://a.example/app");  // the rest unchanged

  LinkUpdate connected{LinkState::kConnected, clock_.Now(), "", "", "cred-1"};
  u = UpdateNow(s, "l1", connected);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->credentials_id, "cred-1");
  EXPECT_EQ(u->error_reason, "");
  EXPECT_EQ(UpdateNow(s, "l1", failed).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(UpdateNow(s, "l1", connected).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetNow(s, "l1")->credentials_id, "cred-1");
  EXPECT_EQ(UpdateNow(s, "nope", failed).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemoryLinkStoreTest, OfRacingConnectsExactlyOneWins) {
  MemoryLinkStore s = Make();
  ASSERT_TRUE(CreateNow(s, TestLink("l1", clock_.Now())).ok());
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      LinkUpdate u{LinkState::kConnected, clock_.Now(), "", "", absl::StrCat("c", i)};
      if (UpdateNow(s, "l1", u).ok()) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
}

TEST_F(MemoryLinkStoreTest, AttemptsAreSingleUse) {
  MemoryLinkStore s = Make();
  ASSERT_TRUE(PutNow(s, TestAttempt("h1", "l1", clock_.Now() + absl::Minutes(15))).ok());
  EXPECT_EQ(PutNow(s, TestAttempt("h1", "l2", clock_.Now() + absl::Minutes(15))).code(),
            absl::StatusCode::kAlreadyExists);
  absl::StatusOr<Attempt> a = TakeNow(s, "h1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->link_id, "l1");
  EXPECT_EQ(a->binding_hash, "binding-h1");
  EXPECT_EQ(a->pkce_verifier.Reveal(), "verifier-h1");
  EXPECT_EQ(TakeNow(s, "h1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemoryLinkStoreTest, ConcurrentTakesGiveTheAttemptOnce) {
  MemoryLinkStore s = Make();
  ASSERT_TRUE(PutNow(s, TestAttempt("h1", "l1", clock_.Now() + absl::Minutes(15))).ok());
  std::atomic<int> got{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (TakeNow(s, "h1").ok()) ++got;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.load(), 1);
}

TEST_F(MemoryLinkStoreTest, ExpiredAttemptsAreNotGiven) {
  MemoryLinkStore s = Make();
  ASSERT_TRUE(PutNow(s, TestAttempt("h1", "l1", clock_.Now() + absl::Minutes(15))).ok());
  clock_.Advance(absl::Minutes(15));
  EXPECT_EQ(TakeNow(s, "h1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.attempt_count(), 0u);
}

TEST_F(MemoryLinkStoreTest, LinksAreKeptADayPastExpiryThenForgotten) {
  MemoryLinkStore s = Make();
  ASSERT_TRUE(CreateNow(s, TestLink("l1", clock_.Now())).ok());  // expires in 1 h
  clock_.Advance(absl::Hours(24));
  EXPECT_TRUE(GetNow(s, "l1").ok());
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(GetNow(s, "l1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemoryLinkStoreTest, FullStoreDropsExpiredFirstThenRefuses) {
  MemoryLinkStore s = Make(/*max_links=*/2, /*max_attempts=*/2);
  ASSERT_TRUE(CreateNow(s, TestLink("old", clock_.Now())).ok());
  ConnectLink live = TestLink("live", clock_.Now());
  live.expire_time = clock_.Now() + absl::Hours(100);
  ASSERT_TRUE(CreateNow(s, live).ok());
  EXPECT_EQ(CreateNow(s, TestLink("new", clock_.Now())).code(),
            absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Hours(26));  // "old" is past retention, "live" is not
  ASSERT_TRUE(CreateNow(s, TestLink("new", clock_.Now())).ok());
  EXPECT_TRUE(GetNow(s, "live").ok());
  EXPECT_EQ(s.link_count(), 2u);

  ASSERT_TRUE(PutNow(s, TestAttempt("a", "l", clock_.Now() + absl::Minutes(1))).ok());
  ASSERT_TRUE(PutNow(s, TestAttempt("b", "l", clock_.Now() + absl::Minutes(30))).ok());
  EXPECT_EQ(PutNow(s, TestAttempt("c", "l", clock_.Now() + absl::Minutes(15))).code(),
            absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Minutes(2));
  EXPECT_TRUE(PutNow(s, TestAttempt("c", "l", clock_.Now() + absl::Minutes(15))).ok());
  EXPECT_TRUE(TakeNow(s, "b").ok());
}

}  // namespace
}  // namespace leafsvc::connect
