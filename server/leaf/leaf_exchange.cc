#include "server/leaf/leaf_exchange.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/http/retry_after.h"

namespace leafsvc::leaf {
namespace {

bool RetryableStatus(int http) { return http == 429 || http == 502 || http == 503 || http == 504; }

bool NoAnswer(const absl::Status& status) {
  return status.GetPayload(http::kNoAnswerPayload).has_value();
}

}  // namespace

struct Exchange::Event {
  enum class Kind { kStart, kToken, kResponse, kTimer, kCancel, kAbort };
  Kind kind;
  std::uint64_t epoch = 0;  // kToken, kResponse, kTimer: the step they belong to
  absl::StatusOr<Secret> token = absl::UnknownError("");
  absl::StatusOr<http::HttpResponse> response = absl::UnknownError("");
  absl::Status status;  // kAbort
};

// What Decide chose to do outside the lock, in this order.
struct Exchange::Plan {
  std::optional<http::TransferId> cancel_transfer;
  std::optional<Scheduler::TaskId> cancel_timer;
  // Observers: an attempt's outcome and a retry being scheduled.
  struct Outcome {
    int http_status;
    absl::Duration latency;
    bool reachable;
  };
  std::optional<Outcome> report;
  bool report_retry = false;
  // Exactly one of the following (or none: wait for the next event).
  bool ask_token = false;
  std::optional<Secret> send;
  std::optional<absl::Time> retry_at;
  std::optional<absl::StatusOr<http::HttpResponse>> finish;
  std::uint64_t epoch = 0;  // the step the action belongs to
  // Copied under the lock for Complete.
  int attempts = 0;
  int last_http_status = 0;
  std::vector<std::string> secrets;
};

Exchange::Exchange(Context context, LeafOperation op, http::HttpRequest request,
                   std::optional<Secret> caller_token, std::vector<std::string> secrets,
                   CallStats* stats, ResponseCallback on_response)
    : ctx_(std::move(context)),
      op_(op),
      idempotent_(request.method == "GET" || request.method == "DELETE"),
      request_(std::move(request)),
      caller_token_(std::move(caller_token)),
      stats_(stats),
      on_response_(std::move(on_response)) {
  absl::MutexLock lock(&mu_);
  secrets_ = std::move(secrets);
  if (caller_token_.has_value()) secrets_.push_back(caller_token_->Reveal());
}

Exchange::State Exchange::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void Exchange::Start() { Dispatch(Event{Event::Kind::kStart}); }

void Exchange::Cancel() { Dispatch(Event{Event::Kind::kCancel}); }

void Exchange::Abort(const absl::Status& status) {
  Event e{Event::Kind::kAbort};
  e.status = status;
  Dispatch(std::move(e));
}

void Exchange::Dispatch(Event event) {
  Plan plan;
  {
    absl::MutexLock lock(&mu_);
    plan = Decide(std::move(event));
  }
  Run(std::move(plan));
}

Exchange::Plan Exchange::Decide(Event event) {
  using Kind = Event::Kind;
  if (state_ == State::kDone) return Plan{};
  const bool current = event.epoch == epoch_;
  switch (event.kind) {
    case Kind::kStart:
      if (state_ != State::kIdle) return Plan{};
      return RequestTokenPlan();

    case Kind::kCancel:
    case Kind::kAbort: {
      Plan plan;
      plan.cancel_transfer = transfer_;
      plan.cancel_timer = timer_;
      absl::Status why =
          event.kind == Kind::kCancel
              ? StatusFromTransportError(op_, absl::CancelledError(), "", ctx_.provider)
              : event.status;
      if (event.kind == Kind::kAbort && (transfer_.has_value() || maybe_applied_)) {
        SetStatusMetadata(why, kMetaMaybeApplied, "true");
      }
      Plan finish = FinishPlan(std::move(why));
      finish.cancel_transfer = plan.cancel_transfer;
      finish.cancel_timer = plan.cancel_timer;
      return finish;
    }

    case Kind::kToken: {
      if (!current || state_ != State::kAwaitingToken) return Plan{};
      Plan plan;
      plan.cancel_timer = timer_;  // the token deadline, if armed
      timer_.reset();
      if (!event.token.ok()) {
        Plan finish = FinishPlan(event.token.status());
        finish.cancel_timer = plan.cancel_timer;
        return finish;
      }
      if (absl::Now() >= request_.deadline) {
        Plan finish = FinishPlan(last_error_.value_or(StatusFromTransportError(
            op_, absl::DeadlineExceededError("deadline passed before the request was sent"),
            ctx_.api_url, ctx_.provider)));
        finish.cancel_timer = plan.cancel_timer;
        return finish;
      }
      state_ = State::kSending;
      ++epoch_;
      ++attempts_;
      sent_at_ = absl::Now();
      const std::string& value = event.token->Reveal();
      if (std::find(secrets_.begin(), secrets_.end(), value) == secrets_.end()) {
        secrets_.push_back(value);
      }
      plan.send = *std::move(event.token);
      plan.epoch = epoch_;
      return plan;
    }

    case Kind::kResponse: {
      if (!current || state_ != State::kSending) return Plan{};
      transfer_.reset();
      return DecideResponse(std::move(event.response), *event.token);
    }

    case Kind::kTimer: {
      if (!current) return Plan{};
      timer_.reset();
      if (state_ == State::kBackingOff) return RequestTokenPlan();
      if (state_ == State::kAwaitingToken) {
        // The token source did not answer before the call's deadline.
        return FinishPlan(last_error_.value_or(StatusFromTransportError(
            op_, absl::DeadlineExceededError("deadline passed while waiting for a Leaf token"),
            ctx_.api_url, ctx_.provider)));
      }
      return Plan{};
    }
  }
  return Plan{};
}

Exchange::Plan Exchange::DecideResponse(absl::StatusOr<http::HttpResponse> response,
                                        const Secret& token) {
  Plan plan;
  const absl::Duration latency = absl::Now() - sent_at_;
  if (!response.ok() && response.status().GetPayload(http::kNotSentPayload).has_value()) {
    // Refused before it left (the request budget): not an attempt, and
    // nothing Leaf did. A retry refused after Leaf's own error ends with
    // Leaf's error (its HTTP status and words), with the budget's time to
    // come back; a first request refused ends with the refusal
    // (LEAF_RATE_LIMITED with RetryInfo, or SHUTTING_DOWN).
    --attempts_;
    absl::Status refusal = response.status();
    refusal.ErasePayload(http::kNotSentPayload);
    if (last_error_.has_value() && absl::IsResourceExhausted(refusal)) {
      StatusDetails leafs = GetStatusDetails(*last_error_);
      if (std::optional<absl::Duration> wait = GetStatusDetails(refusal).retry_delay) {
        leafs.retry_delay = wait;
      }
      absl::Status error = MakeStatus(last_error_->code(), last_error_->message(), leafs);
      last_error_.reset();
      return FinishPlan(std::move(error));
    }
    return FinishPlan(std::move(refusal));
  }
  if (!response.ok()) {
    absl::Status error =
        StatusFromTransportError(op_, response.status(), ctx_.api_url, ctx_.provider);
    plan.report = Plan::Outcome{0, latency, false};
    if (http::MaybeSent(response.status())) maybe_applied_ = true;
    if (NoAnswer(response.status()) && idempotent_ && !fresh_connection_next_) {
      // A pooled connection went silent: one more attempt on a new one, at
      // once and whatever the attempt budget (the fault is ours, not Leaf's).
      fresh_connection_next_ = true;
      Plan next = RequestTokenPlan();
      next.report = plan.report;
      return next;
    }
    // A request that certainly never left may always be sent again.
    const bool safe = idempotent_ || !http::MaybeSent(response.status());
    const bool retryable = safe && response.status().code() == absl::StatusCode::kUnavailable;
    Plan next = DecideAfterError(std::move(error), retryable, std::nullopt);
    next.report = plan.report;
    return next;
  }

  const int http = response->status_code;
  last_http_status_ = http;
  plan.report = Plan::Outcome{http, latency, http < 500};
  Plan next;
  if (http == 401 && caller_token_.has_value()) {
    StatusDetails d;
    d.metadata[std::string(kMetaHttpStatus)] = "401";
    next = FinishPlan(
        MakeError(reasons::kCallerLeafTokenRejected,
                  "Leaf rejected the token sent in the x-leaf-token metadata (HTTP 401)", d));
  } else if (http == 401 && !reauthenticated_ && ctx_.tokens->Invalidate(token)) {
    // Invalidate only marks a token generation stale; it never calls back.
    reauthenticated_ = true;
    next = RequestTokenPlan();
  } else if (idempotent_ && RetryableStatus(http)) {
    if (http >= 500) maybe_applied_ = true;
    std::optional<absl::Duration> retry_after =
        http::ParseRetryAfter(response->Header("retry-after"), absl::Now());
    next =
        DecideAfterError(StatusFromLeafResponse(op_, *response, ctx_.provider), true, retry_after);
  } else if (op_ == LeafOperation::kDeleteCredentials && http == 404 && maybe_applied_) {
    // An earlier attempt may have deleted them: the goal is reached.
    http::HttpResponse deleted;
    deleted.status_code = 204;
    next = FinishPlan(std::move(deleted));
  } else {
    next = FinishPlan(*std::move(response));
  }
  next.report = plan.report;
  return next;
}

Exchange::Plan Exchange::DecideAfterError(absl::Status error, bool retryable,
                                          std::optional<absl::Duration> retry_after) {
  const RetryPolicy& policy = ctx_.options->retry;
  if (!retryable || attempts_ >= policy.max_attempts || ctx_.scheduler == nullptr) {
    return FinishPlan(std::move(error));
  }
  const double cap = std::min(
      absl::ToDoubleSeconds(policy.max_backoff),
      absl::ToDoubleSeconds(policy.initial_backoff) * std::pow(policy.multiplier, attempts_ - 1));
  absl::Duration delay = absl::Seconds(cap * ctx_.random());  // full jitter
  if (retry_after.has_value()) delay = std::max(delay, *retry_after);
  const absl::Time when = absl::Now() + delay;
  if (when >= request_.deadline) return FinishPlan(std::move(error));
  last_error_ = std::move(error);
  state_ = State::kBackingOff;
  ++epoch_;
  Plan plan;
  plan.retry_at = when;
  plan.report_retry = true;
  plan.epoch = epoch_;
  return plan;
}

Exchange::Plan Exchange::RequestTokenPlan() {
  state_ = State::kAwaitingToken;
  ++epoch_;
  Plan plan;
  plan.ask_token = true;
  plan.epoch = epoch_;
  return plan;
}

Exchange::Plan Exchange::FinishPlan(absl::StatusOr<http::HttpResponse> result) {
  state_ = State::kDone;
  ++epoch_;
  transfer_.reset();
  timer_.reset();
  Plan plan;
  plan.finish = std::move(result);
  plan.attempts = attempts_;
  plan.last_http_status = last_http_status_;
  plan.secrets = secrets_;
  return plan;
}

void Exchange::Run(Plan plan) {
  if (plan.cancel_transfer.has_value()) ctx_.http->Cancel(*plan.cancel_transfer);
  if (plan.cancel_timer.has_value() && ctx_.scheduler != nullptr) {
    ctx_.scheduler->Cancel(*plan.cancel_timer);
  }
  if (plan.report.has_value() && ctx_.options->on_attempt) {
    ctx_.options->on_attempt(AttemptInfo{request_.method, plan.report->http_status,
                                         plan.report->latency, plan.report->reachable});
  }
  if (plan.report_retry && ctx_.options->on_retry) ctx_.options->on_retry(request_.method);

  if (plan.finish.has_value()) {
    Complete(*std::move(plan.finish), plan.attempts, plan.last_http_status,
             std::move(plan.secrets));
  } else if (plan.ask_token) {
    AskForToken(plan.epoch);
  } else if (plan.send.has_value()) {
    SendAttempt(plan.epoch, *std::move(plan.send));
  } else if (plan.retry_at.has_value()) {
    auto self = shared_from_this();
    const std::uint64_t epoch = plan.epoch;
    absl::MutexLock lock(&mu_);
    // Armed under the lock so that a Cancel sees (and cancels) it. The
    // scheduler never runs a task inside RunAt.
    if (state_ != State::kBackingOff || epoch_ != epoch) return;
    timer_ = ctx_.scheduler->RunAt(*plan.retry_at, [self, epoch] {
      Event e{Event::Kind::kTimer};
      e.epoch = epoch;
      self->Dispatch(std::move(e));
    });
  }
}

void Exchange::AskForToken(std::uint64_t epoch) {
  auto self = shared_from_this();
  auto deliver = [self, epoch](absl::StatusOr<Secret> token) {
    Event e{Event::Kind::kToken};
    e.epoch = epoch;
    e.token = std::move(token);
    self->Dispatch(std::move(e));
  };
  if (caller_token_.has_value()) return deliver(*caller_token_);
  ctx_.tokens->GetToken(std::move(deliver));
  // Still waiting (a login is under way): the call's deadline must hold
  // even if the login takes longer.
  if (ctx_.scheduler == nullptr || request_.deadline == absl::InfiniteFuture()) return;
  absl::MutexLock lock(&mu_);
  if (state_ != State::kAwaitingToken || epoch_ != epoch) return;
  timer_ = ctx_.scheduler->RunAt(request_.deadline, [self, epoch] {
    Event e{Event::Kind::kTimer};
    e.epoch = epoch;
    self->Dispatch(std::move(e));
  });
}

void Exchange::SendAttempt(std::uint64_t epoch, Secret token) {
  http::HttpRequest request = request_;
  request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", token.Reveal()));
  auto self = shared_from_this();
  absl::MutexLock lock(&mu_);
  if (state_ != State::kSending || epoch_ != epoch) return;  // ended meanwhile
  // A non-idempotent request must not be re-sent behind our back.
  request.fresh_connection = !idempotent_ || fresh_connection_next_;
  if (idempotent_ && !request.fresh_connection) {
    request.first_byte_timeout = ctx_.options->first_byte_timeout;
  }
  // Registering the transfer id under the lock orders it before any Cancel.
  // HttpClient never runs the callback inside Send, so this cannot deadlock.
  transfer_ = ctx_.http->Send(std::move(request),
                              [self, epoch, token](absl::StatusOr<http::HttpResponse> r) {
                                Event e{Event::Kind::kResponse};
                                e.epoch = epoch;
                                e.token = token;
                                e.response = std::move(r);
                                self->Dispatch(std::move(e));
                              });
}

void Exchange::Complete(absl::StatusOr<http::HttpResponse> result, int attempts,
                        int last_http_status, std::vector<std::string> secrets) {
  // Every non-2xx answer becomes its error here, in one place.
  if (result.ok() && (result->status_code < 200 || result->status_code >= 300)) {
    result = StatusFromLeafResponse(op_, *result, ctx_.provider);
  }
  if (stats_ != nullptr) {
    stats_->attempts = attempts;
    stats_->last_http_status = last_http_status;
  }
  if (!result.ok()) {
    absl::Status st = RedactSecrets(result.status(), secrets);
    if (attempts > 1) SetStatusMetadata(st, kMetaAttempts, absl::StrCat(attempts));
    // The redaction keeps only the details; a read shared by several
    // callers needs to know that the budget refused it for its deadline.
    if (result.status().GetPayload(http::kTooLatePayload).has_value()) {
      st.SetPayload(http::kTooLatePayload, absl::Cord("true"));
    }
    result = st;
  }
  // The client's slot is free before the caller hears back, so that the
  // caller may start its next call at once.
  if (on_finished_) on_finished_();
  ResponseCallback cb = std::move(on_response_);
  cb(std::move(result));
}

}  // namespace leafsvc::leaf
