// The fleet's shared watch state on a real redis-server: one stream entry
// per change of fingerprint (compare-and-set), stale fences refused, the
// record read back, entries parsed back, and no secret ever in Redis.
#include "server/fleet/shared_watch_state.h"

#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/fleet/poll_lease.h"
#include "server/fleet/redis_client.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::WaitUntil;
using ::leafsvc::testing::RedisServer;
using watch::ChangePosition;
using watch::LoggedObservation;
using watch::Observation;
using watch::Source;
using Published = SharedWatchState::Published;

constexpr char kStream[] = "agleader:watch:{leaf}:changes";
constexpr char kRecord[] = "agleader:watch:{leaf}:state:u1";
const absl::Time kWhen = absl::FromUnixMillis(1765000000123);

template <typename T>
absl::StatusOr<T> Wait(std::future<absl::StatusOr<T>>& f) {
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return absl::InternalError("no callback within 30 s");
  }
  return f.get();
}

Observation Present(const std::string& id, const std::string& status,
                    const std::string& refresh = "refresh-SECRET-value-0001") {
  Observation o;
  o.kind = Observation::Kind::kPresent;
  o.credentials.id = id;
  o.credentials.status = status;
  for (auto [name, value, secret] :
       {std::tuple<const char*, std::string, bool>{"refreshToken", refresh, true},
        {"publicKey", "public-key", false},
        {"privateKey", "private-SECRET-value-0002", true}}) {
    leaf::CredentialField f;
    f.name = name;
    f.value = Secret(value);
    f.secret = secret;
    o.credentials.fields.push_back(std::move(f));
  }
  return o;
}

Observation Absent() {
  Observation o;
  o.kind = Observation::Kind::kAbsent;
  return o;
}

struct Fixture {
  Fixture() {
    EXPECT_TRUE(server.Start().ok());
    absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Create(OptionsFor(server));
    EXPECT_TRUE(c.ok()) << c.status();
    client = *std::move(c);
    EXPECT_TRUE(WaitUntil([&] { return client->up(); }));
    SharedWatchStateOptions o;
    o.provider = &providers::AgLeaderSpec();
    state = *SharedWatchState::Create(client.get(), o);
    lease = std::make_unique<PollLease>(client.get(), "leaf", "r0");
  }

  absl::StatusOr<Published> Publish(std::uint64_t fence, const Observation& o,
                                    const std::string& user = "u1", Source source = Source::kPoll) {
    auto p = std::make_shared<std::promise<absl::StatusOr<Published>>>();
    auto f = p->get_future();
    state->Publish(user, fence, o, source, kWhen,
                   [p](absl::StatusOr<Published> r) { p->set_value(r); });
    return Wait(f);
  }
  absl::StatusOr<std::optional<Observation>> Get(const std::string& user = "u1") {
    auto p = std::make_shared<std::promise<absl::StatusOr<std::optional<Observation>>>>();
    auto f = p->get_future();
    state->Get(user, [p](absl::StatusOr<std::optional<Observation>> r) { p->set_value(r); });
    return Wait(f);
  }
  std::uint64_t Fence(PollLease& l, const std::string& user = "u1") {
    auto p = std::make_shared<std::promise<absl::StatusOr<std::uint64_t>>>();
    auto f = p->get_future();
    l.Acquire(user, absl::Seconds(60), [p](absl::StatusOr<std::uint64_t> r) { p->set_value(r); });
    absl::StatusOr<std::uint64_t> r = Wait(f);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(0);
  }
  std::vector<LoggedObservation> Entries() {
    absl::StatusOr<RedisReply> r = Call(*client, {"XRANGE", kStream, "-", "+"});
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<LoggedObservation> out;
    if (!r.ok()) return out;
    for (const RedisReply& e : r->elements) {
      absl::StatusOr<LoggedObservation> l = ParseEntry(e, &providers::AgLeaderSpec());
      EXPECT_TRUE(l.ok()) << l.status();
      if (l.ok()) out.push_back(*std::move(l));
    }
    return out;
  }

  RedisServer server;
  std::unique_ptr<RedisClient> client;
  std::unique_ptr<SharedWatchState> state;
  std::unique_ptr<PollLease> lease;
};

TEST(SharedWatchStateTest, OneEntryPerChangeWithPrevAndObs) {
  SKIP_WITHOUT_REDIS();
  Fixture fx;
  ASSERT_FALSE(fx.Get()->has_value());
  const std::uint64_t fence = fx.Fence(*fx.lease);

  absl::StatusOr<Published> first = fx.Publish(fence, Present("c1", "OK"), "u1", Source::kInitial);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->changed);
  EXPECT_FALSE(first->stale);
  EXPECT_GT(first->version, 0u);
  ASSERT_TRUE(first->position.has_value());
  EXPECT_EQ(first->known_since, first->position);  // a first record

  // The same fingerprint (another secret value): no entry, same version.
  absl::StatusOr<Published> same =
      fx.Publish(fence, Present("c1", "OK", "refresh-SECRET-value-9999"));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->version, first->version);
  EXPECT_EQ(same->position, first->position);
  EXPECT_EQ(same->known_since, first->known_since);
  EXPECT_EQ(fx.Entries().size(), 1u);

  absl::StatusOr<Published> second = fx.Publish(fence, Present("c1", "UNAUTHENTICATED"));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->changed);
  EXPECT_GT(second->version, first->version);
  EXPECT_GT(*second->position, *first->position);
  EXPECT_EQ(second->known_since, first->position);  // the history goes on

  const std::vector<LoggedObservation> entries = fx.Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].user, "u1");
  EXPECT_EQ(entries[0].position, *first->position);
  EXPECT_EQ(entries[0].source, Source::kInitial);
  EXPECT_EQ(entries[0].observed, kWhen);
  EXPECT_FALSE(entries[0].previous.has_value());
  EXPECT_EQ(entries[0].observation.version, first->version);
  EXPECT_EQ(entries[0].observation.known_since, first->position);
  EXPECT_EQ(entries[0].observation.position, first->position);
  EXPECT_EQ(entries[1].source, Source::kPoll);
  ASSERT_TRUE(entries[1].previous.has_value());
  EXPECT_EQ(entries[1].previous->credentials.status, "OK");
  EXPECT_EQ(entries[1].previous->version, first->version);
  EXPECT_EQ(entries[1].observation.credentials.status, "UNAUTHENTICATED");
  EXPECT_EQ(entries[1].observation.credentials.provider, &providers::AgLeaderSpec());
  EXPECT_EQ(entries[1].observation.version, second->version);
  EXPECT_EQ(entries[1].observation.known_since, first->position);
  EXPECT_EQ(entries[1].observation.credentials.fields[0].hint, "****0001");

  absl::StatusOr<std::optional<Observation>> got = fx.Get();
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((*got)->credentials.status, "UNAUTHENTICATED");
  EXPECT_EQ((*got)->version, second->version);
  EXPECT_EQ((*got)->position, second->position);
  EXPECT_EQ((*got)->known_since, first->position);
  EXPECT_TRUE((*got)->credentials.fields[0].value.empty());

  // Absent, then an error: each a change.
  EXPECT_TRUE(fx.Publish(fence, Absent())->changed);
  Observation error;
  error.kind = Observation::Kind::kError;
  error.error = MakeStatus(absl::StatusCode::kUnavailable, "Leaf is down",
                           StatusDetails{.reason = "LEAF_UNAVAILABLE"});
  EXPECT_TRUE(fx.Publish(fence, error)->changed);
  EXPECT_FALSE(fx.Publish(fence, error)->changed);
  EXPECT_EQ(fx.Entries().size(), 4u);
}

TEST(SharedWatchStateTest, UnchangedRefreshesTheRecordsTtl) {
  SKIP_WITHOUT_REDIS();
  Fixture fx;
  ASSERT_TRUE(fx.Publish(1, Absent()).ok());
  ASSERT_TRUE(Call(*fx.client, {"PEXPIRE", kRecord, "5000"}).ok());
  ASSERT_FALSE(fx.Publish(1, Absent())->changed);
  absl::StatusOr<RedisReply> ttl = Call(*fx.client, {"PTTL", kRecord});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 23 * 3600 * 1000);
}

TEST(SharedWatchStateTest, StaleFenceWritesNothing) {
  SKIP_WITHOUT_REDIS();
  Fixture fx;
  PollLease other(fx.client.get(), "leaf", "r1");
  const std::uint64_t old_fence = fx.Fence(*fx.lease);
  absl::StatusOr<Published> first = fx.Publish(old_fence, Present("c1", "OK"));
  ASSERT_TRUE(first.ok());
  // r0's lease is released and r1 gets a newer grant; r0's late write loses.
  ASSERT_TRUE(Call(*fx.client, {"DEL", "agleader:watch:{leaf}:lease:u1"}).ok());
  const std::uint64_t new_fence = fx.Fence(other);
  ASSERT_GT(new_fence, old_fence);
  absl::StatusOr<Published> stale = fx.Publish(old_fence, Present("c1", "UNAUTHENTICATED"));
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(stale->stale);
  EXPECT_FALSE(stale->changed);
  EXPECT_EQ(stale->version, first->version);
  EXPECT_EQ(fx.Entries().size(), 1u);
  EXPECT_EQ((*fx.Get())->credentials.status, "OK");
  // The new holder's write goes through.
  EXPECT_TRUE(fx.Publish(new_fence, Present("c1", "UNAUTHENTICATED"))->changed);
}

TEST(SharedWatchStateTest, VersionsKeepGrowingAfterTheRecordIsLost) {
  SKIP_WITHOUT_REDIS();
  Fixture fx;
  absl::StatusOr<Published> first = fx.Publish(1, Present("c1", "OK"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Call(*fx.client, {"DEL", kRecord}).ok());  // expired, or Redis restarted
  absl::StatusOr<Published> again = fx.Publish(1, Present("c1", "OK"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->changed);
  EXPECT_GT(again->version, first->version);
  EXPECT_EQ(again->known_since, again->position);  // a new history
}

// No secret value in any key, hash field, stream entry or DUMP of Redis.
TEST(SharedWatchStateTest, SecretsNeverReachRedis) {
  SKIP_WITHOUT_REDIS();
  Fixture fx;
  const std::uint64_t fence = fx.Fence(*fx.lease);
  ASSERT_TRUE(fx.Publish(fence, Present("c1", "OK")).ok());
  ASSERT_TRUE(fx.Publish(fence, Present("c2", "OK", "refresh-SECRET-value-0003")).ok());
  ASSERT_TRUE(fx.Publish(fence, Absent()).ok());
  absl::StatusOr<RedisReply> keys = Call(*fx.client, {"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  ASSERT_GE(keys->elements.size(), 4u);  // lease, fence, record, stream
  for (const RedisReply& k : keys->elements) {
    std::string seen = k.str;
    absl::StatusOr<RedisReply> dump = Call(*fx.client, {"DUMP", k.str});
    ASSERT_TRUE(dump.ok());
    seen += dump->str;
    absl::StatusOr<RedisReply> type = Call(*fx.client, {"TYPE", k.str});
    ASSERT_TRUE(type.ok());
    absl::StatusOr<RedisReply> content = type->str == "hash" ? Call(*fx.client, {"HGETALL", k.str})
                                         : type->str == "stream"
                                             ? Call(*fx.client, {"XRANGE", k.str, "-", "+"})
                                             : Call(*fx.client, {"GET", k.str});
    ASSERT_TRUE(content.ok());
    seen += content->DebugString();
    EXPECT_EQ(seen.find("SECRET"), std::string::npos) << k.str << ": " << seen;
  }
}

// A seeded run of reads (three states, repeated at random) by holders that
// change hands: exactly one entry per accepted change, each entry's prev is
// the entry before it, stale writes leave no trace.
TEST(SharedWatchStateTest, SeededRunEmitsEachChangeOnce) {
  SKIP_WITHOUT_REDIS();
  Fixture fx;
  PollLease other(fx.client.get(), "leaf", "r1");
  PollLease* leases[2] = {fx.lease.get(), &other};
  const Observation states[3] = {Present("c1", "OK"), Present("c1", "UNAUTHENTICATED"), Absent()};
  std::mt19937 rng(2107);
  int holder = 0;
  std::uint64_t fence = fx.Fence(*leases[0]);
  std::uint64_t old_fence = 0;
  std::string last_fp;
  int expected_entries = 0;
  std::uint64_t last_version = 0;
  for (int step = 0; step < 200; ++step) {
    if (rng() % 5 == 0) {
      // The lease changes hands; the old holder keeps its old fence.
      ASSERT_TRUE(Call(*fx.client, {"DEL", "agleader:watch:{leaf}:lease:u1"}).ok());
      holder = 1 - holder;
      old_fence = fence;
      fence = fx.Fence(*leases[holder]);
    }
    const Observation& o = states[rng() % 3];
    const bool late = old_fence != 0 && rng() % 4 == 0;
    absl::StatusOr<Published> p = fx.Publish(late ? old_fence : fence, o);
    ASSERT_TRUE(p.ok()) << p.status();
    if (late) {
      EXPECT_TRUE(p->stale);
      continue;
    }
    const std::string fp = o.kind == Observation::Kind::kAbsent ? "absent" : o.credentials.status;
    EXPECT_EQ(p->changed, fp != last_fp) << "step " << step;
    if (p->changed) ++expected_entries;
    EXPECT_GE(p->version, last_version);
    last_version = p->version;
    last_fp = fp;
  }
  const std::vector<LoggedObservation> entries = fx.Entries();
  ASSERT_EQ(static_cast<int>(entries.size()), expected_entries);
  for (size_t i = 1; i < entries.size(); ++i) {
    ASSERT_TRUE(entries[i].previous.has_value());
    EXPECT_EQ(entries[i].previous->kind, entries[i - 1].observation.kind);
    EXPECT_EQ(entries[i].previous->credentials.status,
              entries[i - 1].observation.credentials.status);
    EXPECT_GT(entries[i].observation.version, entries[i - 1].observation.version);
    EXPECT_EQ(entries[i].observation.known_since, entries[0].position);
  }
}

TEST(SharedWatchStateTest, ParseEntryRefusesWhatIsNotAnEntry) {
  using Fields = std::vector<std::pair<std::string, std::string>>;
  const Fields good = {{"user", "u1"},      {"version", "7"},
                       {"prev", ""},        {"obs", R"({"kind":"absent"})"},
                       {"source", "alert"}, {"time", "1000"}};
  absl::StatusOr<LoggedObservation> ok = ParseEntry("5-1", good);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->source, Source::kAlert);
  EXPECT_EQ(ok->observation.version, 7u);
  EXPECT_EQ(ok->observation.known_since, (ChangePosition{5, 1}));
  EXPECT_EQ(ok->observed, absl::FromUnixMillis(1000));

  auto with = [&](const std::string& name, const std::string& value) {
    Fields f;
    for (const auto& [n, v] : good) {
      if (n != name) f.emplace_back(n, v);
    }
    if (!value.empty() || name == "user") f.emplace_back(name, value);
    return f;
  };
  Fields bad_prev_version = with("prev", R"({"kind":"absent"})");
  bad_prev_version.emplace_back("prev_version", "-");
  EXPECT_EQ(ParseEntry("5-1", bad_prev_version).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseEntry("5", good).ok());
  EXPECT_FALSE(ParseEntry("a-b", good).ok());
  for (const Fields& bad :
       {with("user", ""), with("version", "x"), with("version", "0"), with("obs", "{"),
        with("obs", R"({"kind":"maybe"})"), with("source", "gossip"), with("time", "noon"),
        with("prev", "[1]"), with("known_since", "7"), Fields{}}) {
    EXPECT_EQ(ParseEntry("5-1", bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(ParseEntry(RedisReply::String("5-1")).ok());
  EXPECT_FALSE(ParseEntry(RedisReply::Array({RedisReply::String("5-1"),
                                             RedisReply::Array({RedisReply::String("user")})}))
                   .ok());
  EXPECT_FALSE(ParseEntry(RedisReply::Array({RedisReply::String("5-1"),
                                             RedisReply::Array({RedisReply::String("user"),
                                                                RedisReply::Integer(3)})}))
                   .ok());
}

TEST(SharedWatchStateTest, RejectsBadOptionsAndInput) {
  RedisClientOptions ro;
  ro.port = 1;
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(ro);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(SharedWatchState::Create(nullptr, {}).ok());
  SharedWatchStateOptions o;
  o.fleet_name = "a{b";
  EXPECT_FALSE(SharedWatchState::Create(client->get(), o).ok());
  o = {};
  o.history = 0;
  EXPECT_FALSE(SharedWatchState::Create(client->get(), o).ok());
  o = {};
  o.record_ttl = absl::Milliseconds(10);
  EXPECT_FALSE(SharedWatchState::Create(client->get(), o).ok());
  std::unique_ptr<SharedWatchState> s = *SharedWatchState::Create(client->get(), {});
  int calls = 0;
  Observation not_read;
  not_read.kind = Observation::Kind::kNotRead;
  not_read.error = absl::ResourceExhaustedError("budget");
  s->Publish("u1", 1, not_read, Source::kPoll, kWhen, [&](absl::StatusOr<Published> p) {
    ++calls;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  });
  s->Get("", [&](absl::StatusOr<std::optional<Observation>> g) {
    ++calls;
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  });
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace leafsvc::fleet
