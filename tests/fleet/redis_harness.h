// Helpers for the Redis client tests: a command run synchronously with a
// bounded wait, a recorder of on_state transitions, and a callback wrapper
// that fails the test if it runs twice.
#ifndef TESTS_FLEET_REDIS_HARNESS_H_
#define TESTS_FLEET_REDIS_HARNESS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet::testing {

// Generous: a bound that only a hang reaches.
inline constexpr absl::Duration kHang = absl::Seconds(30);

#define SKIP_WITHOUT_REDIS()                                           \
  if (!::leafsvc::testing::RedisServer::Available())                   \
  GTEST_SKIP() << ::leafsvc::testing::kRedisServerPath                 \
               << " is missing (apt-get install redis-server, or run " \
                  "scripts/setup.sh)"

// One command's result, waited for.
class Result {
 public:
  RedisClient::Done Callback() {
    return [this](absl::StatusOr<RedisReply> r) {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
      EXPECT_EQ(calls_, 1) << "a callback ran twice";
      result_ = std::move(r);
      at_ = absl::Now();
      thread_ = std::this_thread::get_id();
      cv_.notify_all();
    };
  }
  // False if no callback within `limit`.
  bool Wait(absl::Duration limit = kHang) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(limit), [this] { return calls_ > 0; });
  }
  absl::StatusOr<RedisReply> get() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }
  absl::Time at() {
    std::lock_guard<std::mutex> lock(mu_);
    return at_;
  }
  std::thread::id thread() {
    std::lock_guard<std::mutex> lock(mu_);
    return thread_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  absl::StatusOr<RedisReply> result_ = absl::UnknownError("not called");
  absl::Time at_;
  std::thread::id thread_;
};

inline absl::StatusOr<RedisReply> Call(RedisClient& client, std::vector<std::string> argv) {
  Result r;
  client.Command(std::move(argv), r.Callback());
  if (!r.Wait()) return absl::InternalError("no callback within 30 s");
  return r.get();
}

inline absl::StatusOr<RedisReply> Call(RedisClient& client, std::vector<std::string> argv,
                                       absl::Duration timeout) {
  Result r;
  client.Command(std::move(argv), timeout, r.Callback());
  if (!r.Wait()) return absl::InternalError("no callback within 30 s");
  return r.get();
}

// on_state's calls, in order.
class StateLog {
 public:
  std::function<void(bool)> Callback() {
    return [this](bool up) {
      std::lock_guard<std::mutex> lock(mu_);
      states_.push_back(up);
      cv_.notify_all();
    };
  }
  // Waits until the last transition is `up` (and at least `count` happened).
  bool WaitFor(bool up, size_t count = 1, absl::Duration limit = kHang) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(limit),
                        [&] { return states_.size() >= count && states_.back() == up; });
  }
  std::vector<bool> states() {
    std::lock_guard<std::mutex> lock(mu_);
    return states_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> states_;
};

inline RedisClientOptions OptionsFor(const ::leafsvc::testing::RedisServer& server) {
  RedisClientOptions o;
  o.host = "127.0.0.1";
  o.port = server.port();
  // Fast retries keep the tests short; the defaults are tested elsewhere.
  o.min_reconnect_backoff = absl::Milliseconds(20);
  o.max_reconnect_backoff = absl::Milliseconds(200);
  return o;
}

// A client reporting its states into `states` (null on a failed Create,
// with a test failure).
inline std::unique_ptr<RedisClient> NewClient(RedisClientOptions options, StateLog* states) {
  options.on_state = states->Callback();
  absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Create(std::move(options));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

// NewClient, once it is up (a test failure if it does not come up).
inline std::unique_ptr<RedisClient> UpClient(RedisClientOptions options, StateLog* states) {
  std::unique_ptr<RedisClient> c = NewClient(std::move(options), states);
  if (c == nullptr) return nullptr;
  EXPECT_TRUE(states->WaitFor(true)) << "the client did not come up";
  return c;
}

inline bool WaitUntil(const std::function<bool()>& pred, absl::Duration limit = kHang) {
  const absl::Time end = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

}  // namespace leafsvc::fleet::testing

#endif  // TESTS_FLEET_REDIS_HARNESS_H_
