// The read coalescer with reads the test answers by hand: identical reads
// share one request, a write starts a new generation, priorities and
// deadlines decide who may join, one waiter's cancel leaves the others
// waiting, the last one's cancels the request, a shared request that ran
// out of time (or was refused a turn before its deadline) is asked again
// for waiters with time left. Plus a seeded
// random interleaving (LEAF_COALESCER_SEED replays it): every waiter ends
// exactly once, and never with an answer from before its write.
#include "server/leaf/read_coalescer.h"

#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "gtest/gtest.h"
#include "server/http/http_client.h"

namespace leafsvc::leaf {
namespace {

// A read the test ends by hand.
struct Pending {
  absl::Time deadline;
  std::function<void(absl::StatusOr<int>)> done;
  bool cancelled = false;
};

class Reads {
 public:
  ReadCoalescer<int>::StartRead Starter() {
    return [this](absl::Time deadline, CallStats*, std::function<void()>,
                  ReadCoalescer<int>::Done done) {
      auto p = std::make_shared<Pending>();
      p->deadline = deadline;
      p->done = std::move(done);
      sent.push_back(p);
      struct Call : Cancellable {
        std::shared_ptr<Pending> p;
        void Cancel() override {
          if (p->cancelled || !p->done) return;
          p->cancelled = true;
          auto d = std::move(p->done);
          p->done = nullptr;
          d(absl::CancelledError("cancelled"));
        }
      };
      auto call = std::make_shared<Call>();
      call->p = p;
      return call;
    };
  }
  void Answer(size_t i, absl::StatusOr<int> v) {
    ASSERT_TRUE(sent[i]->done) << "request " << i << " already ended";
    auto d = std::move(sent[i]->done);
    sent[i]->done = nullptr;
    d(std::move(v));
  }
  std::vector<std::shared_ptr<Pending>> sent;
};

struct Got {
  std::optional<absl::StatusOr<int>> value;
  int ends = 0;
};

class CoalescerTest : public ::testing::Test {
 protected:
  std::shared_ptr<Cancellable> Read(const std::string& key, Got* got, int priority = 0,
                                    absl::Duration deadline = absl::Seconds(10)) {
    return coalescer_.Read("user", key, priority, absl::Now() + deadline, nullptr, reads_.Starter(),
                           [got](absl::StatusOr<int> v) {
                             got->value = std::move(v);
                             ++got->ends;
                           });
  }
  int coalesced_ = 0;
  ReadCoalescer<int> coalescer_{[this] { ++coalesced_; }};
  Reads reads_;
};

TEST_F(CoalescerTest, IdenticalReadsShareOneRequest) {
  Got a, b, c, other;
  Read("get", &a);
  Read("get", &b);
  Read("get", &c);
  Read("events", &other);
  ASSERT_EQ(reads_.sent.size(), 2u);
  EXPECT_EQ(coalesced_, 2);
  reads_.Answer(0, 7);
  EXPECT_EQ(a.value->value(), 7);
  EXPECT_EQ(b.value->value(), 7);
  EXPECT_EQ(c.value->value(), 7);
  EXPECT_FALSE(other.value.has_value());
  // Nothing is kept after the answer.
  Got later;
  Read("get", &later);
  EXPECT_EQ(reads_.sent.size(), 3u);
}

TEST_F(CoalescerTest, AReadAfterAWriteNeverGetsTheAnswerFromBefore) {
  Got before, after;
  Read("get", &before);
  coalescer_.WriteStarted("user");
  Read("get", &after);
  ASSERT_EQ(reads_.sent.size(), 2u) << "the read after the write has its own request";
  reads_.Answer(0, 1);  // the old state
  reads_.Answer(1, 2);  // the new state
  EXPECT_EQ(before.value->value(), 1);
  EXPECT_EQ(after.value->value(), 2);
}

TEST_F(CoalescerTest, AWriteToAnotherScopeChangesNothing) {
  Got a, b;
  Read("get", &a);
  coalescer_.WriteStarted("someone-else");
  Read("get", &b);
  EXPECT_EQ(reads_.sent.size(), 1u);
}

TEST_F(CoalescerTest, AHigherPriorityNeverJoinsALowerOne) {
  Got poll, caller, poll2;
  Read("get", &poll, /*priority=*/2);
  Read("get", &caller, /*priority=*/0);
  EXPECT_EQ(reads_.sent.size(), 2u) << "a caller must not wait in a poll's queue";
  Read("get", &poll2, /*priority=*/2);
  EXPECT_EQ(reads_.sent.size(), 2u) << "a poll joins the caller's read";
  reads_.Answer(1, 5);
  EXPECT_EQ(poll2.value->value(), 5);
  EXPECT_FALSE(poll.value.has_value());
}

TEST_F(CoalescerTest, AReadNeverJoinsOneThatWouldOutliveItsDeadline) {
  Got long_read, short_read;
  Read("get", &long_read, 0, absl::Seconds(30));
  Read("get", &short_read, 0, absl::Seconds(1));
  EXPECT_EQ(reads_.sent.size(), 2u);
}

TEST_F(CoalescerTest, OneWaitersCancelLeavesTheOthersWaiting) {
  Got a, b;
  std::shared_ptr<Cancellable> first = Read("get", &a);
  Read("get", &b);
  first->Cancel();
  EXPECT_EQ(a.value->status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(reads_.sent[0]->cancelled);
  reads_.Answer(0, 9);
  EXPECT_EQ(b.value->value(), 9);
  EXPECT_EQ(a.ends, 1);
  first->Cancel();  // after the end: nothing
  EXPECT_EQ(a.ends, 1);
}

TEST_F(CoalescerTest, TheLastWaitersCancelCancelsTheRequest) {
  Got a, b;
  std::shared_ptr<Cancellable> first = Read("get", &a);
  std::shared_ptr<Cancellable> second = Read("get", &b);
  first->Cancel();
  second->Cancel();
  EXPECT_TRUE(reads_.sent[0]->cancelled);
  EXPECT_EQ(b.ends, 1);
  Got c;
  Read("get", &c);
  EXPECT_EQ(reads_.sent.size(), 2u) << "a cancelled request is not joined";
}

TEST_F(CoalescerTest, ASharedRequestOutOfTimeIsAskedAgainForLaterDeadlines) {
  Got early, late;
  Read("get", &early, 0, absl::Milliseconds(100));
  Read("get", &late, 0, absl::Seconds(30));
  ASSERT_EQ(reads_.sent.size(), 1u);
  absl::SleepFor(absl::Milliseconds(120));
  reads_.Answer(0, absl::DeadlineExceededError("Leaf did not answer in time"));
  EXPECT_EQ(early.value->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(late.value.has_value());
  ASSERT_EQ(reads_.sent.size(), 2u);
  EXPECT_GE(reads_.sent[1]->deadline, absl::Now() + absl::Seconds(25));
  reads_.Answer(1, 3);
  EXPECT_EQ(late.value->value(), 3);
}

// The request budget refused the shared request a turn before its
// (early) deadline; a waiter with more time may still get one: it is asked
// again, and the early waiter hears the refusal. Other refusals (a full
// queue, Leaf's own 429) are everyone's answer.
TEST_F(CoalescerTest, ARefusalForTheSharedDeadlineIsAskedAgainForLaterDeadlines) {
  Got early, late;
  Read("get", &early, 0, absl::Seconds(2));
  Read("get", &late, 3, absl::Seconds(30));  // bulk work joins a caller's read
  ASSERT_EQ(reads_.sent.size(), 1u);
  absl::Status too_late = absl::ResourceExhaustedError("no request free before the deadline");
  too_late.SetPayload(http::kTooLatePayload, absl::Cord("true"));
  reads_.Answer(0, too_late);
  EXPECT_EQ(early.value->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(late.value.has_value()) << "the later waiter got the early one's refusal";
  ASSERT_EQ(reads_.sent.size(), 2u);
  EXPECT_GE(reads_.sent[1]->deadline, absl::Now() + absl::Seconds(25));
  reads_.Answer(1, 4);
  EXPECT_EQ(late.value->value(), 4);

  Got a, b;
  Read("get", &a, 0, absl::Seconds(2));
  Read("get", &b, 0, absl::Seconds(30));
  ASSERT_EQ(reads_.sent.size(), 3u);
  reads_.Answer(2, absl::ResourceExhaustedError("Leaf is rate limiting requests (HTTP 429)"));
  EXPECT_EQ(b.value->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(reads_.sent.size(), 3u) << "Leaf's own 429 was asked again";
}

TEST_F(CoalescerTest, AReadThatEndsInsideItsStartEndsOnce) {
  Got a;
  coalescer_.Read(
      "user", "get", 0, absl::Now() + absl::Seconds(1), nullptr,
      [](absl::Time, CallStats*, std::function<void()>,
         ReadCoalescer<int>::Done done) -> std::shared_ptr<Cancellable> {
        done(absl::ResourceExhaustedError("refused at once"));
        return nullptr;
      },
      [&a](absl::StatusOr<int> v) {
        a.value = std::move(v);
        ++a.ends;
      });
  EXPECT_EQ(a.ends, 1);
  EXPECT_EQ(coalescer_.flights(), 0u);
}

TEST_F(CoalescerTest, RandomInterleavingsEndEveryWaiterOnceWithNoStaleAnswer) {
  const char* env = std::getenv("LEAF_COALESCER_SEED");
  const unsigned seed =
      env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
  std::printf("LEAF_COALESCER_SEED=%u\n", seed);
  std::mt19937 rng(seed);
  // The value a request answers is the write generation when it was sent;
  // a waiter asked at generation g must never see an answer below g.
  int generation = 0;
  std::vector<int> sent_generation;
  struct W {
    int asked_at;
    Got got;
    std::shared_ptr<Cancellable> handle;
  };
  std::deque<W> waiters;
  for (int step = 0; step < 3000; ++step) {
    const int op = std::uniform_int_distribution<int>(0, 9)(rng);
    if (op < 4) {
      waiters.push_back({generation, {}, nullptr});
      W& w = waiters.back();
      const size_t before = reads_.sent.size();
      w.handle = Read(std::uniform_int_distribution<int>(0, 1)(rng) ? "get" : "page", &w.got,
                      std::uniform_int_distribution<int>(0, 2)(rng));
      if (reads_.sent.size() > before) sent_generation.push_back(generation);
    } else if (op < 5) {
      ++generation;
      coalescer_.WriteStarted("user");
    } else if (op < 8 && !reads_.sent.empty()) {
      const size_t i = std::uniform_int_distribution<size_t>(0, reads_.sent.size() - 1)(rng);
      if (reads_.sent[i]->done) reads_.Answer(i, sent_generation[i]);
    } else if (!waiters.empty()) {
      const size_t i = std::uniform_int_distribution<size_t>(0, waiters.size() - 1)(rng);
      waiters[i].handle->Cancel();
    }
  }
  for (size_t i = 0; i < reads_.sent.size(); ++i) {
    if (reads_.sent[i]->done) reads_.Answer(i, sent_generation[i]);
  }
  for (const W& w : waiters) {
    ASSERT_EQ(w.got.ends, 1) << "seed " << seed;
    if (w.got.value->ok()) {
      ASSERT_GE(w.got.value->value(), w.asked_at) << "stale answer, seed " << seed;
    }
  }
  EXPECT_EQ(coalescer_.flights(), 0u);
}

}  // namespace
}  // namespace leafsvc::leaf
