// A ConnectFlow for the pages' tests: links in a map, answers inline, from
// another thread, or held until the test releases them.
#ifndef TESTS_CONNECT_CONNECT_PAGES_FAKE_FLOW_H_
#define TESTS_CONNECT_CONNECT_PAGES_FAKE_FLOW_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "server/connect/connect_flow.h"
#include "server/errors/reasons.h"

namespace leafsvc::connect::testing {

inline const absl::Time kNow = absl::FromUnixSeconds(1800000000);

// Links in a map; answers inline, from another thread, or held until the
// test releases them.
class FakeFlow : public ConnectFlow {
 public:
  enum class Mode { kInline, kThread, kHold };

  ~FakeFlow() override { JoinAll(); }

  void GetLink(const std::string& id,
               std::function<void(absl::StatusOr<ConnectLink>)> done) override {
    Answer([this, id, done] { done(Find(id)); });
  }

  void StartAttempt(const std::string& id,
                    std::function<void(absl::StatusOr<AttemptStart>)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++starts;
    }
    Answer([this, id, done] {
      absl::StatusOr<ConnectLink> link = Find(id);
      if (!link.ok()) return done(link.status());
      if (link->StateAt(kNow) == LinkState::kExpired) {
        return done(MakeError(reasons::kConnectLinkExpired));
      }
      if (link->state == LinkState::kConnected) {
        return done(MakeError(reasons::kConnectLinkAlreadyUsed));
      }
      AttemptStart a;
      a.authorize_url = "https://agfiniti.test/Account/Authorize?state=S-" + id;
      a.browser_binding = "binding-" + id;
      a.expire_time = kNow + absl::Minutes(15);
      done(a);
    });
  }

  void Complete(CallbackParams params,
                std::function<void(absl::StatusOr<ConnectLink>)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      completes.push_back(params);
    }
    Answer([this, params, done] {
      if (!absl::StartsWith(params.state, "S-") ||
          params.browser_binding != "binding-" + params.state.substr(2)) {
        return done(MakeError(reasons::kConnectStateInvalid));
      }
      absl::StatusOr<ConnectLink> link = Find(params.state.substr(2));
      if (!link.ok()) return done(link.status());
      link->state = params.error.empty() ? LinkState::kConnected : LinkState::kDenied;
      done(*link);
    });
  }

  void Add(ConnectLink link) {
    std::lock_guard<std::mutex> lock(mu_);
    links_[link.id] = std::move(link);
  }
  void set_mode(Mode mode) { mode_ = mode; }
  // Runs the held answers (on this thread).
  void Release() {
    std::vector<std::function<void()>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& f : held) f();
  }
  size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  void JoinAll() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  int Starts() {
    std::lock_guard<std::mutex> lock(mu_);
    return starts;
  }
  std::vector<CallbackParams> Completes() {
    std::lock_guard<std::mutex> lock(mu_);
    return completes;
  }

 private:
  int starts = 0;                         // guarded by mu_
  std::vector<CallbackParams> completes;  // guarded by mu_

  absl::StatusOr<ConnectLink> Find(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = links_.find(id);
    if (it == links_.end()) return MakeError(reasons::kConnectLinkNotFound);
    return it->second;
  }
  void Answer(std::function<void()> f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (mode_ == Mode::kInline) {
      mu_.unlock();
      f();
      mu_.lock();
    } else if (mode_ == Mode::kThread) {
      threads_.emplace_back(std::move(f));
    } else {
      held_.push_back(std::move(f));
    }
  }

  std::mutex mu_;
  Mode mode_ = Mode::kInline;
  std::map<std::string, ConnectLink> links_;
  std::vector<std::function<void()>> held_;
  std::vector<std::thread> threads_;
};

}  // namespace leafsvc::connect::testing

#endif  // TESTS_CONNECT_CONNECT_PAGES_FAKE_FLOW_H_
