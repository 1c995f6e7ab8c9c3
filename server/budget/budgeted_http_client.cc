#include "server/budget/budgeted_http_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/time/clock.h"
#include "server/http/retry_after.h"

namespace leafsvc::budget {
namespace {

RequestClass ClassOf(int priority) {
  return static_cast<RequestClass>(std::clamp(priority, 0, kRequestClasses - 1));
}

}  // namespace

BudgetedHttpClient::BudgetedHttpClient(http::HttpClient* inner, RequestBudget* budget,
                                       Scheduler* scheduler)
    : inner_(inner), budget_(budget), scheduler_(scheduler) {}

BudgetedHttpClient::~BudgetedHttpClient() = default;

http::TransferId BudgetedHttpClient::Send(http::HttpRequest request, http::HttpCallback done) {
  auto transfer = std::make_shared<Transfer>();
  http::TransferId id;
  {
    absl::MutexLock lock(&mu_);
    id = ++next_id_;
    transfers_[id] = transfer;
  }
  const RequestClass cls = ClassOf(request.priority);
  const absl::Time deadline = request.deadline;
  // The grant may run inline (a token at hand) or later on the budget's
  // timer; either way the request leaves from there.
  auto shared_request = std::make_shared<http::HttpRequest>(std::move(request));
  auto shared_done = std::make_shared<http::HttpCallback>(std::move(done));
  const RequestBudget::Ticket ticket = budget_->Acquire(
      cls, deadline, [this, id, transfer, shared_request, shared_done](absl::Status granted) {
        if (!granted.ok()) {
          bool inline_refusal;
          {
            absl::MutexLock lock(&transfer->mu);
            transfer->granted = true;  // nothing to cancel any more
            inline_refusal = transfer->in_send;
          }
          Forget(id);
          http::WipeRequest(*shared_request);
          granted.SetPayload(http::kNotSentPayload, absl::Cord("true"));
          if (inline_refusal && scheduler_ != nullptr) {
            // The caller may hold its own lock around Send.
            scheduler_->RunAt(absl::Now(), [shared_done, granted = std::move(granted)]() mutable {
              (*shared_done)(std::move(granted));
            });
            return;
          }
          (*shared_done)(std::move(granted));
          return;
        }
        RequestBudget* budget = budget_;
        auto answered = [this, id, budget, shared_done](absl::StatusOr<http::HttpResponse> r) {
          if (!r.ok()) {
            budget->OnUnanswered();
          } else if (r->status_code == 429) {
            budget->OnRateLimited(http::ParseRetryAfter(r->Header("retry-after"), absl::Now()));
          } else {
            budget->OnAnswered();
          }
          Forget(id);
          (*shared_done)(std::move(r));
        };
        bool cancelled;
        {
          absl::MutexLock lock(&transfer->mu);
          cancelled = transfer->cancelled;
          transfer->granted = true;
        }
        if (cancelled) {
          // Cancelled as the grant came: the token is spent, nothing sent
          // (if it was the probe after a pause, the next grant probes).
          http::WipeRequest(*shared_request);
          budget_->OnUnanswered();
          Forget(id);
          (*shared_done)(absl::CancelledError("the request to Leaf was cancelled"));
          return;
        }
        if (shared_request->on_granted) shared_request->on_granted();
        const http::TransferId inner = inner_->Send(std::move(*shared_request), answered);
        bool cancel_now;
        {
          absl::MutexLock lock(&transfer->mu);
          transfer->inner = inner;
          cancel_now = transfer->cancelled;
        }
        if (cancel_now) inner_->Cancel(inner);
      });
  bool cancel_wait;
  {
    absl::MutexLock lock(&transfer->mu);
    transfer->ticket = ticket;
    transfer->in_send = false;
    cancel_wait = transfer->cancelled && !transfer->granted;
  }
  // Cancelled before the ticket was known here.
  if (cancel_wait) budget_->Cancel(ticket);
  return id;
}

void BudgetedHttpClient::Cancel(http::TransferId id) {
  std::shared_ptr<Transfer> transfer;
  {
    absl::MutexLock lock(&mu_);
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    transfer = it->second;
  }
  RequestBudget::Ticket ticket = 0;
  http::TransferId inner = 0;
  {
    absl::MutexLock lock(&transfer->mu);
    if (transfer->cancelled) return;
    transfer->cancelled = true;
    if (!transfer->granted) ticket = transfer->ticket;
    inner = transfer->inner;
  }
  // Still waiting: the budget ends the wait (the grant runs with
  // CANCELLED). Sent: the transport cancels the transfer.
  if (ticket != 0) budget_->Cancel(ticket);
  if (inner != 0) inner_->Cancel(inner);
}

void BudgetedHttpClient::Forget(http::TransferId id) {
  absl::MutexLock lock(&mu_);
  transfers_.erase(id);
}

}  // namespace leafsvc::budget
