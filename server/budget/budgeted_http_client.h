// An HttpClient that sends nothing the request budget has not granted.
// Every client of Leaf (the Leaf client's calls and retries, logins, the
// webhook registrar) sends through one of these, so the budget sees every
// request to Leaf. A request waits for its grant (class from its
// `priority`, until its `deadline`); a refusal ends it with the budget's
// error (RESOURCE_EXHAUSTED, LEAF_RATE_LIMITED, RetryInfo) without sending
// anything. Leaf's answers tell the budget about 429s. Like every
// HttpClient, it never runs a callback inside Send: a refusal known at once
// is delivered from the scheduler.
#ifndef SERVER_BUDGET_BUDGETED_HTTP_CLIENT_H_
#define SERVER_BUDGET_BUDGETED_HTTP_CLIENT_H_

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/budget/request_budget.h"
#include "server/http/http_client.h"

namespace leafsvc::budget {

// The HttpRequest::priority of each class.
inline int PriorityOf(RequestClass c) { return static_cast<int>(c); }

class BudgetedHttpClient final : public http::HttpClient {
 public:
  // All three must outlive this client. `scheduler` delivers refusals known
  // inside Send (null: they run inline, for tests of this class only).
  BudgetedHttpClient(http::HttpClient* inner, RequestBudget* budget,
                     Scheduler* scheduler = nullptr);
  ~BudgetedHttpClient() override;

  http::TransferId Send(http::HttpRequest request, http::HttpCallback done) override;
  void Cancel(http::TransferId id) override;

 private:
  // One request: waiting for its grant, then sent.
  struct Transfer {
    absl::Mutex mu;
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    bool granted ABSL_GUARDED_BY(mu) = false;
    bool in_send ABSL_GUARDED_BY(mu) = true;  // Send has not returned
    RequestBudget::Ticket ticket ABSL_GUARDED_BY(mu) = 0;
    http::TransferId inner ABSL_GUARDED_BY(mu) = 0;
  };

  void Forget(http::TransferId id);

  http::HttpClient* const inner_;
  RequestBudget* const budget_;
  Scheduler* const scheduler_;
  absl::Mutex mu_;
  http::TransferId next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<http::TransferId, std::shared_ptr<Transfer>> transfers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::budget

#endif  // SERVER_BUDGET_BUDGETED_HTTP_CLIENT_H_
