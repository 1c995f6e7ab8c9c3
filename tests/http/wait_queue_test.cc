#include "server/http/wait_queue.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_client.h"

namespace leafsvc::http {
namespace {

using ::testing::ElementsAre;

const absl::Time kEpoch = absl::FromUnixSeconds(1000);

PendingTransfer Entry(TransferId id, absl::Time deadline = absl::InfiniteFuture()) {
  PendingTransfer transfer;
  transfer.id = id;
  transfer.request.url = "http://127.0.0.1/" + std::to_string(id);
  transfer.request.deadline = deadline;
  return transfer;
}

std::vector<TransferId> Ids(const std::vector<PendingTransfer>& transfers) {
  std::vector<TransferId> ids;
  for (const PendingTransfer& t : transfers) ids.push_back(t.id);
  return ids;
}

TEST(WaitQueueTest, PopsInArrivalOrderNotIdOrder) {
  WaitQueue queue;
  EXPECT_TRUE(queue.empty());
  for (TransferId id : {5, 2, 9}) queue.Push(Entry(id));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.PopFront().id, 5u);
  EXPECT_EQ(queue.PopFront().id, 2u);
  queue.Push(Entry(1));
  EXPECT_EQ(queue.PopFront().id, 9u);
  EXPECT_EQ(queue.PopFront().id, 1u);
  EXPECT_TRUE(queue.empty());
}

TEST(WaitQueueTest, EntryKeepsItsRequestAndCallback) {
  WaitQueue queue;
  int calls = 0;
  PendingTransfer transfer = Entry(7);
  transfer.request.body = "payload";
  transfer.done = [&calls](absl::StatusOr<HttpResponse>) { ++calls; };
  queue.Push(std::move(transfer));
  PendingTransfer out = queue.PopFront();
  EXPECT_EQ(out.request.url, "http://127.0.0.1/7");
  EXPECT_EQ(out.request.body, "payload");
  ASSERT_TRUE(out.done);
  out.done(absl::CancelledError("x"));
  EXPECT_EQ(calls, 1);
}

TEST(WaitQueueTest, RemoveTakesAWaitingEntryOutOfEveryIndex) {
  WaitQueue queue;
  queue.Push(Entry(1, kEpoch + absl::Seconds(1)));
  queue.Push(Entry(2, kEpoch + absl::Seconds(2)));
  queue.Push(Entry(3, kEpoch + absl::Seconds(3)));
  absl::optional<PendingTransfer> removed = queue.Remove(1);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->id, 1u);
  EXPECT_FALSE(queue.Contains(1));
  EXPECT_TRUE(queue.Contains(2));
  EXPECT_FALSE(queue.Remove(1).has_value());   // Twice: a no-op.
  EXPECT_FALSE(queue.Remove(42).has_value());  // Never queued.
  EXPECT_EQ(queue.size(), 2u);
  // Gone from the deadline index too: no stale earliest deadline.
  EXPECT_EQ(queue.EarliestDeadline(), kEpoch + absl::Seconds(2));
  EXPECT_EQ(queue.PopFront().id, 2u);
}

TEST(WaitQueueTest, EarliestDeadlineFollowsTheEntries) {
  WaitQueue queue;
  EXPECT_FALSE(queue.EarliestDeadline().has_value());
  queue.Push(Entry(1));
  EXPECT_EQ(queue.EarliestDeadline(), absl::InfiniteFuture());
  queue.Push(Entry(2, kEpoch + absl::Seconds(5)));
  queue.Push(Entry(3, kEpoch + absl::Seconds(3)));
  EXPECT_EQ(queue.EarliestDeadline(), kEpoch + absl::Seconds(3));
  queue.PopFront();  // 1
  queue.PopFront();  // 2
  EXPECT_EQ(queue.EarliestDeadline(), kEpoch + absl::Seconds(3));
  queue.PopFront();
  EXPECT_FALSE(queue.EarliestDeadline().has_value());
}

TEST(WaitQueueTest, PopExpiredReturnsDueEntriesEarliestFirst) {
  WaitQueue queue;
  queue.Push(Entry(1, kEpoch + absl::Seconds(3)));
  queue.Push(Entry(2));
  queue.Push(Entry(3, kEpoch + absl::Seconds(1)));
  queue.Push(Entry(4, kEpoch + absl::Seconds(3)));
  queue.Push(Entry(5, kEpoch + absl::Seconds(9)));
  EXPECT_TRUE(queue.PopExpired(kEpoch).empty());
  // A deadline equal to now has expired.
  EXPECT_THAT(Ids(queue.PopExpired(kEpoch + absl::Seconds(3))), ElementsAre(3, 1, 4));
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.PopFront().id, 2u);
  EXPECT_THAT(Ids(queue.PopExpired(absl::InfiniteFuture())), ElementsAre(5));
  EXPECT_TRUE(queue.empty());
}

TEST(WaitQueueTest, TakeAllEmptiesInArrivalOrder) {
  WaitQueue queue;
  for (TransferId id : {3, 1, 2}) queue.Push(Entry(id, kEpoch + absl::Seconds(id)));
  EXPECT_THAT(Ids(queue.TakeAll()), ElementsAre(3, 1, 2));
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.Contains(3));
  EXPECT_FALSE(queue.EarliestDeadline().has_value());
  queue.Push(Entry(3));  // The id may wait again once gone.
  EXPECT_EQ(queue.size(), 1u);
}

// The obvious model: a vector in arrival order, scanned linearly.
class ReferenceQueue {
 public:
  void Push(TransferId id, absl::Time deadline) { entries_.push_back({id, deadline}); }
  TransferId PopFront() {
    TransferId id = entries_.front().first;
    entries_.erase(entries_.begin());
    return id;
  }
  bool Remove(TransferId id) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [id](const auto& e) { return e.first == id; });
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
  }
  absl::optional<absl::Time> EarliestDeadline() const {
    if (entries_.empty()) return absl::nullopt;
    absl::Time earliest = absl::InfiniteFuture();
    for (const auto& e : entries_) earliest = std::min(earliest, e.second);
    return earliest;
  }
  std::vector<TransferId> PopExpired(absl::Time now) {
    std::vector<std::pair<TransferId, absl::Time>> expired;
    std::vector<std::pair<TransferId, absl::Time>> kept;
    for (const auto& e : entries_) (e.second <= now ? expired : kept).push_back(e);
    entries_ = kept;
    // Stable: arrival order among equal deadlines.
    std::stable_sort(expired.begin(), expired.end(),
                     [](const auto& a, const auto& b) { return a.second < b.second; });
    std::vector<TransferId> ids;
    for (const auto& e : expired) ids.push_back(e.first);
    return ids;
  }
  std::vector<TransferId> Ids() const {
    std::vector<TransferId> ids;
    for (const auto& e : entries_) ids.push_back(e.first);
    return ids;
  }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<TransferId, absl::Time>> entries_;
};

TEST(WaitQueueTest, RandomOperationsMatchTheReferenceModel) {
  // WAIT_QUEUE_SEED=<n> replays a printed seed.
  const char* replay = std::getenv("WAIT_QUEUE_SEED");
  const std::uint32_t seed = replay != nullptr
                                 ? static_cast<std::uint32_t>(std::strtoul(replay, nullptr, 10))
                                 : std::random_device{}();
  std::printf("WaitQueueTest seed: %u\n", seed);
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  for (int round = 0; round < 20; ++round) {
    std::mt19937 rng(seed + round);
    WaitQueue queue;
    ReferenceQueue model;
    TransferId next_id = 1;
    absl::Time now = kEpoch;
    for (int step = 0; step < 2000; ++step) {
      const int op = std::uniform_int_distribution<int>(0, 9)(rng);
      if (op <= 3) {
        // Few distinct deadlines so that ties occur; some never expire.
        const int slot = std::uniform_int_distribution<int>(0, 12)(rng);
        const absl::Time deadline =
            slot == 12 ? absl::InfiniteFuture() : now + absl::Milliseconds(10 * slot);
        // Ids arrive out of order, as they do in the client.
        const TransferId id = next_id + std::uniform_int_distribution<int>(0, 1)(rng);
        next_id += 2;
        queue.Push(Entry(id, deadline));
        model.Push(id, deadline);
      } else if (op <= 5) {
        if (model.size() == 0) continue;
        ASSERT_EQ(queue.PopFront().id, model.PopFront()) << "step " << step;
      } else if (op <= 7) {
        // Waiting, already gone, or never seen.
        const TransferId id = std::uniform_int_distribution<TransferId>(0, next_id)(rng);
        const bool expected = model.Remove(id);
        absl::optional<PendingTransfer> removed = queue.Remove(id);
        ASSERT_EQ(removed.has_value(), expected) << "step " << step << " id " << id;
        if (removed.has_value()) {
          ASSERT_EQ(removed->id, id);
        }
      } else {
        now += absl::Milliseconds(std::uniform_int_distribution<int>(0, 30)(rng));
        ASSERT_EQ(Ids(queue.PopExpired(now)), model.PopExpired(now)) << "step " << step;
      }
      ASSERT_EQ(queue.size(), model.size()) << "step " << step;
      ASSERT_EQ(queue.EarliestDeadline(), model.EarliestDeadline()) << "step " << step;
    }
    ASSERT_EQ(Ids(queue.TakeAll()), model.Ids());
  }
}

}  // namespace
}  // namespace leafsvc::http
