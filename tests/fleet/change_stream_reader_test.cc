// The change-stream reader against a real redis-server (backfill, tailing,
// kill, pause, trimming while away, Stop with commands in flight), and its
// gap check on hand-made XINFO answers. Bounds are generous: a hang fails
// them, a slow machine does not.
#include "server/fleet/change_stream_reader.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/redis_reply.h"
#include "server/watch/change_position.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::kHang;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::StateLog;
using ::leafsvc::fleet::testing::UpClient;
using ::leafsvc::fleet::testing::WaitUntil;
using ::leafsvc::testing::RedisServer;
using ::leafsvc::watch::ChangePosition;
using Fields = ChangeStreamReaderCallbacks::Fields;

constexpr char kKey[] = "agleader:changes";

ChangePosition Pos(const std::string& id) { return *ChangePosition::Parse(id); }

// What the callbacks heard, checked as it comes: ids strictly increase.
class Heard {
 public:
  ChangeStreamReaderCallbacks Callbacks() {
    ChangeStreamReaderCallbacks c;
    c.entry = [this](std::string id, Fields fields) {
      absl::MutexLock lock(&mu_);
      if (!ids_.empty()) {
        EXPECT_LT(Pos(ids_.back()), Pos(id)) << "out of order or twice: " << id;
      }
      ids_.push_back(std::move(id));
      fields_.push_back(std::move(fields));
      threads_.insert(std::this_thread::get_id());
    };
    c.floor = [this](ChangePosition f) {
      absl::MutexLock lock(&mu_);
      if (!floors_.empty()) EXPECT_LT(floors_.back(), f) << "the floor went back";
      floors_.push_back(f);
    };
    return c;
  }
  std::vector<std::string> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }
  std::vector<Fields> fields() {
    absl::MutexLock lock(&mu_);
    return fields_;
  }
  std::vector<ChangePosition> floors() {
    absl::MutexLock lock(&mu_);
    return floors_;
  }
  std::set<std::thread::id> threads() {
    absl::MutexLock lock(&mu_);
    return threads_;
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return ids_.size();
  }
  bool WaitCount(size_t n, absl::Duration limit = kHang) {
    return WaitUntil([&] { return count() >= n; }, limit);
  }
  bool WaitFloors(size_t n, absl::Duration limit = kHang) {
    return WaitUntil([&] { return floors().size() >= n; }, limit);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
  std::vector<Fields> fields_ ABSL_GUARDED_BY(mu_);
  std::vector<ChangePosition> floors_ ABSL_GUARDED_BY(mu_);
  std::set<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

std::string Xadd(RedisClient& c, const std::string& user) {
  absl::StatusOr<RedisReply> r = Call(c, {"XADD", kKey, "*", "user", user, "version", "1"});
  EXPECT_TRUE(r.ok() && r->type == RedisReply::Type::kString)
      << (r.ok() ? r->DebugString() : r.status().ToString());
  return r.ok() ? r->str : "";
}

// Every id in the stream, oldest first.
std::vector<std::string> AllIds(RedisClient& c) {
  std::vector<std::string> ids;
  absl::StatusOr<RedisReply> r = Call(c, {"XRANGE", kKey, "-", "+"});
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return ids;
  for (const RedisReply& e : r->elements) ids.push_back(e.elements[0].str);
  return ids;
}

// A Redis, an admin client, and a reader on a client of its own.
class ChangeStreamReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::Available()) GTEST_SKIP() << "redis-server is missing";
    ASSERT_TRUE(server_.Start().ok());
    admin_ = UpClient(OptionsFor(server_), &admin_states_);
    ASSERT_NE(admin_, nullptr);
  }

  // The reader's client (reported up before this returns) and the reader.
  void MakeReader(ChangeStreamReaderOptions options = {},
                  std::optional<RedisClientOptions> given = std::nullopt) {
    RedisClientOptions client_options = given ? *given : OptionsFor(server_);
    client_options.on_state = [this](bool up) {
      reader_states_.Callback()(up);
      ChangeStreamReader* r = forward_.load();
      if (up && r != nullptr) r->OnRedisUp();
    };
    client_ = UpClient(client_options, &reader_states_);
    ASSERT_NE(client_, nullptr);
    absl::StatusOr<RedisReply> id = Call(*client_, {"CLIENT", "ID"});
    ASSERT_TRUE(id.ok());
    connection_id_ = id->integer;
    if (options.stream_key.empty()) options.stream_key = kKey;
    absl::StatusOr<std::unique_ptr<ChangeStreamReader>> r =
        ChangeStreamReader::Create(client_.get(), options, heard_.Callbacks());
    ASSERT_TRUE(r.ok()) << r.status();
    reader_ = *std::move(r);
    forward_ = reader_.get();
  }

  void TearDown() override {
    forward_ = nullptr;
    reader_.reset();  // before its client
  }

  RedisServer server_;
  StateLog admin_states_;
  std::unique_ptr<RedisClient> admin_;
  StateLog reader_states_;
  std::atomic<ChangeStreamReader*> forward_{nullptr};
  std::unique_ptr<RedisClient> client_;
  std::int64_t connection_id_ = -1;
  Heard heard_;
  std::unique_ptr<ChangeStreamReader> reader_;
};

TEST(ChangeStreamReaderCreateTest, RefusesBadOptions) {
  RedisClientOptions nowhere;
  nowhere.port = 1;  // stays down; nothing is sent anyway
  auto client = *RedisClient::Create(nowhere);
  ChangeStreamReaderOptions good;
  good.stream_key = kKey;
  ChangeStreamReaderCallbacks cb;
  cb.entry = [](std::string, Fields) {};
  auto code = [&](RedisClient* c, ChangeStreamReaderOptions o, ChangeStreamReaderCallbacks k) {
    return ChangeStreamReader::Create(c, std::move(o), std::move(k)).status().code();
  };
  EXPECT_EQ(code(nullptr, good, cb), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(client.get(), good, {}), absl::StatusCode::kInvalidArgument)
      << "no entry callback";
  ChangeStreamReaderOptions o = good;
  o.stream_key = "";
  EXPECT_EQ(code(client.get(), o, cb), absl::StatusCode::kInvalidArgument);
  o = good;
  o.history = 0;
  EXPECT_EQ(code(client.get(), o, cb), absl::StatusCode::kInvalidArgument);
  o = good;
  o.count = 0;
  EXPECT_EQ(code(client.get(), o, cb), absl::StatusCode::kInvalidArgument);
  o = good;
  o.block = absl::Microseconds(10);
  EXPECT_EQ(code(client.get(), o, cb), absl::StatusCode::kInvalidArgument);
  o = good;
  o.command_timeout = absl::ZeroDuration();
  EXPECT_EQ(code(client.get(), o, cb), absl::StatusCode::kInvalidArgument);
  // Redis unreachable: Start retries quietly, Stop ends it.
  auto reader = ChangeStreamReader::Create(client.get(), good, cb);
  ASSERT_TRUE(reader.ok());
  (*reader)->Start();
  ASSERT_TRUE(WaitUntil([&] { return (*reader)->failures() >= 2; }));
  (*reader)->Stop();
  EXPECT_EQ((*reader)->delivered(), 0u);
}

TEST_F(ChangeStreamReaderTest, BackfillsTheNewestHistoryOldestFirstThenTails) {
  std::vector<std::string> added;
  for (int i = 0; i < 50; ++i) added.push_back(Xadd(*admin_, absl::StrCat("user-", i)));
  // Binary-safe fields, as stored.
  const std::string odd("a\0b\xff", 4);
  ASSERT_TRUE(Call(*admin_, {"XADD", kKey, "*", "obs", odd, "empty", ""}).ok());
  added.push_back(AllIds(*admin_).back());
  ChangeStreamReaderOptions o;
  o.history = 20;
  MakeReader(o);
  reader_->Start();
  ASSERT_TRUE(heard_.WaitCount(20));
  ASSERT_TRUE(heard_.WaitFloors(1));
  const std::vector<std::string> want(added.end() - 20, added.end());
  EXPECT_EQ(heard_.ids(), want);
  EXPECT_EQ(heard_.floors().front(), Pos(want.front())) << "history complete from the oldest";
  const Fields first = heard_.fields().front();
  EXPECT_EQ(first, (Fields{{"user", "user-31"}, {"version", "1"}}));
  EXPECT_EQ(heard_.fields().back(), (Fields{{"obs", odd}, {"empty", ""}}));

  const std::string live = Xadd(*admin_, "live");
  ASSERT_TRUE(heard_.WaitCount(21));
  EXPECT_EQ(heard_.ids().back(), live);
  EXPECT_EQ(heard_.floors().size(), 1u);
  EXPECT_EQ(reader_->gaps(), 0u);
  // On the client's thread, not the caller's.
  ASSERT_EQ(heard_.threads().size(), 1u);
  EXPECT_NE(*heard_.threads().begin(), std::this_thread::get_id());
}

TEST_F(ChangeStreamReaderTest, AMissingStreamIsCompleteFromTheStart) {
  MakeReader();
  reader_->Start();
  ASSERT_TRUE(heard_.WaitFloors(1));
  EXPECT_EQ(heard_.floors().front(), (ChangePosition{0, 1}));
  const std::string a = Xadd(*admin_, "a");
  ASSERT_TRUE(heard_.WaitCount(1));
  EXPECT_EQ(heard_.ids(), std::vector<std::string>{a});
}

TEST_F(ChangeStreamReaderTest, AnEmptiedStreamIsCompleteOnlyAfterItsLastId) {
  Xadd(*admin_, "x");
  const std::string gone = Xadd(*admin_, "y");
  ASSERT_TRUE(Call(*admin_, {"XTRIM", kKey, "MAXLEN", "0"}).ok());
  MakeReader();
  reader_->Start();
  ASSERT_TRUE(heard_.WaitFloors(1));
  const ChangePosition g = Pos(gone);
  EXPECT_EQ(heard_.floors().front(), (ChangePosition{g.ms, g.seq + 1}));
  const std::string b = Xadd(*admin_, "b");
  ASSERT_TRUE(heard_.WaitCount(1));
  EXPECT_EQ(heard_.ids(), std::vector<std::string>{b});
}

// Readers start while another client appends as fast as it can: each one
// delivers the whole stream from its first entry, none lost between the
// backfill and the first XREAD, none twice.
TEST_F(ChangeStreamReaderTest, NothingIsLostBetweenTheBackfillAndTheFirstRead) {
  StateLog writer_states;
  auto writer = UpClient(OptionsFor(server_), &writer_states);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread appender([&] {
    for (int i = 0; !stop.load(); ++i) {
      Xadd(*writer, absl::StrCat("w-", i));
      written.fetch_add(1);
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return written.load() >= 50; }));
  constexpr int kReaders = 4;
  std::vector<std::unique_ptr<Heard>> heard;
  std::vector<std::unique_ptr<RedisClient>> clients;
  std::vector<std::unique_ptr<ChangeStreamReader>> readers;
  for (int r = 0; r < kReaders; ++r) {
    StateLog states;
    clients.push_back(UpClient(OptionsFor(server_), &states));
    heard.push_back(std::make_unique<Heard>());
    ChangeStreamReaderOptions o;
    o.stream_key = kKey;
    o.history = 1000000;  // all of it
    o.count = 7;          // many small reads
    readers.push_back(
        *ChangeStreamReader::Create(clients.back().get(), o, heard.back()->Callbacks()));
    readers.back()->Start();
    const int at = written.load();
    ASSERT_TRUE(WaitUntil([&] { return written.load() >= at + 30; }));
  }
  absl::SleepFor(absl::Milliseconds(200));
  stop.store(true);
  appender.join();
  const std::vector<std::string> all = AllIds(*admin_);
  for (int r = 0; r < kReaders; ++r) {
    ASSERT_TRUE(heard[r]->WaitCount(all.size())) << "reader " << r;
    EXPECT_EQ(heard[r]->ids(), all) << "reader " << r;
    EXPECT_EQ(heard[r]->floors(), std::vector<ChangePosition>{Pos(all.front())});
  }
  for (auto& r : readers) r.reset();
}

TEST_F(ChangeStreamReaderTest, RedisKilledAndRestartedContinuesWithNoDuplicate) {
  MakeReader();
  reader_->Start();
  ASSERT_TRUE(heard_.WaitFloors(1));
  for (int i = 0; i < 10; ++i) Xadd(*admin_, absl::StrCat("before-", i));
  ASSERT_TRUE(heard_.WaitCount(10));
  const ChangePosition last_before = Pos(heard_.ids().back());

  server_.Kill();
  ASSERT_TRUE(reader_states_.WaitFor(false));
  ASSERT_TRUE(server_.Restart().ok());  // empty: no persistence
  ASSERT_TRUE(admin_states_.WaitFor(true, 3));
  std::vector<std::string> after;
  for (int i = 0; i < 5; ++i) after.push_back(Xadd(*admin_, absl::StrCat("after-", i)));
  ASSERT_TRUE(heard_.WaitCount(15));
  absl::SleepFor(absl::Milliseconds(300));  // a duplicate would be here by now
  const std::vector<std::string> ids = heard_.ids();
  ASSERT_EQ(ids.size(), 15u);
  EXPECT_EQ(std::vector<std::string>(ids.begin() + 10, ids.end()), after);
  // The old stream is gone with whatever it held after our last entry:
  // tokens up to it must resync.
  EXPECT_EQ(reader_->gaps(), 1u);
  ASSERT_EQ(heard_.floors().size(), 2u);
  EXPECT_GT(heard_.floors().back(), last_before);
}

TEST_F(ChangeStreamReaderTest, StartsWhileRedisIsDownAndBackfillsOnceItIsUp) {
  Xadd(*admin_, "kept-out");  // lost with the kill below
  MakeReader();
  server_.Kill();
  ASSERT_TRUE(reader_states_.WaitFor(false));
  reader_->Start();
  ASSERT_TRUE(WaitUntil([&] { return reader_->failures() >= 1; }));
  ASSERT_TRUE(server_.Restart().ok());
  ASSERT_TRUE(admin_states_.WaitFor(true, 3));
  const std::string a = Xadd(*admin_, "a");
  ASSERT_TRUE(heard_.WaitCount(1));
  ASSERT_TRUE(heard_.WaitFloors(1));
  EXPECT_EQ(heard_.ids(), std::vector<std::string>{a});
  EXPECT_LE(heard_.floors().front(), Pos(a));
}

// The reader's connection is cut and comes back 1 to 2 s later; meanwhile
// entries are appended, and (second case) most of them trimmed.
class AwayTest : public ChangeStreamReaderTest {
 protected:
  // Cuts the reader's connection, appends `n`, keeps the newest `keep`
  // (all when negative), and returns what the stream then holds after the
  // reader's last entry.
  std::vector<std::string> AwayWhile(int n, int keep) {
    RedisClientOptions slow = OptionsFor(server_);
    slow.min_reconnect_backoff = absl::Seconds(2);
    slow.max_reconnect_backoff = absl::Seconds(2);
    MakeReader({}, slow);
    reader_->Start();
    EXPECT_TRUE(heard_.WaitFloors(1));  // started on a missing stream
    for (int i = 0; i < 5; ++i) Xadd(*admin_, absl::StrCat("seen-", i));
    EXPECT_TRUE(heard_.WaitCount(5));
    EXPECT_EQ(*Call(*admin_, {"CLIENT", "KILL", "ID", absl::StrCat(connection_id_)}),
              RedisReply::Integer(1));
    EXPECT_TRUE(reader_states_.WaitFor(false, 2));
    for (int i = 0; i < n; ++i) Xadd(*admin_, absl::StrCat("away-", i));
    if (keep >= 0) {
      EXPECT_TRUE(Call(*admin_, {"XTRIM", kKey, "MAXLEN", absl::StrCat(keep)}).ok());
    }
    EXPECT_FALSE(client_->up()) << "the reader came back too early for this test to mean much";
    std::vector<std::string> rest = AllIds(*admin_);
    const ChangePosition last = Pos(heard_.ids().back());
    rest.erase(std::remove_if(rest.begin(), rest.end(),
                              [&](const std::string& id) { return Pos(id) <= last; }),
               rest.end());
    return rest;
  }
};

TEST_F(AwayTest, EntriesTrimmedMeanwhileMoveTheFloorToTheFirstEntry) {
  const std::vector<std::string> rest = AwayWhile(100, 10);
  ASSERT_EQ(rest.size(), 10u);
  ASSERT_TRUE(heard_.WaitCount(15));
  absl::SleepFor(absl::Milliseconds(300));
  const std::vector<std::string> ids = heard_.ids();
  EXPECT_EQ(std::vector<std::string>(ids.begin() + 5, ids.end()), rest);
  ASSERT_EQ(heard_.floors().size(), 2u);
  EXPECT_EQ(heard_.floors().back(), Pos(rest.front()));
  EXPECT_EQ(reader_->gaps(), 1u);
}

TEST_F(AwayTest, NothingTrimmedMeanwhileMeansNoNewFloor) {
  const std::vector<std::string> rest = AwayWhile(100, -1);
  ASSERT_EQ(rest.size(), 100u);
  ASSERT_TRUE(heard_.WaitCount(105));
  absl::SleepFor(absl::Milliseconds(300));
  const std::vector<std::string> ids = heard_.ids();
  EXPECT_EQ(std::vector<std::string>(ids.begin() + 5, ids.end()), rest);
  EXPECT_EQ(heard_.floors().size(), 1u);
  EXPECT_EQ(reader_->gaps(), 0u);
}

// Trimmed up to exactly the reader's last entry: nothing it had not seen
// was lost, so no new floor (the count of entries added tells).
TEST_F(AwayTest, OnlySeenEntriesTrimmedMeansNoNewFloor) {
  const std::vector<std::string> rest = AwayWhile(20, 20);
  ASSERT_EQ(rest.size(), 20u);
  ASSERT_TRUE(heard_.WaitCount(25));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(heard_.floors().size(), 1u);
  EXPECT_EQ(reader_->gaps(), 0u);
}

TEST_F(ChangeStreamReaderTest, APausedRedisCostsBoundedWaitsThenFlowsAgain) {
  ChangeStreamReaderOptions o;
  o.block = absl::Seconds(1);
  o.command_timeout = absl::Milliseconds(500);
  MakeReader(o);
  reader_->Start();
  Xadd(*admin_, "before");
  ASSERT_TRUE(heard_.WaitCount(1));

  const std::uint64_t reads_before = reader_->read_commands();
  server_.Pause();
  const absl::Time paused = absl::Now();
  // The XREAD in flight gives up within block + command_timeout.
  ASSERT_TRUE(WaitUntil([&] { return reader_->failures() >= 1; }, absl::Seconds(10)));
  const absl::Duration waited = absl::Now() - paused;
  absl::SleepFor(absl::Seconds(4) - (absl::Now() - paused));
  const std::uint64_t reads_paused = reader_->read_commands() - reads_before;
  server_.Resume();
  EXPECT_LE(waited, absl::Seconds(5)) << "XREAD's deadline is 1.5 s";
  EXPECT_LE(reads_paused, 30u) << "no busy loop against a paused Redis";

  const std::string after = Xadd(*admin_, "after");
  ASSERT_TRUE(heard_.WaitCount(2));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(heard_.ids().back(), after);
  EXPECT_EQ(heard_.count(), 2u);
  EXPECT_EQ(reader_->gaps(), 0u);
}

TEST_F(ChangeStreamReaderTest, DestroyedWithAReadInFlightNothingRunsAfter) {
  MakeReader();
  reader_->Start();
  Xadd(*admin_, "one");
  ASSERT_TRUE(heard_.WaitCount(1));
  ASSERT_TRUE(WaitUntil([&] { return client_->pending() == 1; }));  // XREAD BLOCK
  forward_ = nullptr;
  reader_.reset();
  Xadd(*admin_, "two");
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(heard_.count(), 1u);
}

TEST_F(ChangeStreamReaderTest, StopWaitsForTheCallbackInProgressAndMayComeFromOne) {
  for (int i = 0; i < 200; ++i) Xadd(*admin_, absl::StrCat("u-", i));
  MakeReader();
  std::atomic<bool> in_callback{false};
  std::atomic<bool> stopped{false};
  std::atomic<int> late{0};
  std::atomic<int> calls{0};
  ChangeStreamReaderCallbacks cb;
  cb.entry = [&](std::string, Fields) {
    if (stopped.load()) late.fetch_add(1);
    in_callback = true;
    calls.fetch_add(1);
    absl::SleepFor(absl::Milliseconds(2));
    in_callback = false;
  };
  auto slow = *ChangeStreamReader::Create(client_.get(), {kKey}, cb);
  slow->Start();
  ASSERT_TRUE(WaitUntil([&] { return in_callback.load(); }));
  slow->Stop();
  stopped = true;
  EXPECT_FALSE(in_callback.load()) << "Stop returned during a callback";
  EXPECT_LT(calls.load(), 200);
  slow.reset();
  EXPECT_EQ(late.load(), 0);

  // From inside a callback: the rest of the batch is not delivered.
  std::unique_ptr<ChangeStreamReader> self_stopping;
  std::atomic<int> seen{0};
  ChangeStreamReaderCallbacks cb2;
  cb2.entry = [&](std::string, Fields) {
    if (seen.fetch_add(1) + 1 == 5) self_stopping->Stop();
  };
  self_stopping = *ChangeStreamReader::Create(client_.get(), {kKey}, cb2);
  self_stopping->Start();
  ASSERT_TRUE(WaitUntil([&] { return seen.load() >= 5; }));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(seen.load(), 5);
  self_stopping.reset();
}

}  // namespace
}  // namespace leafsvc::fleet
