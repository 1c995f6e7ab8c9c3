// Leaf's rate limit through the real stack (emulator enforcing a limit like
// Leaf's gateway, libcurl, gRPC): the service never sends more than its
// budget, counted at the emulator, under a seeded random mix of every RPC and
// a watch; callers' calls keep flowing while bulk work saturates the budget;
// Leaf's 429, with and without Retry-After, pauses the process instead of
// starting a retry storm, and one probe alone ends the pause, however slow
// Leaf is; identical reads share one request, and a write in
// the middle is never answered from before it. Replay a mix with
// LEAF_BUDGET_IT_SEED=<seed>.
#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

// Distinct, valid Leaf user ids.
std::string UserId(int i) {
  char buf[37];
  std::snprintf(buf, sizeof(buf), "6f1a2b3c-4d5e-4f60-8a7b-%012d", i);
  return buf;
}

void Budget(ServerConfig& c, double per_minute, int burst) {
  c.leaf_budget.requests_per_minute = per_minute;
  c.leaf_budget.burst = burst;
  c.metrics_listen = "127.0.0.1:0";
}

// The value of the first sample of `name` whose labels contain `labels`.
double Sample(const std::string& text, const std::string& name, const std::string& labels = "") {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name)) continue;
    absl::string_view rest = line.substr(name.size());
    if (!rest.empty() && rest[0] != '{' && rest[0] != ' ') continue;
    if (!labels.empty() && rest.find(labels) == absl::string_view::npos) continue;
    double v = 0;
    if (absl::SimpleAtod(rest.substr(rest.rfind(' ') + 1), &v)) return v;
  }
  return -1;
}

std::string Scrape(Harness& h) {
  httplib::Client client("127.0.0.1", h.app().metrics_port());
  auto res = client.Get("/metrics");
  return res ? res->body : std::string();
}

bool IsRateLimited(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         ErrorInfoOf(st).reason() == "LEAF_RATE_LIMITED";
}

v1::CreateCredentialsRequest CreateRequest(const std::string& user) {
  v1::CreateCredentialsRequest req;
  req.set_leaf_user_id(user);
  req.set_refresh_token("refresh-token-AAAA1111");
  req.set_public_key("public-key-CCCC3333");
  req.set_private_key("private-key-BBBB2222");
  return req;
}

// Every kind of call at once, picked by a seeded generator, from `threads`
// threads for `run`: the emulator must never count more than the budget
// allows, Leaf must never answer 429, and every refusal must say when to
// come back.
TEST(BudgetTest, AMixOfEveryCallNeverExceedsTheBudgetCountedAtTheEmulator) {
  uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("LEAF_BUDGET_IT_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("LEAF_BUDGET_IT_SEED=%llu\n", static_cast<unsigned long long>(seed));
  constexpr double kPerMinute = 240;  // 4 a second
  constexpr int kBurst = 8;
  const absl::Time started = absl::Now();
  auto h = Harness::Start(
      [](leafemu::EmulatorOptions& e) {
        // Exactly the budget: Leaf counts a sliding minute, and so does the
        // budget; one request more in any 60 s is a 429.
        e.rate_limit_per_minute = static_cast<int>(kPerMinute);
      },
      [](ServerConfig& c) {
        Budget(c, kPerMinute, kBurst);
        c.watch_poll_interval = absl::Seconds(1);
        c.watch_poll_jitter = absl::ZeroDuration();
        c.upstream_timeout = absl::Seconds(20);  // the patient batches below
      });
  ASSERT_NE(h, nullptr);
  std::vector<std::string> users;
  for (int i = 0; i < 30; ++i) users.push_back(UserId(i));
  WatchStream watch(h->stub(), {users[0], users[1], users[2], users[3]});

  std::atomic<int> ok{0}, refused{0}, refused_without_retry_info{0}, other{0};
  absl::Mutex mu;
  std::map<std::string, int> unexpected;
  const absl::Time until = absl::Now() + absl::Seconds(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + t);
      while (absl::Now() < until) {
        const std::string& user = users[rng() % users.size()];
        auto ctx = Harness::Context(absl::Milliseconds(200 + rng() % 2000));
        grpc::Status st;
        switch (rng() % 6) {
          case 0: {
            v1::GetCredentialsRequest req;
            req.set_leaf_user_id(user);
            v1::Credentials out;
            st = h->stub().GetCredentials(ctx.get(), req, &out);
            break;
          }
          case 1: {
            v1::Credentials out;
            st = h->stub().CreateCredentials(ctx.get(), CreateRequest(user), &out);
            break;
          }
          case 2: {
            v1::DeleteCredentialsRequest req;
            req.set_leaf_user_id(user);
            req.set_allow_missing(true);
            google::protobuf::Empty out;
            st = h->stub().DeleteCredentials(ctx.get(), req, &out);
            break;
          }
          case 3: {
            v1::ListCredentialEventsRequest req;
            req.set_leaf_user_id(user);
            v1::ListCredentialEventsResponse out;
            st = h->stub().ListCredentialEvents(ctx.get(), req, &out);
            break;
          }
          case 4: {
            v1::BatchGetCredentialsRequest req;
            for (int i = 0, n = 2 + rng() % 10; i < n; ++i) {
              req.add_leaf_user_ids(users[rng() % users.size()]);
            }
            v1::BatchGetCredentialsResponse out;
            st = h->stub().BatchGetCredentials(ctx.get(), req, &out);
            for (const auto& r : out.results()) {
              if (r.has_error() && r.error().code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
                refused++;
              }
            }
            break;
          }
          default: {
            v1::ListCredentialsRequest req;
            req.set_page_size(5);
            v1::ListCredentialsResponse out;
            st = h->stub().ListCredentials(ctx.get(), req, &out);
            break;
          }
        }
        if (st.ok() || st.error_code() == grpc::StatusCode::NOT_FOUND) {
          ok++;
        } else if (IsRateLimited(st)) {
          refused++;
          int64_t delay = 0;
          if (!RetryInfoOf(st, &delay) || delay <= 0) refused_without_retry_info++;
        } else if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                   st.error_code() == grpc::StatusCode::ALREADY_EXISTS ||
                   st.error_code() == grpc::StatusCode::CANCELLED) {
          other++;
        } else {
          absl::MutexLock lock(&mu);
          unexpected[absl::StrCat(st.error_code(), " ", ErrorInfoOf(st).reason())]++;
        }
      }
    });
  }
  // Bulk work that can wait: the short deadlines of the mix's batches are
  // refused at once while callers saturate the budget (their floor, a share
  // of 4 a second, cannot serve them in time), so whether one of those gets
  // through is luck. A batch that can wait out its floor must be served:
  // the floor is a share of the last 50 grants (12.5 s here), so within
  // that, whatever bulk grants the window already holds.
  std::atomic<int> patient_bulk_ok{0};
  std::map<std::string, int> patient_bulk_other;  // under mu
  threads.emplace_back([&] {
    while (absl::Now() < until) {
      v1::BatchGetCredentialsRequest req;
      req.add_leaf_user_ids(users[29]);
      v1::BatchGetCredentialsResponse out;
      auto ctx = Harness::Context(absl::Seconds(25));
      const absl::Time asked = absl::Now();
      const grpc::Status st = h->stub().BatchGetCredentials(ctx.get(), req, &out);
      std::printf("patient bulk call: %.1f s, %d/%d at %.1f s\n",
                  absl::ToDoubleSeconds(absl::Now() - asked), st.error_code(),
                  out.results_size() == 1 ? out.results(0).error().code() : -1,
                  absl::ToDoubleSeconds(absl::Now() - started));
      // Leaf answered: credentials, or NOT_FOUND (the mix deletes too).
      if (st.ok() && out.results_size() == 1 &&
          (out.results(0).has_credentials() ||
           out.results(0).error().code() == grpc::StatusCode::NOT_FOUND)) {
        patient_bulk_ok++;
      } else {
        absl::MutexLock lock(&mu);
        patient_bulk_other[absl::StrCat(
            st.error_code(), "/", out.results_size() == 1 ? out.results(0).error().code() : -1, " ",
            out.results_size() == 1 ? out.results(0).error().message() : st.error_message())]++;
      }
    }
  });
  for (std::thread& t : threads) t.join();
  watch.Cancel();
  const absl::Duration elapsed = absl::Now() - started;
  const leafemu::RateLimitStats counted = h->emulator().RateLimitCounters();
  const double allowed = kBurst + kPerMinute / 60 * absl::ToDoubleSeconds(elapsed) + 1;
  std::printf("ok=%d refused=%d other=%d; Leaf saw at most %d in a minute (allowed %.0f)\n",
              ok.load(), refused.load(), other.load(), counted.max_requests_in_any_minute, allowed);
  EXPECT_LE(counted.max_requests_in_any_minute, allowed) << "seed " << seed;
  EXPECT_EQ(counted.rate_limited_count, 0) << "Leaf answered 429; seed " << seed;
  EXPECT_GT(refused.load(), 0) << "the mix never saturated the budget: the test proves nothing";
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(refused_without_retry_info.load(), 0) << "seed " << seed;
  EXPECT_TRUE(unexpected.empty()) << "seed " << seed << ": " << unexpected.begin()->first;
  const std::string metrics = Scrape(*h);
  EXPECT_GT(Sample(metrics, "agleader_leaf_requests_total", "class=\"caller\""), 0);
  EXPECT_GT(Sample(metrics, "agleader_leaf_requests_total", "class=\"bulk\""), 0);
  EXPECT_GT(Sample(metrics, "agleader_leaf_requests_total", "class=\"poll\""), 0);
  EXPECT_GT(Sample(metrics, "agleader_leaf_budget_waits_total", "class=\"caller\""), 0);
  for (const auto& [what, n] : patient_bulk_other)
    std::printf("patient bulk: %d x %s\n", n, what.c_str());
  EXPECT_GT(patient_bulk_ok.load(), 0) << "bulk work that could wait was starved; seed " << seed;
  EXPECT_GT(Sample(metrics, "agleader_rejected_calls_total", "reason=\"LEAF_RATE_LIMITED\""), 0);
  // 4 watched users, 1 s interval, 120 a minute for polls: the interval holds.
  EXPECT_EQ(Sample(metrics, "agleader_watch_effective_poll_interval_seconds"), 1);
  EXPECT_EQ(Sample(metrics, "agleader_leaf_budget_requests_per_minute"), kPerMinute);
}

// Bulk work (a batch far larger than the budget, a listing walk) and polls
// saturate the budget; a caller's GetCredentials still gets through, each
// within its deadline, because callers come first.
TEST(BudgetTest, CallersKeepFlowingWhileBulkWorkAndPollsSaturateTheBudget) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    Budget(c, 600, 5);  // 10 a second
    c.watch_poll_interval = absl::Seconds(1);
  });
  ASSERT_NE(h, nullptr);
  std::vector<std::string> users;
  for (int i = 0; i < 500; ++i) users.push_back(UserId(i));
  WatchStream watch(h->stub(), std::vector<std::string>(users.begin(), users.begin() + 100));
  std::atomic<bool> stop{false};
  std::thread bulk([&] {
    while (!stop) {
      v1::BatchGetCredentialsRequest req;
      for (const std::string& u : users) req.add_leaf_user_ids(u);
      v1::BatchGetCredentialsResponse out;
      auto ctx = Harness::Context(absl::Seconds(5));
      h->stub().BatchGetCredentials(ctx.get(), req, &out);
    }
  });
  absl::SleepFor(absl::Seconds(1));  // the queue fills
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(UserId(1000 + i));
    v1::Credentials out;
    auto ctx = Harness::Context(absl::Seconds(3));
    grpc::Status st = h->stub().GetCredentials(ctx.get(), req, &out);
    // NOT_FOUND: Leaf answered (the emulator's users have no credentials).
    EXPECT_TRUE(st.error_code() == grpc::StatusCode::NOT_FOUND)
        << i << ": " << st.error_code() << " " << ErrorInfoOf(st).reason();
    if (st.error_code() == grpc::StatusCode::NOT_FOUND) ok++;
  }
  stop = true;
  bulk.join();
  watch.Cancel();
  EXPECT_EQ(ok, 20);
  const std::string metrics = Scrape(*h);
  // The background really was waiting (saturated) while the callers passed.
  EXPECT_GT(Sample(metrics, "agleader_leaf_budget_waits_total", "class=\"bulk\""), 0);
  EXPECT_GT(Sample(metrics, "agleader_leaf_requests_total", "class=\"bulk\""), 0);
}

// Leaf's 429 without Retry-After: the first answers pause every request,
// so Leaf sees a handful more requests, not a retry per call per attempt;
// callers hear LEAF_RATE_LIMITED with a RetryInfo.
TEST(BudgetTest, Leafs429WithoutRetryAfterPausesTheProcessNotTheCall) {
  auto h = Harness::Start([](leafemu::EmulatorOptions& e) { e.rate_limit_per_minute = 10; },
                          [](ServerConfig& c) {
                            Budget(c, 6000, 40);  // configured far above what Leaf allows
                            c.max_attempts = 3;
                          });
  ASSERT_NE(h, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> rate_limited{0}, ok{0};
  for (int i = 0; i < 30; ++i) {
    threads.emplace_back([&, i] {
      v1::GetCredentialsRequest req;
      req.set_leaf_user_id(UserId(1000 + i));
      v1::Credentials out;
      auto ctx = Harness::Context(absl::Seconds(5));
      grpc::Status st = h->stub().GetCredentials(ctx.get(), req, &out);
      if (IsRateLimited(st)) {
        rate_limited++;
        int64_t delay = 0;
        EXPECT_TRUE(RetryInfoOf(st, &delay)) << "a 429 must say when to come back";
        // One pause step per pause (2 s, then 4 s, each +-20%) plus the
        // queue ahead at the lowered rate: seconds, not one step per answer
        // of the burst (2 s x 2^19, capped at two minutes). The steps
        // themselves are checked exactly on a fake clock in
        // tests/budget/request_budget_pause_test.cc.
        EXPECT_LE(delay, 10000);
      } else if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
        ok++;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int leaf_429s = static_cast<int>(h->emulator().RateLimitCounters().rate_limited_count);
  std::printf("ok=%d rate_limited=%d; Leaf answered 429 %d times\n", ok.load(), rate_limited.load(),
              leaf_429s);
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(rate_limited.load(), 20);
  // 20 were in flight when the first 429 came; then at most one probe per
  // cooldown (2 s, 4 s: two within the 5 s deadline). Retrying each call on
  // its own would cost 20 x 3 = 60.
  EXPECT_LE(leaf_429s, 20 + 3);
  const std::string metrics = Scrape(*h);
  EXPECT_EQ(Sample(metrics, "agleader_leaf_rate_limited_total"), leaf_429s);
  EXPECT_LT(Sample(metrics, "agleader_leaf_budget_requests_per_minute"), 6000)
      << "the rate in force must drop after Leaf's 429";
}

// A slow Leaf (300 ms for each 429): when the pause ends, one request
// probes and the others wait for its answer. Tokens at the lowered rate (50
// a second here) would otherwise send every waiter into the limit while the
// probe was on its way.
TEST(BudgetTest, AfterAPauseOneProbeGoesEvenWhenLeafIsSlow) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    Budget(c, 6000, 40);
    c.max_attempts = 3;
  });
  ASSERT_NE(h, nullptr);
  leafemu::Fault limited;
  limited.kind = leafemu::Fault::Kind::kStatus;
  limited.status = 429;
  limited.latency = absl::Milliseconds(300);
  limited.times = -1;
  limited.path_contains = "ag-leader-credentials";
  h->emulator().InjectFault(limited);
  std::vector<std::thread> threads;
  std::atomic<int> rate_limited{0};
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      v1::GetCredentialsRequest req;
      req.set_leaf_user_id(UserId(100 + i));
      v1::Credentials out;
      auto ctx = Harness::Context(absl::Seconds(4));
      if (IsRateLimited(h->stub().GetCredentials(ctx.get(), req, &out))) rate_limited++;
    });
  }
  for (std::thread& t : threads) t.join();
  const int sent = h->emulator().CountRequests("GET", "ag-leader-credentials");
  std::printf("rate_limited=%d; Leaf was asked %d times\n", rate_limited.load(), sent);
  EXPECT_EQ(rate_limited.load(), 10);
  // The ten together (each 429 comes 300 ms later, long after the last
  // left), then one probe as the first pause (2 s +-20%) ended; the next
  // pause (4 s +-20%) outlasts the calls' deadlines.
  EXPECT_EQ(sent, 11) << "10 at once, then exactly one probe: "
                      << (sent > 11 ? "others went while the probe was unanswered"
                                    : "the callers were refused before the pause ended");
}

// With Retry-After, nothing at all is sent before it has passed, even once
// Leaf would answer again.
TEST(BudgetTest, Leafs429WithRetryAfterIsHonouredByEveryCall) {
  auto h = Harness::Start(
      [](leafemu::EmulatorOptions& e) {
        e.rate_limit_per_minute = 1;
        e.rate_limit_retry_after_seconds = 3;
      },
      [](ServerConfig& c) { Budget(c, 6000, 40); });
  ASSERT_NE(h, nullptr);
  auto get = [&](const std::string& user, absl::Duration timeout) {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(user);
    v1::Credentials out;
    auto ctx = Harness::Context(timeout);
    return h->stub().GetCredentials(ctx.get(), req, &out);
  };
  EXPECT_EQ(get(UserId(1), absl::Seconds(5)).error_code(), grpc::StatusCode::NOT_FOUND);
  // The second request of the minute gets Leaf's 429 with Retry-After: 3.
  grpc::Status limited = get(UserId(2), absl::Seconds(1));
  const absl::Time paused = absl::Now();
  ASSERT_TRUE(IsRateLimited(limited)) << limited.error_code() << " " << limited.error_message();
  ASSERT_EQ(h->emulator().RateLimitCounters().rate_limited_count, 1);
  h->emulator().SetRateLimit({});  // Leaf would answer now
  const int before = h->emulator().CountRequests("GET", "");
  // A call that cannot wait out the pause is refused at once, saying how long.
  grpc::Status short_call = get(UserId(3), absl::Milliseconds(500));
  ASSERT_TRUE(IsRateLimited(short_call)) << short_call.error_code();
  int64_t delay = 0;
  ASSERT_TRUE(RetryInfoOf(short_call, &delay));
  EXPECT_GE(delay, 1500);
  EXPECT_EQ(h->emulator().CountRequests("GET", ""), before) << "sent during Leaf's pause";
  // One that can wait is sent once the pause is over.
  EXPECT_EQ(get(UserId(4), absl::Seconds(10)).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_GE(absl::Now() - paused, absl::Milliseconds(2500));
}

// Ten callers reading one user while Leaf is slow: one request. A Create in
// the middle starts a new generation: the read asked after it sees it.
TEST(BudgetTest, IdenticalReadsShareOneRequestButNeverCrossAWrite) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.metrics_listen = "127.0.0.1:0"; });
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  h->emulator().ClearRequests();
  leafemu::Fault slow;
  slow.kind = leafemu::Fault::Kind::kLatencyOnly;
  slow.method = "GET";
  slow.path_contains = "ag-leader-credentials";
  slow.latency = absl::Seconds(3);  // long enough for every reader to join, however loaded
  slow.times = 1;
  h->emulator().InjectFault(slow);
  std::vector<std::thread> readers;
  absl::Mutex mu;
  std::map<int, int> codes;  // what the readers heard
  for (int i = 0; i < 10; ++i) {
    readers.emplace_back([&] {
      v1::GetCredentialsRequest req;
      req.set_leaf_user_id(kUserA);
      v1::Credentials out;
      auto ctx = Harness::Context(absl::Seconds(10));
      grpc::Status st = h->stub().GetCredentials(ctx.get(), req, &out);
      absl::MutexLock lock(&mu);
      codes[st.error_code()]++;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return h->emulator().CountRequests("GET", "credentials") >= 1; }));
  // The others join while Leaf is slow (a fixed sleep was not enough for
  // a reader thread started late on a loaded machine: it read after the
  // Delete, correctly on its own).
  ASSERT_TRUE(WaitFor([&] { return Sample(Scrape(*h), "agleader_leaf_coalesced_total") >= 9; }))
      << "the readers did not all join the slow read";
  // A write, then a read: the read must not join the slow one.
  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(kUserA);
  google::protobuf::Empty empty;
  ASSERT_TRUE(h->stub().DeleteCredentials(Harness::Context().get(), del, &empty).ok());
  v1::GetCredentialsRequest after;
  after.set_leaf_user_id(kUserA);
  v1::Credentials out;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), after, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << "answered from before the Delete";
  for (std::thread& t : readers) t.join();
  // One answer for all ten (Leaf answered it after the Delete arrived, so
  // it may say either; what matters is that it is one).
  ASSERT_EQ(codes.size(), 1u);
  EXPECT_EQ(codes.begin()->second, 10);
  EXPECT_TRUE(codes.begin()->first == grpc::StatusCode::OK ||
              codes.begin()->first == grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(h->emulator().CountRequests("GET", "credentials"), 2);  // the shared one, the later
  EXPECT_EQ(Sample(Scrape(*h), "agleader_leaf_coalesced_total"), 9);
}

}  // namespace
}  // namespace leafsvc::testing
