// The real stack (gRPC over loopback, libcurl, the emulator with login)
// under seeded random mixes of faults, token revocations (401 and re-login),
// failed logins, caller cancels and deadlines, then a shutdown with calls in
// flight. Asserts that every RPC ends exactly once, that the server's calls,
// the Leaf client's in-flight count and the transport's transfers all return
// to 0, and that shutdown ends within its grace plus a small margin with
// UNAVAILABLE SHUTTING_DOWN for the calls it cut. The seed is printed;
// INTERLEAVING_SEED=<seed> replays its decisions.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;
using Kind = leafemu::Fault::Kind;

constexpr char kUsername[] = "ops@example.com";
constexpr char kPassword[] = "interleaving-password";

std::uint64_t SeedFromEnv() {
  const char* env = std::getenv("INTERLEAVING_SEED");
  std::uint64_t seed = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return std::random_device{}();
}

// One RPC in flight: owns what the async stub refers to until it ends.
struct Rpc {
  grpc::ClientContext context;
  v1::GetCredentialsRequest get;
  v1::CreateCredentialsRequest create;
  v1::DeleteCredentialsRequest del;
  v1::ListCredentialEventsRequest list;
  v1::Credentials credentials;
  google::protobuf::Empty empty;
  v1::ListCredentialEventsResponse events;
  std::atomic<int> completions{0};
  grpc::Status status;
};

class Interleaving {
 public:
  Interleaving(Harness& h, std::uint64_t seed) : h_(h), rng_(seed) {}

  void Start(int n, bool long_deadlines) {
    for (int i = 0; i < n; ++i) {
      auto rpc = std::make_unique<Rpc>();
      Rpc* r = rpc.get();
      const int deadline_ms = long_deadlines ? 20000 : 20 + static_cast<int>(rng_() % 1500);
      r->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(deadline_ms)));
      auto done = [r](grpc::Status s) {
        r->status = s;
        r->completions.fetch_add(1);
      };
      auto* stub = h_.stub().async();
      const std::string user = Users()[rng_() % Users().size()];
      switch (rng_() % 4) {
        case 0:
          r->get.set_leaf_user_id(user);
          stub->GetCredentials(&r->context, &r->get, &r->credentials, done);
          break;
        case 1:
          r->create.set_leaf_user_id(user);
          r->create.set_refresh_token("interleaving-refresh-token");
          r->create.set_public_key("pk");
          r->create.set_private_key("interleaving-private-key");
          stub->CreateCredentials(&r->context, &r->create, &r->credentials, done);
          break;
        case 2:
          r->del.set_leaf_user_id(user);
          r->del.set_allow_missing(true);
          stub->DeleteCredentials(&r->context, &r->del, &r->empty, done);
          break;
        default:
          r->list.set_leaf_user_id(user);
          stub->ListCredentialEvents(&r->context, &r->list, &r->events, done);
      }
      const int roll = static_cast<int>(rng_() % 10);
      if (roll == 0) r->context.TryCancel();
      if (roll == 1) cancel_later_.push_back(r);
      rpcs_.push_back(std::move(rpc));
      if (rng_() % 16 == 0) h_.emulator().RevokeAllTokens();  // 401s, then re-login
      if (rng_() % 4 == 0) absl::SleepFor(absl::Microseconds(rng_() % 3000));
    }
    for (Rpc* r : cancel_later_) {
      absl::SleepFor(absl::Microseconds(rng_() % 2000));
      r->context.TryCancel();
    }
    cancel_later_.clear();
  }

  void InjectRandomFaults() {
    h_.emulator().ClearFaults();
    const std::vector<Kind> kinds = {Kind::kStatus,          Kind::kLatencyOnly,
                                     Kind::kCloseConnection, Kind::kResetMidBody,
                                     Kind::kMalformedJson,   Kind::kSlowDrip};
    const int n = 1 + static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i) {
      leafemu::Fault f;
      f.kind = kinds[rng_() % kinds.size()];
      f.times = -1;
      f.probability = 0.1 + static_cast<double>(rng_() % 30) / 100.0;
      f.path_contains = "ag-leader-credentials";
      f.latency = absl::Milliseconds(rng_() % 300);
      f.drip_interval = absl::Milliseconds(20);
      const int statuses[] = {429, 503, 502, 504, 500, 401};
      f.status = f.kind == Kind::kStatus ? statuses[rng_() % 6] : 0;
      if (f.status == 429 || f.status == 503) f.headers = {{"Retry-After", "0"}};
      h_.emulator().InjectFault(f);
    }
    // Failed logins now and then.
    leafemu::Fault login;
    login.kind = Kind::kStatus;
    login.status = rng_() % 2 ? 503 : 401;
    login.times = -1;
    login.probability = 0.3;
    login.path_contains = "/api/authenticate";
    h_.emulator().InjectFault(login);
  }

  // Waits (bounded) for every RPC to end; returns how many did not.
  int WaitAll(absl::Duration limit) {
    const absl::Time until = absl::Now() + limit;
    for (;;) {
      int open = 0;
      for (const auto& r : rpcs_) open += r->completions.load() == 0 ? 1 : 0;
      if (open == 0 || absl::Now() > until) return open;
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  int Doubles() const {
    int n = 0;
    for (const auto& r : rpcs_) n += r->completions.load() > 1 ? 1 : 0;
    return n;
  }
  const std::vector<std::unique_ptr<Rpc>>& rpcs() const { return rpcs_; }

 private:
  static const std::vector<std::string>& Users() {
    static const std::vector<std::string> users = {kUserA, kUserB};
    return users;
  }

  Harness& h_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Rpc>> rpcs_;
  std::vector<Rpc*> cancel_later_;
};

bool Drained(Harness& h, absl::Duration limit) {
  const absl::Time until = absl::Now() + limit;
  while (absl::Now() < until) {
    if (h.app().active_calls() == 0 && h.app().leaf().in_flight() == 0 &&
        h.app().http().InFlight() == 0) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

TEST(InterleavingTest, EveryRpcEndsOnceAndNothingLeaksThenShutdownKeepsItsGrace) {
  const std::uint64_t seed = SeedFromEnv();
  std::printf("interleaving seed: %llu (replay: INTERLEAVING_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  const absl::Duration grace = absl::Milliseconds(400);
  auto h = Harness::Start(
      [](leafemu::EmulatorOptions& o) {
        o.static_tokens.clear();
        o.accounts[kUsername] = kPassword;
      },
      [grace](ServerConfig& c) {
        c.leaf_token = Secret("");
        c.leaf_username = kUsername;
        c.leaf_password = Secret(kPassword);
        c.upstream_timeout = absl::Seconds(2);
        c.max_attempts = 3;
        c.shutdown_grace = grace;
        c.leaf_login_backoff = absl::Milliseconds(5);
        c.leaf_login_max_backoff = absl::Milliseconds(50);
        c.upstream_first_byte_timeout = absl::Milliseconds(500);
      });
  ASSERT_NE(h, nullptr);
  Interleaving mix(*h, seed);
  constexpr int kRounds = 5;
  constexpr int kPerRound = 300;
  for (int round = 0; round < kRounds; ++round) {
    mix.InjectRandomFaults();
    mix.Start(kPerRound, /*long_deadlines=*/false);
  }
  EXPECT_EQ(mix.WaitAll(absl::Seconds(60)), 0) << "RPCs never ended (seed " << seed << ")";
  h->emulator().ClearFaults();
  EXPECT_TRUE(Drained(*h, absl::Seconds(10)))
      << "calls " << h->app().active_calls() << ", leaf in flight " << h->app().leaf().in_flight()
      << ", transfers " << h->app().http().InFlight() << " (seed " << seed << ")";

  // The mix may have ended on a failed login: until its backoff is over,
  // callers without a token are told that login's error at once (as they
  // should be). Wait until a call reaches Leaf again, so the calls below are
  // the ones the shutdown cuts.
  EXPECT_TRUE(WaitFor([&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::GetCredentialsRequest get;
    get.set_leaf_user_id(kUserA);
    v1::Credentials credentials;
    const grpc::Status st = h->stub().GetCredentials(&context, get, &credentials);
    return st.ok() || st.error_code() == grpc::StatusCode::NOT_FOUND;
  })) << "the service never logged in again after the faults were cleared (seed "
      << seed << ")";

  // Shutdown with calls stuck on a slow Leaf: they end within the grace
  // (plus a margin) as UNAVAILABLE SHUTTING_DOWN.
  leafemu::Fault slow;
  slow.kind = Kind::kLatencyOnly;
  slow.latency = absl::Seconds(5);
  slow.times = -1;
  slow.path_contains = "ag-leader-credentials";
  h->emulator().InjectFault(slow);
  Interleaving stuck(*h, seed + 1);
  stuck.Start(40, /*long_deadlines=*/true);
  absl::SleepFor(absl::Milliseconds(200));  // they are with Leaf now
  const absl::Time start = absl::Now();
  h->app().Shutdown(grace);
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, grace + absl::Seconds(1)) << "shutdown took " << took;
  EXPECT_EQ(stuck.WaitAll(absl::Seconds(5)), 0);
  int shutting_down = 0;
  for (const auto& r : stuck.rpcs()) {
    if (r->status.ok()) continue;
    if (r->status.error_code() == grpc::StatusCode::CANCELLED) continue;  // cancelled by us
    EXPECT_EQ(r->status.error_code(), grpc::StatusCode::UNAVAILABLE) << r->status.error_message();
    if (ErrorInfoOf(r->status).reason() == "SHUTTING_DOWN") ++shutting_down;
  }
  EXPECT_GT(shutting_down, 0);
  EXPECT_EQ(mix.Doubles() + stuck.Doubles(), 0);
  EXPECT_TRUE(Drained(*h, absl::Seconds(5)));
  std::printf("interleaving: %d RPCs, %d ended by the shutdown grace as SHUTTING_DOWN\n",
              kRounds * kPerRound + 40, shutting_down);
}

}  // namespace
}  // namespace leafsvc::testing
