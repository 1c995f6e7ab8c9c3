// Synchronous views of the asynchronous LinkStore for tests: each call
// waits (bounded) for its callback and fails the test if it never comes.
#ifndef TESTS_CONNECT_STORE_SYNC_H_
#define TESTS_CONNECT_STORE_SYNC_H_

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/connect/link_store.h"

namespace leafsvc::connect::testing {

// A clock tests move by hand; safe to read from any thread.
class FakeClock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}
  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  std::function<absl::Time()> Fn() {
    return [this] { return Now(); };
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

template <typename T>
T WaitFor(std::future<T>& f, T on_hang) {
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) return on_hang;
  return f.get();
}

inline absl::Status CreateNow(LinkStore& s, const ConnectLink& link) {
  auto p = std::make_shared<std::promise<absl::Status>>();
  auto f = p->get_future();
  s.CreateLink(link, [p](absl::Status st) { p->set_value(st); });
  return WaitFor(f, absl::InternalError("hang"));
}

inline absl::StatusOr<ConnectLink> GetNow(LinkStore& s, const std::string& id) {
  auto p = std::make_shared<std::promise<absl::StatusOr<ConnectLink>>>();
  auto f = p->get_future();
  s.GetLink(id, [p](absl::StatusOr<ConnectLink> r) { p->set_value(std::move(r)); });
  return WaitFor(f, absl::StatusOr<ConnectLink>(absl::InternalError("hang")));
}

inline absl::StatusOr<ConnectLink> UpdateNow(LinkStore& s, const std::string& id,
                                             const LinkUpdate& u) {
  auto p = std::make_shared<std::promise<absl::StatusOr<ConnectLink>>>();
  auto f = p->get_future();
  s.UpdateLink(id, u, [p](absl::StatusOr<ConnectLink> r) { p->set_value(std::move(r)); });
  return WaitFor(f, absl::StatusOr<ConnectLink>(absl::InternalError("hang")));
}

inline absl::Status PutNow(LinkStore& s, const Attempt& a) {
  auto p = std::make_shared<std::promise<absl::Status>>();
  auto f = p->get_future();
  s.PutAttempt(a, [p](absl::Status st) { p->set_value(st); });
  return WaitFor(f, absl::InternalError("hang"));
}

inline absl::StatusOr<Attempt> TakeNow(LinkStore& s, const std::string& hash) {
  auto p = std::make_shared<std::promise<absl::StatusOr<Attempt>>>();
  auto f = p->get_future();
  s.TakeAttempt(hash, [p](absl::StatusOr<Attempt> r) { p->set_value(std::move(r)); });
  return WaitFor(f, absl::StatusOr<Attempt>(absl::InternalError("hang")));
}

inline ConnectLink TestLink(const std::string& id, absl::Time now) {
  ConnectLink l;
  l.id = id;
  l.leaf_user_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
  l.return_url = "https://a.example/app";
  l.state = LinkState::kPending;
  l.create_time = now;
  l.update_time = now;
  l.expire_time = now + absl::Hours(1);
  return l;
}

inline Attempt TestAttempt(const std::string& hash, const std::string& link_id, absl::Time expire) {
  Attempt a;
  a.state_hash = hash;
  a.link_id = link_id;
  a.binding_hash = "binding-" + hash;
  a.pkce_verifier = Secret("verifier-" + hash);
  a.expire_time = expire;
  return a;
}

}  // namespace leafsvc::connect::testing

#endif  // TESTS_CONNECT_STORE_SYNC_H_
