// Fakes for the hub's resume tests: a poller that counts, a watcher that
// records what it is handed (with tokens), a clock the test moves.
#ifndef TESTS_WATCH_HUB_FAKES_H_
#define TESTS_WATCH_HUB_FAKES_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/watch/polling_watch_hub.h"

namespace leafsvc::watch {

struct FakePolls final : PollControl {
  std::map<std::string, int> added, removed;
  void Add(const std::string& user) override { ++added[user]; }
  void Remove(const std::string& user) override { ++removed[user]; }
  bool PollNow(const std::string&, Source) override { return true; }
};

struct Seen {
  std::string user;
  ChangeKind kind;
  std::string credential;  // current id (empty: none)
  std::string status;
  std::string token;
};

struct Recorder : Watcher {
  std::vector<Seen> seen;
  void Enqueue(const std::string& user, const Change& c) override {
    seen.push_back({user, c.kind, c.current ? c.current->id : "",
                    c.current ? c.current->status : "", c.resume_token});
  }
  void Deliver() override {}
  void OnEnd(const absl::Status&) override {}
  std::vector<std::pair<std::string, ChangeKind>> kinds() const {
    std::vector<std::pair<std::string, ChangeKind>> out;
    for (const Seen& s : seen) out.emplace_back(s.user, s.kind);
    return out;
  }
  const std::string& last_token() const { return seen.back().token; }
};

using Kinds = std::vector<std::pair<std::string, ChangeKind>>;

// A clock the test moves.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::function<absl::Time()> fn() {
    return [this] { return now; };
  }
};

inline HubOptions Options(FakeClock& clock, size_t history = 100) {
  HubOptions o;
  o.log_id = "test-log";
  o.history = history;
  o.clock = clock.fn();
  return o;
}

}  // namespace leafsvc::watch

#endif  // TESTS_WATCH_HUB_FAKES_H_
