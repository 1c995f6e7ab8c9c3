// Seeded random interleavings of everything that can happen to a Leaf call:
// answers of every kind (200, 401 and re-login, 429 with Retry-After, 503,
// resets, silent connections), failed logins, slow answers, caller cancels at
// every stage (including between "response received" and "response
// handled"), deadlines, and a shutdown abort, from several threads at once.
// Asserts: every completion runs exactly once, the client's in-flight count
// and the transport's open transfers return to 0, and it all ends in bounded
// time. The seed is printed; INTERLEAVING_SEED=<seed> replays its decisions.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/leaf/leaf_client.h"
#include "server/leaf/token_source.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/test_credentials.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::leaf {
namespace {

constexpr const char* kUser = ::leafsvc::testing::kTestUser;
constexpr const char* kCredentialsJson = ::leafsvc::testing::kTestCredentialsJson;

std::uint64_t SeedFromEnv() {
  const char* env = std::getenv("INTERLEAVING_SEED");
  std::uint64_t seed = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return std::random_device{}();
}

// A transport that answers on its own thread, in a seeded random order, with
// seeded random outcomes. Like libcurl's, Cancel is asynchronous and the
// callback of a transfer runs exactly once; a response already taken out can
// no longer be cancelled.
class ChaosHttpClient final : public http::HttpClient {
 public:
  // `on_taken` runs after a response was taken out and before it is
  // delivered (the race window), with the request; may cancel the call.
  ChaosHttpClient(std::uint64_t seed, std::function<void(const http::HttpRequest&)> on_taken)
      : rng_(seed), on_taken_(std::move(on_taken)), thread_([this] { Loop(); }) {}

  ~ChaosHttpClient() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  http::TransferId Send(http::HttpRequest request, http::HttpCallback done) override {
    absl::MutexLock lock(&mu_);
    const http::TransferId id = ++next_id_;
    pending_[id] = {std::move(request), std::move(done)};
    ++sent_;
    return id;
  }

  void Cancel(http::TransferId id) override {
    absl::MutexLock lock(&mu_);
    cancels_.push_back(id);
  }

  int open() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(pending_.size());
  }
  int sent() const {
    absl::MutexLock lock(&mu_);
    return sent_;
  }

 private:
  struct Pending {
    http::HttpRequest request;
    http::HttpCallback done;
  };

  absl::StatusOr<http::HttpResponse> Outcome(const http::HttpRequest& request) {
    const bool login = request.url.find("/api/authenticate") != std::string::npos;
    http::HttpResponse r;
    const int roll = static_cast<int>(rng_() % 100);
    if (login) {
      if (roll < 25) {
        r.status_code = roll < 12 ? 401 : 503;
        return r;
      }
      r.status_code = 200;
      r.body = absl::StrCat(R"({"id_token":"jwt-)", rng_() % 1000, R"("})");
      return r;
    }
    if (roll < 40) {
      r.status_code = request.method == "POST" ? 201 : request.method == "DELETE" ? 204 : 200;
      r.body = request.method == "DELETE"                         ? ""
               : request.url.find("/events") != std::string::npos ? "[]"
                                                                  : kCredentialsJson;
      return r;
    }
    if (roll < 50) {
      r.status_code = 401;
      return r;
    }
    if (roll < 58) {
      r.status_code = 429;
      r.headers = {{"retry-after", "0"}};
      return r;
    }
    if (roll < 68) {
      r.status_code = 503;
      return r;
    }
    if (roll < 74) {
      r.status_code = 404;
      return r;
    }
    if (roll < 82) {
      absl::Status reset = absl::UnavailableError("Connection reset by peer");
      reset.SetPayload(http::kMaybeSentPayload, absl::Cord("true"));
      return reset;
    }
    if (roll < 88) {
      return absl::UnavailableError("Connection refused");
    }
    if (roll < 94 && request.first_byte_timeout != absl::InfiniteDuration()) {
      absl::Status silent = absl::UnavailableError("no answer on a reused connection");
      silent.SetPayload(http::kNoAnswerPayload, absl::Cord("true"));
      silent.SetPayload(http::kMaybeSentPayload, absl::Cord("true"));
      return silent;
    }
    r.status_code = 500;
    return r;
  }

  void Loop() {
    for (;;) {
      std::vector<std::pair<http::HttpCallback, absl::StatusOr<http::HttpResponse>>> deliver;
      std::optional<http::HttpRequest> taken_request;
      {
        absl::MutexLock lock(&mu_);
        if (stop_ && pending_.empty()) return;
        // Cancels first, as a transport's loop would.
        for (http::TransferId id : cancels_) {
          auto it = pending_.find(id);
          if (it == pending_.end()) continue;
          deliver.emplace_back(std::move(it->second.done), absl::CancelledError("cancelled"));
          pending_.erase(it);
        }
        cancels_.clear();
        // Deadlines.
        const absl::Time now = absl::Now();
        for (auto it = pending_.begin(); it != pending_.end();) {
          if (it->second.request.deadline <= now) {
            deliver.emplace_back(std::move(it->second.done),
                                 absl::DeadlineExceededError("timed out"));
            it = pending_.erase(it);
          } else {
            ++it;
          }
        }
        // Answer a random pending transfer, or leave it waiting a while.
        if (!pending_.empty() && rng_() % 3 != 0) {
          auto it = pending_.begin();
          std::advance(it, rng_() % pending_.size());
          absl::StatusOr<http::HttpResponse> outcome = Outcome(it->second.request);
          if (rng_() % 4 == 0) taken_request = it->second.request;
          deliver.emplace_back(std::move(it->second.done), std::move(outcome));
          pending_.erase(it);
        }
      }
      if (taken_request.has_value() && on_taken_) on_taken_(*taken_request);
      for (auto& [done, result] : deliver) done(std::move(result));
      if (deliver.empty()) absl::SleepFor(absl::Microseconds(200));
    }
  }

  mutable absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::function<void(const http::HttpRequest&)> on_taken_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  http::TransferId next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<http::TransferId, Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<http::TransferId> cancels_ ABSL_GUARDED_BY(mu_);
  int sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

struct CallRecord {
  std::atomic<int> completions{0};
  std::shared_ptr<Cancellable> handle;
  absl::Mutex mu;
};

TEST(LeafExchangeInterleavingTest, EveryCallEndsExactlyOnceWhateverHappens) {
  const std::uint64_t seed = SeedFromEnv();
  std::printf("interleaving seed: %llu (replay: INTERLEAVING_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  constexpr int kCalls = 6000;
  constexpr int kThreads = 3;

  std::vector<std::unique_ptr<CallRecord>> calls;
  for (int i = 0; i < kCalls; ++i) calls.push_back(std::make_unique<CallRecord>());
  auto cancel_by_request = [&calls](const http::HttpRequest& request) {
    for (const auto& [name, value] : request.headers) {
      if (name != "X-Request-Id") continue;
      int index = 0;
      if (!absl::SimpleAtoi(value, &index) || index < 0 || index >= kCalls) return;
      std::shared_ptr<Cancellable> handle;
      {
        absl::MutexLock lock(&calls[index]->mu);
        handle = calls[index]->handle;
      }
      if (handle) handle->Cancel();
    }
  };

  Scheduler scheduler;
  ChaosHttpClient http(seed, cancel_by_request);
  LoginOptions login;
  login.username = "ops@example.com";
  login.password = Secret("pw");
  login.timeout = absl::Milliseconds(200);
  login.policy.initial_backoff = absl::Milliseconds(2);
  login.policy.max_backoff = absl::Milliseconds(20);
  LoginTokenSource tokens(&http, LeafEndpoints("http://leaf"), login);
  LeafClientOptions options;
  options.scheduler = &scheduler;
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = absl::Milliseconds(1);
  options.retry.max_backoff = absl::Milliseconds(5);
  options.max_in_flight = kCalls;
  options.first_byte_timeout = absl::Milliseconds(50);
  LeafClient client(&http, &tokens, LeafEndpoints("http://leaf", providers::AgLeaderSpec()),
                    options);

  std::atomic<int> doubles{0};
  std::atomic<bool> aborted{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 31 + t);
      for (int i = t; i < kCalls; i += kThreads) {
        CallRecord* rec = calls[i].get();
        auto done_once = [rec, &doubles](const absl::Status&) {
          if (rec->completions.fetch_add(1) != 0) ++doubles;
        };
        CallOptions call(absl::Now() + absl::Milliseconds(5 + rng() % 400));
        call.request_id = absl::StrCat(i);
        std::shared_ptr<Cancellable> handle;
        switch (rng() % 4) {
          case 0:
            handle =
                client.GetCredentials(kUser, call, [done_once](auto r) { done_once(r.status()); });
            break;
          case 1: {
            NewProviderCredentials c = ::leafsvc::testing::AgLeaderCreate("rt", "pk", "sk");
            handle = client.CreateCredentials(kUser, c, call,
                                              [done_once](auto r) { done_once(r.status()); });
            break;
          }
          case 2:
            handle = client.DeleteCredentials(kUser, call, done_once);
            break;
          default:
            handle = client.ListEvents(kUser, call, [done_once](auto r) { done_once(r.status()); });
        }
        {
          absl::MutexLock lock(&rec->mu);
          rec->handle = handle;
        }
        const int roll = static_cast<int>(rng() % 10);
        if (roll == 0) handle->Cancel();  // at once, in whatever stage
        if (roll == 1) {
          absl::SleepFor(absl::Microseconds(rng() % 2000));
          handle->Cancel();  // a little later
        }
        if (i == kCalls * 9 / 10 && t == 0) {
          // A shutdown in the middle of it all.
          aborted = true;
          StatusDetails d;
          d.reason = "SHUTTING_DOWN";
          client.AbortAll(MakeStatus(absl::StatusCode::kUnavailable, "shutting down", d));
        }
        if (rng() % 8 == 0) absl::SleepFor(absl::Microseconds(rng() % 500));
      }
    });
  }
  for (std::thread& t : threads) t.join();

  const absl::Time until = absl::Now() + absl::Seconds(30);
  auto all_done = [&] {
    for (const auto& c : calls) {
      if (c->completions.load() == 0) return false;
    }
    return client.in_flight() == 0 && http.open() == 0;
  };
  while (!all_done() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));

  int missing = 0;
  for (const auto& c : calls) missing += c->completions.load() == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0) << "calls never completed (seed " << seed << ")";
  EXPECT_EQ(doubles.load(), 0) << "calls completed twice (seed " << seed << ")";
  EXPECT_EQ(client.in_flight(), 0) << "seed " << seed;
  EXPECT_EQ(http.open(), 0) << "transfers left open (seed " << seed << ")";
  EXPECT_TRUE(aborted.load());
  std::printf("interleaving: %d calls, %d HTTP requests, %d logins attempted\n", kCalls,
              http.sent(), tokens.login_attempts());
  // Drop handles (they refer to the client) before the client goes.
  for (const auto& c : calls) {
    absl::MutexLock lock(&c->mu);
    c->handle.reset();
  }
}

}  // namespace
}  // namespace leafsvc::leaf
