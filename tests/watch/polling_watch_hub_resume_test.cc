// Resumable watch in the hub: tokens, the history told again, kResync when
// it cannot be, lingering users.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "server/watch/polling_watch_hub.h"
#include "server/watch/resume_token.h"
#include "tests/watch/hub_fakes.h"
#include "tests/watch/observations.h"

namespace leafsvc::watch {
namespace {

TEST(HubResumeTest, EveryChangeCarriesAnIncreasingTokenAndSnapshotsTheLast) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder a;
  WatchId ia = *hub.Subscribe({"u1", "u2"}, &a);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  hub.OnResult("u2", Absent(), Source::kInitial);
  hub.OnResult("u1", Present("c1", "UNAUTHENTICATED"), Source::kPoll);
  hub.OnResult("u1", Present("c1", "UNAUTHENTICATED"), Source::kPoll);  // nothing new
  ASSERT_EQ(a.seen.size(), 3u);
  uint64_t last = 0;
  for (const Seen& s : a.seen) {
    std::optional<ResumePoint> p = DecodeResumeToken(s.token);
    ASSERT_TRUE(p.has_value()) << s.token;
    EXPECT_EQ(p->log_id, "test-log");
    EXPECT_GT(p->position.seq, last);
    last = p->position.seq;
  }
  Recorder b;
  hub.Subscribe({"u1", "u2"}, &b);
  ASSERT_EQ(b.seen.size(), 2u);
  EXPECT_EQ(b.seen[0].token, a.last_token());
  EXPECT_EQ(b.seen[1].token, a.last_token());
  hub.Unsubscribe(ia);
}

TEST(HubResumeTest, ResumeTellsExactlyTheMissedChangesAndNoSnapshot) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder keeper;  // keeps both users watched while the stream is gone
  hub.Subscribe({"u1", "u2", "u3"}, &keeper);
  Recorder a;
  WatchId ia = *hub.Subscribe({"u1", "u2", "u3"}, &a);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  hub.OnResult("u2", Present("c2", "OK"), Source::kInitial);
  hub.OnResult("u3", Absent(), Source::kInitial);
  const std::string token = a.last_token();
  hub.Unsubscribe(ia);
  // Missed: interleaved changes of u1 and u2; u3 does not change.
  hub.OnResult("u1", Present("c1", "UNAUTHENTICATED"), Source::kPoll);
  hub.OnResult("u2", Absent(), Source::kAlert);
  hub.OnResult("u1", Present("c9", "OK"), Source::kPoll);
  hub.OnResult("u3", Absent(), Source::kPoll);  // no change

  Recorder b;
  hub.Subscribe({"u1", "u2", "u3"}, &b, "", token);
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kStatusChanged},
                              {"u2", ChangeKind::kDeleted},
                              {"u1", ChangeKind::kReplaced}}));
  EXPECT_EQ(b.seen[2].credential, "c9");
  // Each told-again change carries the token the live one had.
  ASSERT_EQ(keeper.seen.size(), 6u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.seen[i].token, keeper.seen[3 + i].token);
  // And live changes follow.
  hub.OnResult("u3", Present("c3", "OK"), Source::kPoll);
  EXPECT_EQ(b.kinds().back(), std::make_pair(std::string("u3"), ChangeKind::kCreated));
}

TEST(HubResumeTest, ResumeAtTheLatestTokenSendsNothingUntilAChange) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder keeper, a;
  hub.Subscribe({"u1"}, &keeper);
  WatchId ia = *hub.Subscribe({"u1"}, &a);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  hub.Unsubscribe(ia);
  Recorder b;
  hub.Subscribe({"u1"}, &b, "", a.last_token());
  EXPECT_TRUE(b.seen.empty());  // up to date: the state has not moved since
  hub.OnResult("u1", Absent(), Source::kPoll);
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kDeleted}}));
}

TEST(HubResumeTest, UnusableTokensResyncEveryUser) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder keeper;
  hub.Subscribe({"u1"}, &keeper);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  const ResumePoint here = *DecodeResumeToken(keeper.last_token());
  int round = 0;
  for (const std::string& token : {
           std::string("garbage"),
           EncodeResumeToken({"another-process", here.position}),
           EncodeResumeToken({"test-log", {0, here.position.seq + 5}}),  // ahead of this hub
           EncodeResumeToken({"test-log", {7, 0}}),
           std::string(100000, 'A'),
       }) {
    Recorder b;
    const std::string u2 = "u2-" + std::to_string(++round);  // never read yet
    const WatchId ib = *hub.Subscribe({"u1", u2}, &b, "", token);
    // u1 is known: at once; u2 when its first read lands.
    EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kResync}})) << token;
    EXPECT_EQ(b.seen[0].credential, "c1");
    hub.OnResult(u2, Absent(), Source::kInitial);
    EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kResync}, {u2, ChangeKind::kResync}}));
    hub.Unsubscribe(ib);
  }
}

TEST(HubResumeTest, ResyncOfAFailingUserCarriesTheError) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder keeper;
  hub.Subscribe({"u1"}, &keeper);
  hub.OnResult("u1", Failed(), Source::kInitial);
  struct ErrorRecorder : Recorder {
    absl::Status error;
    void Enqueue(const std::string& user, const Change& c) override {
      Recorder::Enqueue(user, c);
      error = c.error;
    }
  } b;
  hub.Subscribe({"u1"}, &b, "", "garbage");
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kResync}}));
  EXPECT_TRUE(absl::IsUnavailable(b.error));
}

TEST(HubResumeTest, ATokenOlderThanTheHistoryResyncs) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock, /*history=*/3));
  Recorder keeper, a;
  hub.Subscribe({"u1"}, &keeper);
  WatchId ia = *hub.Subscribe({"u1"}, &a);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);  // 1
  const std::string old_token = a.last_token();
  hub.Unsubscribe(ia);
  hub.OnResult("u1", Present("c1", "A"), Source::kPoll);  // 2
  const std::string floor_token = keeper.last_token();
  for (const std::string& status : {"B", "C", "D"}) {  // 3, 4, 5: evict 1 and 2
    hub.OnResult("u1", Present("c1", status), Source::kPoll);
  }
  Recorder b;
  hub.Subscribe({"u1"}, &b, "", old_token);
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kResync}}));
  EXPECT_EQ(b.seen[0].status, "D");
  // At the floor: everything after it is still here.
  Recorder c;
  hub.Subscribe({"u1"}, &c, "", floor_token);
  EXPECT_EQ(c.kinds(), (Kinds{{"u1", ChangeKind::kStatusChanged},
                              {"u1", ChangeKind::kStatusChanged},
                              {"u1", ChangeKind::kStatusChanged}}));
  EXPECT_EQ(c.seen.back().status, "D");
}

TEST(HubResumeTest, AQuickRewatchContinuesFromTheLingeringState) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder a;
  WatchId ia = *hub.Subscribe({"u1"}, &a);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  hub.Unsubscribe(ia);
  EXPECT_EQ(polls.removed["u1"], 1);  // lingering is not read
  EXPECT_EQ(hub.users(), 0);
  clock.now += absl::Minutes(5);
  // Resumed: no snapshot yet (the state is not read again yet)...
  Recorder b;
  hub.Subscribe({"u1"}, &b, "", a.last_token());
  EXPECT_EQ(polls.added["u1"], 2);
  EXPECT_TRUE(b.seen.empty());
  // ... and the first read reports what really changed while nobody watched.
  hub.OnResult("u1", Absent(), Source::kInitial);
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kDeleted}}));
}

TEST(HubResumeTest, ANewWatchOfALingeringUserStartsFromItsLastState) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder a;
  WatchId ia = *hub.Subscribe({"u1"}, &a);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  hub.Unsubscribe(ia);
  Recorder b;
  hub.Subscribe({"u1"}, &b);
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kInitial}}));
  EXPECT_EQ(b.seen[0].credential, "c1");
  hub.OnResult("u1", Absent(), Source::kInitial);  // what changed meanwhile
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kInitial}, {"u1", ChangeKind::kDeleted}}));
}

// Until every user of a stream had its first change, the stream's tokens
// cannot vouch for the users it lacks: a resume from them resyncs. (In
// fleet mode a user first read after the token may be known here since
// long before it.)
TEST(HubResumeTest, TokensArePartialUntilEveryUserHadItsFirstChange) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder keeper;
  hub.Subscribe({"u1"}, &keeper);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  Recorder a;
  WatchId ia = *hub.Subscribe({"u1", "u2"}, &a);  // u2 not read yet
  ASSERT_EQ(a.seen.size(), 1u);
  ASSERT_TRUE(DecodeResumeToken(a.last_token())->partial);
  hub.OnResult("u1", Present("c1", "EXPIRED"), Source::kPoll);
  ASSERT_TRUE(DecodeResumeToken(a.last_token())->partial);
  const std::string partial = a.last_token();
  hub.OnResult("u2", Absent(), Source::kInitial);  // the last first change: full
  EXPECT_FALSE(DecodeResumeToken(a.last_token())->partial);
  const std::string full = a.last_token();
  hub.OnResult("u1", Present("c1", "OK"), Source::kPoll);
  EXPECT_FALSE(DecodeResumeToken(a.last_token())->partial);
  hub.Unsubscribe(ia);
  Recorder b;
  hub.Subscribe({"u1", "u2"}, &b, "", partial);
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kResync}, {"u2", ChangeKind::kResync}}));
  Recorder c;
  hub.Subscribe({"u1", "u2"}, &c, "", full);
  EXPECT_EQ(c.kinds(), (Kinds{{"u1", ChangeKind::kStatusChanged}}));
}

TEST(HubResumeTest, LingeringIsBoundedInTimeAndCount) {
  FakePolls polls;
  FakeClock clock;
  HubOptions options = Options(clock, /*history=*/2);
  options.linger = absl::Minutes(10);
  PollingWatchHub hub(&polls, options);
  std::map<std::string, std::string> tokens;
  for (const std::string& user : {"u1", "u2", "u3"}) {
    Recorder a;
    WatchId id = *hub.Subscribe({user}, &a);
    hub.OnResult(user, Present("c-" + user, "OK"), Source::kInitial);
    tokens[user] = a.last_token();
    hub.Unsubscribe(id);
  }
  // The history kept the last two changes only: u1's token is too old
  // anyway, and u1 lingered third: dropped. u3 still lingers.
  Recorder b;
  WatchId ib = *hub.Subscribe({"u3"}, &b, "", tokens["u3"]);
  EXPECT_TRUE(b.seen.empty());
  hub.OnResult("u3", Present("c-u3", "OK"), Source::kInitial);
  EXPECT_TRUE(b.seen.empty());  // continuous: nothing changed, nothing to say
  hub.Unsubscribe(ib);
  // Past the linger time the state is gone: a resume cannot vouch for it.
  clock.now += absl::Minutes(11);
  Recorder poke;  // any subscribe prunes
  hub.Unsubscribe(*hub.Subscribe({"u9"}, &poke));
  Recorder c;
  hub.Subscribe({"u3"}, &c, "", tokens["u3"]);
  EXPECT_TRUE(c.seen.empty());
  hub.OnResult("u3", Present("c-u3", "OK"), Source::kInitial);
  EXPECT_EQ(c.kinds(), (Kinds{{"u3", ChangeKind::kResync}}));
}

TEST(HubResumeTest, AUserFirstReadAfterTheTokenResyncs) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, Options(clock));
  Recorder a;
  WatchId ia = *hub.Subscribe({"u1"}, &a);
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  const std::string token = a.last_token();  // u2 never read before it
  hub.Unsubscribe(ia);
  Recorder keeper;
  hub.Subscribe({"u2"}, &keeper);
  hub.OnResult("u2", Present("c2", "OK"), Source::kInitial);
  Recorder b;
  hub.Subscribe({"u1", "u2"}, &b, "", token);
  EXPECT_EQ(b.kinds(), (Kinds{{"u2", ChangeKind::kResync}}));
  hub.OnResult("u1", Present("c1", "OK"), Source::kInitial);  // u1 continuous, unchanged
  EXPECT_EQ(b.kinds(), (Kinds{{"u2", ChangeKind::kResync}}));
}

// A client that keeps its view of each user across streams and checks each
// change against it: a missed change shows as a `previous` it did not have,
// or as a view that differs from the last read at the end.
struct View {
  bool known = false;
  bool error = false;
  std::string credential;  // "id/status", empty: none
};

std::string Describe(const std::optional<leaf::ProviderCredentials>& c) {
  return c ? c->id + "/" + c->status : "";
}

struct Client : Watcher {
  std::map<std::string, View>& view;
  std::string& token;
  std::vector<std::string>& problems;
  Client(std::map<std::string, View>& v, std::string& t, std::vector<std::string>& p)
      : view(v), token(t), problems(p) {}
  void Enqueue(const std::string& user, const Change& c) override {
    View& v = view[user];
    token = c.resume_token;
    switch (c.kind) {
      case ChangeKind::kInitial:
      case ChangeKind::kResync:
        v = {true, !c.error.ok(), Describe(c.current)};
        return;
      case ChangeKind::kError:
        v.known = true;
        v.error = true;
        return;
      default:
        if (!v.known || v.error || v.credential != Describe(c.previous)) {
          problems.push_back(user + ": " + std::string(ChangeKindName(c.kind)) + " from '" +
                             Describe(c.previous) + "' but the client had '" + v.credential + "'" +
                             (v.known ? "" : " (unknown)") + (v.error ? " (error)" : ""));
        }
        v = {true, false, Describe(c.current)};
    }
  }
  void Deliver() override {}
  void OnEnd(const absl::Status&) override {}
};

TEST(HubResumeTest, RandomDropsAndResumesNeverLoseAChange) {
  const uint32_t seed = std::random_device()();
  std::cout << "seed " << seed << "\n";
  std::mt19937 random(seed);
  for (int round = 0; round < 200; ++round) {
    FakePolls polls;
    FakeClock clock;
    HubOptions options = Options(clock, /*history=*/1 + random() % 12);
    options.linger = absl::Minutes(10);
    PollingWatchHub hub(&polls, options);
    const std::vector<std::string> users = {"u0", "u1", "u2", "u3"};
    std::map<std::string, View> view;
    std::string token;
    std::vector<std::string> problems;
    auto client = std::make_unique<Client>(view, token, problems);
    std::optional<WatchId> client_id = *hub.Subscribe(users, client.get());
    Recorder keeper;  // sometimes keeps some users watched (and read)
    std::optional<WatchId> keeper_id;
    std::vector<std::string> kept;
    auto watched = [&](const std::string& u) {
      return client_id.has_value() ||
             (keeper_id && std::find(kept.begin(), kept.end(), u) != kept.end());
    };
    auto read = [&](const std::string& u, int what) {
      static const char* const kStatus[] = {"OK", "EXPIRED"};
      Observation o = what < 4    ? Present(what < 2 ? "c1" : "c2", kStatus[what % 2])
                      : what == 4 ? Absent()
                                  : Failed();
      hub.OnResult(u, o, Source::kPoll);
    };
    for (int step = 0; step < 60; ++step) {
      switch (random() % 8) {
        case 0:
        case 1:
        case 2: {  // a read of a watched user
          const std::string& u = users[random() % users.size()];
          if (watched(u)) read(u, static_cast<int>(random() % 6));
          break;
        }
        case 3:  // the stream drops
          if (client_id) {
            hub.Unsubscribe(*client_id);
            client_id.reset();
          }
          break;
        case 4:  // the client resumes with its last token
          if (!client_id) {
            client = std::make_unique<Client>(view, token, problems);
            client_id = *hub.Subscribe(users, client.get(), "", token);
          }
          break;
        case 5:  // another stream comes or goes
          if (keeper_id) {
            hub.Unsubscribe(*keeper_id);
            keeper_id.reset();
          } else {
            kept.clear();
            for (const std::string& u : users) {
              if (random() % 2) kept.push_back(u);
            }
            if (!kept.empty()) keeper_id = *hub.Subscribe(kept, &keeper);
          }
          break;
        case 6:
          clock.now += absl::Minutes(random() % 12);
          break;
        case 7:
          if (random() % 4 == 0) token = "garbage";  // a client that lost its token
          break;
      }
    }
    if (!client_id) client_id = *hub.Subscribe(users, client.get(), "", token);
    // One last read of every user: the client ends with what it returned.
    for (const std::string& u : users) read(u, 2);
    for (const std::string& u : users) {
      EXPECT_TRUE(view[u].known && !view[u].error && view[u].credential == "c2/OK")
          << "seed " << seed << " round " << round << " " << u << ": '" << view[u].credential << "'"
          << (view[u].known ? "" : " (unknown)") << (view[u].error ? " (error)" : "");
    }
    EXPECT_TRUE(problems.empty()) << "seed " << seed << " round " << round << ": "
                                  << problems.front();
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace leafsvc::watch
