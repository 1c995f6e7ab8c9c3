// An HttpClient for unit tests: records each request and lets the test
// answer it later, from the test thread (never inside Send, as the contract
// requires).
#ifndef TESTS_LEAF_FAKE_HTTP_CLIENT_H_
#define TESTS_LEAF_FAKE_HTTP_CLIENT_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/http/http_client.h"

namespace leafsvc::testing {

class FakeHttpClient final : public http::HttpClient {
 public:
  http::TransferId Send(http::HttpRequest request, http::HttpCallback done) override {
    absl::MutexLock lock(&mu_);
    const http::TransferId id = ++next_id_;
    requests_.push_back(request);
    pending_[id] = {std::move(request), std::move(done)};
    return id;
  }

  void Cancel(http::TransferId id) override {
    http::HttpCallback done;
    {
      absl::MutexLock lock(&mu_);
      auto it = pending_.find(id);
      if (it == pending_.end()) return;
      done = std::move(it->second.second);
      pending_.erase(it);
      ++cancelled_;
    }
    done(absl::CancelledError("cancelled"));
  }

  // Answers the oldest pending request. Returns false if none is pending.
  bool Respond(absl::StatusOr<http::HttpResponse> response) {
    http::HttpCallback done;
    {
      absl::MutexLock lock(&mu_);
      if (pending_.empty()) return false;
      done = std::move(pending_.begin()->second.second);
      pending_.erase(pending_.begin());
    }
    done(std::move(response));
    return true;
  }

  // Takes the oldest pending request's callback out without running it, as a
  // transport does when a response arrives: from then on Cancel(id) finds
  // nothing to cancel. Lets a test put a Cancel between "response received"
  // and "response handled".
  std::optional<http::HttpCallback> Take() {
    absl::MutexLock lock(&mu_);
    if (pending_.empty()) return std::nullopt;
    http::HttpCallback done = std::move(pending_.begin()->second.second);
    pending_.erase(pending_.begin());
    return done;
  }

  bool Respond(int status, std::string body = "", http::HttpHeaders headers = {}) {
    http::HttpResponse r;
    r.status_code = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return Respond(std::move(r));
  }

  std::vector<http::HttpRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t pending() const {
    absl::MutexLock lock(&mu_);
    return pending_.size();
  }
  int cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

 private:
  mutable absl::Mutex mu_;
  http::TransferId next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<http::HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::map<http::TransferId, std::pair<http::HttpRequest, http::HttpCallback>> pending_
      ABSL_GUARDED_BY(mu_);
  int cancelled_ ABSL_GUARDED_BY(mu_) = 0;
};

// Value of header `name` in `request`, or "".
inline std::string HeaderOf(const http::HttpRequest& request, absl::string_view name) {
  for (const auto& [k, v] : request.headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace leafsvc::testing

#endif  // TESTS_LEAF_FAKE_HTTP_CLIENT_H_
