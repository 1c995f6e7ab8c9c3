#include "server/watch/polling_watch_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/errors/status_details.h"
#include "tests/watch/observations.h"

namespace leafsvc::watch {
namespace {

struct FakePolls final : PollControl {
  absl::Mutex mu;
  std::map<std::string, int> added, removed, prompted;
  void Add(const std::string& user) override {
    absl::MutexLock lock(&mu);
    ++added[user];
  }
  void Remove(const std::string& user) override {
    absl::MutexLock lock(&mu);
    ++removed[user];
  }
  bool PollNow(const std::string& user, Source) override {
    absl::MutexLock lock(&mu);
    return ++prompted[user] == 1;
  }
};

// Records what it is handed, in order (single-threaded tests).
struct Recorder : Watcher {
  std::vector<std::pair<std::string, ChangeKind>> changes;
  int enqueued = 0, delivered = 0;
  std::optional<absl::Status> ended;
  void Enqueue(const std::string& user, const Change& c) override {
    changes.emplace_back(user, c.kind);
    ++enqueued;
  }
  void Deliver() override { ++delivered; }
  void OnEnd(const absl::Status& status) override { ended = status; }
};

using Registry = PollingWatchHub;  // the old name, in the tests ported as they were
using RegistryOptions = HubOptions;

TEST(PollingWatchHubTest, OneReadPerUserHoweverManyWatchers) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  ASSERT_TRUE(registry.Subscribe({"u1", "u2"}, &a).ok());
  ASSERT_TRUE(registry.Subscribe({"u1"}, &b).ok());
  EXPECT_EQ(polls.added["u1"], 1);
  EXPECT_EQ(polls.added["u2"], 1);
  EXPECT_EQ(registry.streams(), 2);
  EXPECT_EQ(registry.users(), 2);

  registry.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  registry.OnResult("u1", Present("c1", "UNAUTHENTICATED"), Source::kPoll);
  using P = std::pair<std::string, ChangeKind>;
  EXPECT_EQ(a.changes,
            (std::vector<P>{{"u1", ChangeKind::kInitial}, {"u1", ChangeKind::kStatusChanged}}));
  EXPECT_EQ(b.changes, a.changes);
}

TEST(PollingWatchHubTest, ALateWatcherStartsFromTheSnapshot) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  ASSERT_TRUE(registry.Subscribe({"u1"}, &a).ok());
  registry.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  ASSERT_TRUE(registry.Subscribe({"u1"}, &b).ok());
  EXPECT_EQ(polls.added["u1"], 1);
  ASSERT_EQ(b.changes.size(), 1u);
  EXPECT_EQ(b.changes[0].second, ChangeKind::kInitial);
}

TEST(PollingWatchHubTest, LastWatcherLeavingStopsTheReads) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  WatchId ia = *registry.Subscribe({"u1", "u2"}, &a);
  WatchId ib = *registry.Subscribe({"u1"}, &b);
  registry.Unsubscribe(ia);
  EXPECT_EQ(polls.removed["u2"], 1);
  EXPECT_EQ(polls.removed["u1"], 0);
  registry.Unsubscribe(ia);  // idempotent
  registry.Unsubscribe(ib);
  EXPECT_EQ(polls.removed["u1"], 1);
  EXPECT_EQ(registry.users(), 0);
  registry.OnResult("u1", Present("c1", "OK"), Source::kPoll);  // late: ignored
  EXPECT_TRUE(b.changes.empty());
}

TEST(PollingWatchHubTest, LimitsAreResourceExhausted) {
  FakePolls polls;
  RegistryOptions options;
  options.limits.max_streams = 2;
  options.limits.max_users = 3;
  Registry registry(&polls, options);
  Recorder w;
  ASSERT_TRUE(registry.Subscribe({"u1", "u2"}, &w).ok());
  absl::StatusOr<WatchId> too_many_users = registry.Subscribe({"u3", "u4"}, &w);
  EXPECT_TRUE(absl::IsResourceExhausted(too_many_users.status()));
  EXPECT_EQ(GetStatusDetails(too_many_users.status()).reason, "TOO_MANY_WATCHED_USERS");
  ASSERT_TRUE(registry.Subscribe({"u1", "u3"}, &w).ok());  // only one new user
  absl::StatusOr<WatchId> too_many_streams = registry.Subscribe({"u1"}, &w);
  EXPECT_EQ(GetStatusDetails(too_many_streams.status()).reason, "TOO_MANY_WATCH_STREAMS");
  EXPECT_EQ(polls.added.count("u4"), 0u);
}

TEST(PollingWatchHubTest, PromptMapsTheCredentialIdToItsUser) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder w;
  ASSERT_TRUE(registry.Subscribe({"u1"}, &w).ok());
  EXPECT_EQ(registry.Prompt("c1"), PromptResult::kUnknownCredential);  // not read yet
  registry.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  EXPECT_EQ(registry.Prompt("c1"), PromptResult::kPrompted);
  EXPECT_EQ(polls.prompted["u1"], 1);
  // The poller had a read coming already: the alert cost nothing.
  EXPECT_EQ(registry.Prompt("c1"), PromptResult::kCoalesced);
  registry.OnResult("u1", Present("c2", "OK"), Source::kPoll);  // replaced
  EXPECT_EQ(registry.Prompt("c1"), PromptResult::kUnknownCredential);
  EXPECT_EQ(registry.Prompt("c2"), PromptResult::kCoalesced);
}

TEST(PollingWatchHubTest, ShutdownEndsEveryWatchAndRefusesNewOnes) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  ASSERT_TRUE(registry.Subscribe({"u1"}, &a).ok());
  ASSERT_TRUE(registry.Subscribe({"u2"}, &b).ok());
  registry.Shutdown(absl::UnavailableError("bye"));
  ASSERT_TRUE(a.ended.has_value());
  ASSERT_TRUE(b.ended.has_value());
  EXPECT_TRUE(absl::IsUnavailable(*a.ended));
  EXPECT_EQ(polls.removed["u1"], 1);
  EXPECT_EQ(polls.removed["u2"], 1);
  absl::StatusOr<WatchId> late = registry.Subscribe({"u1"}, &a);
  EXPECT_TRUE(absl::IsUnavailable(late.status()));
  EXPECT_EQ(GetStatusDetails(late.status()).reason, "SHUTTING_DOWN");
}

TEST(PollingWatchHubTest, OneCallerCannotTakeEveryUserSlot) {
  FakePolls polls;
  RegistryOptions options;
  options.limits.max_users = 10;
  options.limits.max_users_per_caller = 3;
  Registry registry(&polls, options);
  Recorder w;
  WatchId first = *registry.Subscribe({"u1", "u2"}, &w, "ip:10.0.0.1");
  WatchId second = *registry.Subscribe({"u2", "u3"}, &w, "ip:10.0.0.1");  // u2: 1 slot
  absl::StatusOr<WatchId> over = registry.Subscribe({"u4"}, &w, "ip:10.0.0.1");
  EXPECT_TRUE(absl::IsResourceExhausted(over.status()));
  EXPECT_EQ(GetStatusDetails(over.status()).reason, "TOO_MANY_WATCHED_USERS_FOR_CALLER");
  EXPECT_NE(over.status().message().find("--watch_max_users_per_caller"), std::string::npos);
  // Users it already watches cost it nothing more.
  ASSERT_TRUE(registry.Subscribe({"u1", "u3"}, &w, "ip:10.0.0.1").ok());
  // Others still get slots, including for the same users.
  ASSERT_TRUE(registry.Subscribe({"u1", "u4", "u5"}, &w, "key:abc").ok());
  EXPECT_EQ(polls.added.count("u4"), 1u);
  // A slot is freed when the caller's last stream watching that user ends.
  registry.Unsubscribe(first);  // u1 and u2 are still watched by its other streams
  EXPECT_FALSE(registry.Subscribe({"u6"}, &w, "ip:10.0.0.1").ok());
  registry.Unsubscribe(second);  // frees u2 (u3 is still in the third)
  ASSERT_TRUE(registry.Subscribe({"u6"}, &w, "ip:10.0.0.1").ok());
  EXPECT_FALSE(registry.Subscribe({"u7"}, &w, "ip:10.0.0.1").ok());
}

TEST(PollingWatchHubTest, NoPerCallerCapWhenZero) {
  FakePolls polls;
  RegistryOptions options;
  options.limits.max_users = 5;
  options.limits.max_users_per_caller = 0;
  Registry registry(&polls, options);
  Recorder w;
  ASSERT_TRUE(registry.Subscribe({"u1", "u2", "u3", "u4", "u5"}, &w, "ip:10.0.0.1").ok());
  EXPECT_EQ(GetStatusDetails(registry.Subscribe({"u6"}, &w, "ip:10.0.0.1").status()).reason,
            "TOO_MANY_WATCHED_USERS");
}

// --- Deliveries happen outside the hub's lock ---

// Runs `f` on a thread and waits for it; a call that has not returned within
// `timeout` is a deadlock, which cannot be undone: abort with a message.
void WithinOrAbort(const char* what, std::function<void()> f,
                   absl::Duration timeout = absl::Seconds(30)) {
  absl::Notification done;
  std::thread t([&] {
    f();
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(timeout)) {
    std::cerr << what << " did not return within " << timeout << ": deadlock\n";
    std::abort();
  }
  t.join();
}

TEST(PollingWatchHubTest, ChangesAreEnqueuedUnderTheLockAndDeliveredAfter) {
  FakePolls polls;
  PollingWatchHub hub(&polls, {});
  Recorder a;
  ASSERT_TRUE(hub.Subscribe({"u1", "u2"}, &a).ok());
  EXPECT_EQ(a.delivered, 0);  // nothing known yet: nothing to deliver
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  EXPECT_EQ(a.enqueued, 1);
  EXPECT_EQ(a.delivered, 1);
  hub.OnResult("u1", Present("c1", "OK"), Source::kPoll);  // no change
  EXPECT_EQ(a.delivered, 1);
  Recorder b;
  ASSERT_TRUE(hub.Subscribe({"u1", "u2"}, &b).ok());  // u1's snapshot only
  EXPECT_EQ(b.enqueued, 1);
  EXPECT_EQ(b.delivered, 1);
}

// A watcher's Deliver calls the hub back: counts, a new subscription, its
// own Unsubscribe. Before the hub, the registry called watchers under its
// lock, so any of these deadlocked (or tripped absl's lock checks).
struct Reentrant final : Recorder {
  PollingWatchHub* hub = nullptr;
  WatchId id = 0;
  Recorder other;
  absl::StatusOr<WatchId> other_id = absl::UnknownError("not yet");
  int streams_seen = -1;
  void Deliver() override {
    Recorder::Deliver();
    streams_seen = hub->streams();
    other_id = hub->Subscribe({"u9"}, &other);
    if (id != 0) hub->Unsubscribe(id);  // from inside its own delivery
  }
};

TEST(PollingWatchHubTest, ADeliveryMayCallTheHub) {
  FakePolls polls;
  PollingWatchHub hub(&polls, {});
  Reentrant w;
  w.hub = &hub;
  w.id = *hub.Subscribe({"u1"}, &w);
  WithinOrAbort("a delivery calling the hub",
                [&] { hub.OnResult("u1", Present("c1", "OK"), Source::kInitial); });
  EXPECT_EQ(w.delivered, 1);
  EXPECT_EQ(w.streams_seen, 1);
  ASSERT_TRUE(w.other_id.ok()) << w.other_id.status();
  EXPECT_EQ(hub.streams(), 1);  // its own left, the one it opened stays
  hub.OnResult("u1", Present("c1", "UNAUTHENTICATED"), Source::kPoll);
  EXPECT_EQ(w.enqueued, 1) << "called after its Unsubscribe returned";
}

// Two streams of one user, each of which, when delivered to, makes the
// other leave (as a stream ending another's would). The one delivered to
// second in the same batch has left, from this very thread, before its turn:
// it must not be called (its owner may already have freed it).
TEST(PollingWatchHubTest, AWatcherThatLeftBeforeItsTurnIsNotCalled) {
  FakePolls polls;
  PollingWatchHub hub(&polls, {});
  struct Killer final : Recorder {
    PollingWatchHub* hub;
    Killer* other = nullptr;
    WatchId id = 0;
    bool gone = false;
    int calls_after_gone = 0;
    void Enqueue(const std::string& user, const Change& c) override {
      calls_after_gone += gone ? 1 : 0;
      Recorder::Enqueue(user, c);
    }
    void Deliver() override {
      calls_after_gone += gone ? 1 : 0;
      Recorder::Deliver();
      if (!other->gone) {
        hub->Unsubscribe(other->id);
        other->gone = true;
      }
    }
  } a, b;
  a.hub = b.hub = &hub;
  a.other = &b;
  b.other = &a;
  a.id = *hub.Subscribe({"u1"}, &a);
  b.id = *hub.Subscribe({"u1"}, &b);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  EXPECT_EQ(a.calls_after_gone + b.calls_after_gone, 0);
  EXPECT_EQ(a.delivered + b.delivered, 1);
  EXPECT_EQ(hub.streams(), 1);
}

// The same within one Shutdown: a watcher's OnEnd makes another leave; that
// one gets no OnEnd after its Unsubscribe returned.
TEST(PollingWatchHubTest, AWatcherThatLeftDuringShutdownGetsNoOnEnd) {
  FakePolls polls;
  PollingWatchHub hub(&polls, {});
  struct Ender final : Recorder {
    PollingWatchHub* hub;
    Ender* other = nullptr;
    WatchId id = 0;
    bool gone = false;
    int ends = 0, calls_after_gone = 0;
    void OnEnd(const absl::Status& status) override {
      calls_after_gone += gone ? 1 : 0;
      ++ends;
      if (!other->gone) {
        hub->Unsubscribe(other->id);
        other->gone = true;
      }
    }
  } a, b;
  a.hub = b.hub = &hub;
  a.other = &b;
  b.other = &a;
  a.id = *hub.Subscribe({"u1"}, &a);
  b.id = *hub.Subscribe({"u2"}, &b);
  hub.Shutdown(absl::UnavailableError("bye"));
  EXPECT_EQ(a.calls_after_gone + b.calls_after_gone, 0);
  EXPECT_EQ(a.ends + b.ends, 1);
}

TEST(PollingWatchHubTest, OnEndMayCallTheHub) {
  FakePolls polls;
  PollingWatchHub hub(&polls, {});
  struct Ender final : Recorder {
    PollingWatchHub* hub;
    WatchId id = 0;
    absl::Status resubscribe;
    void OnEnd(const absl::Status& status) override {
      Recorder::OnEnd(status);
      hub->Unsubscribe(id);
      resubscribe = hub->Subscribe({"u1"}, this).status();
    }
  } w;
  w.hub = &hub;
  w.id = *hub.Subscribe({"u1"}, &w);
  WithinOrAbort("OnEnd calling the hub", [&] { hub.Shutdown(absl::UnavailableError("bye")); });
  ASSERT_TRUE(w.ended.has_value());
  EXPECT_EQ(GetStatusDetails(w.resubscribe).reason, "SHUTTING_DOWN");
}

// A watcher whose Deliver blocks (a stuck write) and what others do
// meanwhile.
struct Blocking final : Watcher {
  absl::Notification entered, release;
  std::atomic<int> calls{0};
  void Enqueue(const std::string&, const Change&) override { ++calls; }
  void Deliver() override {
    ++calls;
    entered.Notify();
    release.WaitForNotification();
  }
  void OnEnd(const absl::Status&) override { ++calls; }
};

TEST(PollingWatchHubTest, ABlockedDeliveryHoldsUpNoOneElse) {
  FakePolls polls;
  PollingWatchHub hub(&polls, {});
  Blocking stuck;
  Recorder other;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &stuck).ok());
  ASSERT_TRUE(hub.Subscribe({"u2"}, &other).ok());
  std::thread poll([&] { hub.OnResult("u1", Present("c1", "OK"), Source::kInitial); });
  stuck.entered.WaitForNotification();
  // The hub's lock is free while `stuck` delivers.
  WithinOrAbort("the hub while a delivery is blocked", [&] {
    Recorder late;
    absl::StatusOr<WatchId> id = hub.Subscribe({"u1"}, &late);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(late.changes.size(), 1u);  // u1's state, delivered at once
    hub.OnResult("u2", Present("c2", "OK"), Source::kInitial);
    EXPECT_EQ(other.delivered, 1);
    EXPECT_EQ(hub.streams(), 3);
    EXPECT_EQ(hub.Prompt("c1"), PromptResult::kPrompted);
    hub.Unsubscribe(*id);
  });
  stuck.release.Notify();
  poll.join();
}

TEST(PollingWatchHubTest, UnsubscribeWaitsForADeliveryInProgress) {
  FakePolls polls;
  PollingWatchHub hub(&polls, {});
  auto stuck = std::make_unique<Blocking>();
  const WatchId id = *hub.Subscribe({"u1"}, stuck.get());
  std::thread poll([&] { hub.OnResult("u1", Present("c1", "OK"), Source::kInitial); });
  stuck->entered.WaitForNotification();
  std::atomic<bool> returned{false};
  std::thread leave([&] {
    hub.Unsubscribe(id);
    returned = true;
  });
  // Not a timing assertion that can fail wrongly: Unsubscribe must not
  // return while the delivery runs, however long we look.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(returned.load()) << "Unsubscribe returned while its watcher was being called";
  stuck->release.Notify();
  leave.join();
  poll.join();
  const int calls = stuck->calls.load();
  stuck.reset();  // what a stream's end does once Unsubscribe returned
  hub.OnResult("u1", Present("c1", "UNAUTHENTICATED"), Source::kPoll);
  EXPECT_EQ(calls, 2);  // the Enqueue and Deliver of the first read
}

// --- Alerts arrive on the bus ---

struct CountingObserver final : HubObserver {
  absl::Mutex mu;
  std::map<std::string, int> alerts, polls, sent;
  std::pair<int, int> counts{-1, -1};
  void OnCounts(int streams, int users) override {
    absl::MutexLock lock(&mu);
    counts = {streams, users};
  }
  void OnChangeSent(ChangeKind kind) override {
    absl::MutexLock lock(&mu);
    ++sent[std::string(ChangeKindName(kind))];
  }
  void OnPoll(Observation::Kind kind, Source source) override {
    absl::MutexLock lock(&mu);
    ++polls[absl::StrCat(static_cast<int>(kind), "/", SourceName(source))];
  }
  void OnAlert(PromptResult result) override {
    absl::MutexLock lock(&mu);
    ++alerts[std::string(PromptResultName(result))];
  }
};

TEST(PollingWatchHubTest, AlertsOnTheBusRingThePollAndAreCountedHere) {
  FakePolls polls;
  LocalAlertBus bus;
  CountingObserver observer;
  HubOptions options;
  options.alerts = &bus;
  options.observer = &observer;
  {
    PollingWatchHub hub(&polls, options);
    Recorder w;
    ASSERT_TRUE(hub.Subscribe({"u1"}, &w).ok());
    EXPECT_EQ(observer.counts, std::make_pair(1, 1));
    hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
    bus.Publish({"c1", "AgLeader", "AgLeaderCredentials", "credentialsUnauthenticated", "X"});
    bus.Publish({"c1", "AgLeader", "AgLeaderCredentials", "credentialsUnauthenticated", "X"});
    bus.Publish({"c-unknown", "AgLeader", "", "", ""});
    EXPECT_EQ(polls.prompted["u1"], 2);
    EXPECT_EQ(observer.alerts["prompted"], 1);
    EXPECT_EQ(observer.alerts["coalesced"], 1);
    EXPECT_EQ(observer.alerts["unknown_credential"], 1);
    EXPECT_EQ(observer.sent["initial"], 1);
    EXPECT_EQ(observer.polls["0/initial"], 1);
  }
  // The hub left the bus when it went.
  bus.Publish({"c1", "AgLeader", "", "", ""});
  EXPECT_EQ(polls.prompted["u1"], 2);
}

TEST(PollingWatchHubTest, PromptResultNamesAreTheMetricLabels) {
  EXPECT_EQ(PromptResultName(PromptResult::kPrompted), "prompted");
  EXPECT_EQ(PromptResultName(PromptResult::kCoalesced), "coalesced");
  EXPECT_EQ(PromptResultName(PromptResult::kUnknownCredential), "unknown_credential");
}

}  // namespace
}  // namespace leafsvc::watch
