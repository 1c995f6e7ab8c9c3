// The sweeper tests' fakes: per-user reads answered at once or held, a
// listing whose pages the test answers, the sink's reports, and options.
#ifndef TESTS_WATCH_SWEEPER_FAKES_H_
#define TESTS_WATCH_SWEEPER_FAKES_H_

#include <atomic>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/watch/poller.h"
#include "server/watch/sweeper.h"
#include "tests/watch/observations.h"

namespace leafsvc::watch {

// Watched ids are canonical (lower case); the listing may spell them in
// upper case.
inline const char* const kU1 = "00000000-0000-0000-0000-0000000000a1";
inline const char* const kU2 = "00000000-0000-0000-0000-0000000000a2";
inline const char* const kU3 = "00000000-0000-0000-0000-0000000000a3";
inline const char* const kU4 = "00000000-0000-0000-0000-0000000000a4";
inline const char* const kU5 = "00000000-0000-0000-0000-0000000000a5";

class CountingCall final : public leaf::Cancellable {
 public:
  explicit CountingCall(std::atomic<int>* cancels) : cancels_(cancels) {}
  void Cancel() override { cancels_->fetch_add(1); }

 private:
  std::atomic<int>* cancels_;
};

// Per-user reads: answered at once with "c-<user>" OK, or held.
struct FakeReads {
  absl::Mutex mu;
  std::map<std::string, int> reads;
  bool hold = false;
  std::vector<std::function<void(Observation)>> held;
  std::atomic<int> cancels{0};

  Poller::Fetch Fetch() {
    return [this](const std::string& user, Source, std::function<void(Observation)> done) {
      {
        absl::MutexLock lock(&mu);
        ++reads[user];
        if (hold) {
          held.push_back(std::move(done));
          return std::make_shared<CountingCall>(&cancels);
        }
      }
      done(Present("own-" + user, "OK"));
      return std::make_shared<CountingCall>(&cancels);
    };
  }
  int Reads(const std::string& user) {
    absl::MutexLock lock(&mu);
    return reads[user];
  }
};

// Listing pages: every request held until the test answers it.
struct FakeListing {
  struct Request {
    int page;
    int size;
    absl::Time deadline;
    Sweeper::PageDone done;
  };
  absl::Mutex mu;
  std::vector<Request> requests;
  std::atomic<int> cancels{0};

  Sweeper::SweepFetch Fetch() {
    return [this](int page, int size, absl::Time deadline, Sweeper::PageDone done) {
      absl::MutexLock lock(&mu);
      requests.push_back({page, size, deadline, std::move(done)});
      return std::make_shared<CountingCall>(&cancels);
    };
  }
  int count() {
    absl::MutexLock lock(&mu);
    return static_cast<int>(requests.size());
  }
  int page(int i) {
    absl::MutexLock lock(&mu);
    return requests.at(i).page;
  }
  // Answers request `i`.
  void Answer(int i, absl::StatusOr<leaf::LeafUsersPage> result) {
    Sweeper::PageDone done;
    {
      absl::MutexLock lock(&mu);
      done = std::move(requests.at(i).done);
    }
    done(std::move(result));
  }
};

inline leaf::LeafUser Listed(std::string id, std::optional<std::string> status) {
  leaf::LeafUser u;
  u.id = std::move(id);
  if (status) {
    leaf::ProviderCredentials c;
    c.id = "swept-" + u.id;
    c.status = *status;
    u.credentials = c;
  }
  return u;
}

inline leaf::LeafUsersPage Page(std::vector<leaf::LeafUser> users, std::optional<long long> total) {
  leaf::LeafUsersPage p;
  p.users = std::move(users);
  p.total_count = total;
  return p;
}

inline std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// What the sink was told, per user: credential ids in order.
struct Reports {
  absl::Mutex mu;
  std::map<std::string, std::vector<std::string>> ids;
  std::vector<Source> sources;
  Poller::Sink Sink() {
    return [this](const std::string& user, const Observation& o, Source s) {
      absl::MutexLock lock(&mu);
      ids[user].push_back(o.kind == Observation::Kind::kPresent ? o.credentials.id : "-");
      sources.push_back(s);
    };
  }
  std::vector<std::string> Of(const std::string& user) {
    absl::MutexLock lock(&mu);
    return ids[user];
  }
};

inline PollerOptions Slow() {
  PollerOptions o;
  o.interval = absl::Hours(1);  // no timer fires during a test
  o.jitter = absl::ZeroDuration();
  o.random = [] { return 0.0; };
  o.min_prompt_interval = absl::ZeroDuration();
  return o;
}

inline SweeperOptions PageSize(int n) {
  SweeperOptions o;
  o.page_size = n;
  o.page_timeout = absl::Seconds(7);
  return o;
}

}  // namespace leafsvc::watch

#endif  // TESTS_WATCH_SWEEPER_FAKES_H_
