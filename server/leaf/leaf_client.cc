#include "server/leaf/leaf_client.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/leaf/leaf_json.h"
#include "server/util/status_details.h"

namespace leafsvc::leaf {
namespace {

bool RetryableStatus(int http) { return http == 429 || http == 502 || http == 503 || http == 504; }

double DefaultRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// Completes a call that never started.
class FinishedCall final : public LeafCall {
 public:
  void Cancel() override {}
};

}  // namespace

// One REST exchange: obtain a token, send; on a 401 renew the token and send
// once more; on a retryable failure wait (backoff) and send again. Delivers
// the final HTTP response (any status) or an error status to `on_response`,
// exactly once.
class LeafClient::Exchange final : public LeafCall,
                                   public std::enable_shared_from_this<Exchange> {
 public:
  using ResponseCallback = std::function<void(absl::StatusOr<http::HttpResponse>)>;

  Exchange(LeafClient* client, LeafOperation op, http::HttpRequest request,
           std::optional<Secret> caller_token, std::vector<std::string> secrets,
           CallStats* stats, ResponseCallback on_response)
      : client_(client),
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

  void Start() { RequestToken(); }

  void Cancel() override {
    std::optional<http::TransferId> transfer;
    std::optional<Scheduler::TaskId> timer;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_ || done_) return;
      cancelled_ = true;
      transfer = transfer_;
      timer = timer_;
    }
    if (transfer.has_value()) {
      // The transport completes the transfer with CANCELLED, which finishes.
      client_->http_->Cancel(*transfer);
      return;
    }
    // Waiting for a token or a backoff: finish now rather than later.
    if (timer.has_value()) client_->options_.scheduler->Cancel(*timer);
    Finish(StatusFromTransportError(op_, absl::CancelledError(), ""));
  }

 private:
  void RequestToken() {
    if (caller_token_.has_value()) return Send(*caller_token_);
    auto self = shared_from_this();
    client_->tokens_->GetToken([self](absl::StatusOr<Secret> token) {
      if (!token.ok()) {
        self->Finish(token.status());
      } else {
        self->Send(*std::move(token));
      }
    });
  }

  void Send(Secret token) {
    http::HttpRequest request = request_;
    request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", token.Reveal()));
    // A non-idempotent request must not be re-sent behind our back.
    request.fresh_connection = !idempotent_;
    if (absl::Now() >= request.deadline) {
      Finish(last_error_.value_or(StatusFromTransportError(
          op_, absl::DeadlineExceededError("deadline passed before the request was sent"),
          client_->endpoints_.api_url())));
      return;
    }
    auto self = shared_from_this();
    absl::MutexLock lock(&mu_);
    if (cancelled_ || done_) return;  // Cancel() has finished (or will finish) the call
    ++attempts_;
    sent_at_ = absl::Now();
    if (std::find(secrets_.begin(), secrets_.end(), token.Reveal()) == secrets_.end()) {
      secrets_.push_back(token.Reveal());
    }
    // Registering the transfer id under the lock orders it before any Cancel.
    // HttpClient never runs the callback inside Send, so this cannot deadlock.
    transfer_ = client_->http_->Send(
        std::move(request), [self, token](absl::StatusOr<http::HttpResponse> r) {
          self->OnResponse(token, std::move(r));
        });
  }

  void OnResponse(const Secret& token, absl::StatusOr<http::HttpResponse> response) {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      transfer_.reset();
      cancelled = cancelled_;
    }
    if (!response.ok()) {
      if (!cancelled) Report(0, false);
      absl::Status error = StatusFromTransportError(op_, response.status(),
                                                    client_->endpoints_.api_url());
      if (http::MaybeSent(response.status())) maybe_applied_ = true;
      // A request that certainly never left may always be sent again.
      const bool safe = idempotent_ || !http::MaybeSent(response.status());
      if (!cancelled && safe && response.status().code() == absl::StatusCode::kUnavailable &&
          RetryLater(error, std::nullopt)) {
        return;
      }
      Finish(std::move(error));
      return;
    }
    const int http = response->status_code;
    last_http_status_ = http;
    Report(http, http < 500);
    if (http == 401 && caller_token_.has_value()) {
      StatusDetails d;
      d.reason = std::string(kReasonCallerTokenRejected);
      d.metadata[std::string(kMetaHttpStatus)] = "401";
      Finish(MakeStatus(absl::StatusCode::kUnauthenticated,
                        "Leaf rejected the token sent in the x-leaf-token metadata (HTTP 401)",
                        d));
      return;
    }
    if (http == 401 && !reauthenticated_ && client_->tokens_->Invalidate(token)) {
      reauthenticated_ = true;
      RequestToken();
      return;
    }
    if (idempotent_ && RetryableStatus(http)) {
      if (http >= 500) maybe_applied_ = true;
      std::optional<absl::Duration> retry_after =
          ParseRetryAfter(response->Header("retry-after"), absl::Now());
      if (RetryLater(StatusFromLeafResponse(op_, *response), retry_after)) return;
    }
    if (op_ == LeafOperation::kDeleteCredentials && http == 404 && maybe_applied_) {
      // An earlier attempt may have deleted them: the goal is reached.
      http::HttpResponse deleted;
      deleted.status_code = 204;
      Finish(std::move(deleted));
      return;
    }
    Finish(*std::move(response));
  }

  // Schedules another attempt if the policy and the deadline allow; keeps
  // `error` to report if the deadline passes first. Returns false when the
  // caller should finish with `error` now.
  bool RetryLater(const absl::Status& error, std::optional<absl::Duration> retry_after) {
    const RetryPolicy& policy = client_->options_.retry;
    int attempts;
    {
      absl::MutexLock lock(&mu_);
      attempts = attempts_;
    }
    if (attempts >= policy.max_attempts || client_->options_.scheduler == nullptr) {
      return false;
    }
    const double cap = std::min(
        absl::ToDoubleSeconds(policy.max_backoff),
        absl::ToDoubleSeconds(policy.initial_backoff) * std::pow(policy.multiplier, attempts - 1));
    absl::Duration delay = absl::Seconds(cap * client_->random_());  // full jitter
    if (retry_after.has_value()) delay = std::max(delay, *retry_after);
    const absl::Time when = absl::Now() + delay;
    if (when >= request_.deadline) return false;
    last_error_ = error;
    auto self = shared_from_this();
    absl::MutexLock lock(&mu_);
    if (cancelled_ || done_) return true;  // Cancel() finishes the call
    if (client_->options_.on_retry) client_->options_.on_retry(request_.method);
    timer_ = client_->options_.scheduler->RunAt(when, [self] {
      {
        absl::MutexLock lock(&self->mu_);
        self->timer_.reset();
      }
      self->RequestToken();
    });
    return true;
  }

  void Report(int http_status, bool reachable) {
    if (client_->options_.on_attempt) {
      client_->options_.on_attempt(
          AttemptInfo{request_.method, http_status, absl::Now() - sent_at_, reachable});
    }
  }

  void Finish(absl::StatusOr<http::HttpResponse> result) {
    int attempts;
    std::vector<std::string> secrets;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      done_ = true;
      attempts = attempts_;
      secrets = secrets_;
    }
    // Every non-2xx answer becomes its error here, in one place.
    if (result.ok() && (result->status_code < 200 || result->status_code >= 300)) {
      result = StatusFromLeafResponse(op_, *result);
    }
    if (stats_ != nullptr) {
      stats_->attempts = attempts;
      stats_->last_http_status = last_http_status_;
    }
    if (!result.ok()) {
      absl::Status st = RedactSecrets(result.status(), secrets);
      if (attempts > 1) SetStatusMetadata(st, kMetaAttempts, absl::StrCat(attempts));
      result = st;
    }
    client_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
    ResponseCallback cb = std::move(on_response_);
    cb(std::move(result));
  }

  LeafClient* const client_;
  const LeafOperation op_;
  const bool idempotent_;
  const http::HttpRequest request_;
  const std::optional<Secret> caller_token_;
  CallStats* const stats_;
  ResponseCallback on_response_;
  // Touched only by the one thread driving the exchange at a time (the
  // steps run one after another: token, send, response, backoff).
  bool reauthenticated_ = false;
  absl::Time sent_at_;
  int last_http_status_ = 0;
  bool maybe_applied_ = false;
  std::optional<absl::Status> last_error_;

  absl::Mutex mu_;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<http::TransferId> transfer_ ABSL_GUARDED_BY(mu_);
  // Values never to show in an error: what the call sent, tokens used.
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mu_);
  std::optional<Scheduler::TaskId> timer_ ABSL_GUARDED_BY(mu_);
};

namespace {

http::HttpRequest MakeRequest(const char* method, std::string url) {
  http::HttpRequest request;
  request.method = method;
  request.url = std::move(url);
  request.headers = {{"Accept", "application/json"}};
  return request;
}

// Decodes a success body of type T (the exchange has already turned every
// non-2xx answer into an error).
template <typename T>
absl::StatusOr<T> Decode(LeafOperation op, absl::StatusOr<http::HttpResponse> response,
                         absl::StatusOr<T> (*decoder)(absl::string_view)) {
  if (!response.ok()) return response.status();
  absl::StatusOr<T> value = decoder(response->body);
  if (!value.ok()) return StatusFromBadBody(op, response->status_code, value.status());
  return value;
}

}  // namespace

LeafClient::LeafClient(http::HttpClient* http, TokenSource* tokens, LeafEndpoints endpoints,
                       LeafClientOptions options)
    : http_(http),
      tokens_(tokens),
      endpoints_(std::move(endpoints)),
      options_(std::move(options)),
      random_(options_.random ? options_.random : DefaultRandom) {}

std::shared_ptr<LeafCall> LeafClient::Start(
    LeafOperation op, http::HttpRequest request, const CallOptions& options,
    std::vector<std::string> secrets,
    std::function<void(absl::StatusOr<http::HttpResponse>)> done) {
  request.deadline = options.deadline;
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    StatusDetails d;
    d.reason = std::string(kReasonTooManyInFlight);
    d.retry_delay = absl::Milliseconds(100);
    done(MakeStatus(absl::StatusCode::kResourceExhausted,
                    absl::StrCat("this server already has ", options_.max_in_flight,
                                 " calls in flight to Leaf (--max_upstream_in_flight); "
                                 "retry with backoff"),
                    d));
    return std::make_shared<FinishedCall>();
  }
  if (!options.request_id.empty()) {
    request.headers.emplace_back("X-Request-Id", options.request_id);
  }
  auto exchange = std::make_shared<Exchange>(this, op, std::move(request), options.leaf_token,
                                             std::move(secrets), options.stats, std::move(done));
  exchange->Start();
  return exchange;
}

std::shared_ptr<LeafCall> LeafClient::GetCredentials(absl::string_view leaf_user_id,
                                                     const CallOptions& options,
                                                     Callback<AgLeaderCredentials> done) {
  return Start(LeafOperation::kGetCredentials,
               MakeRequest("GET", endpoints_.AgLeaderCredentials(leaf_user_id)), options, {},
               [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
                 done(Decode<AgLeaderCredentials>(LeafOperation::kGetCredentials, std::move(r),
                                                  &DecodeCredentials));
               });
}

std::shared_ptr<LeafCall> LeafClient::CreateCredentials(
    absl::string_view leaf_user_id, const NewAgLeaderCredentials& credentials,
    const CallOptions& options, Callback<AgLeaderCredentials> done) {
  http::HttpRequest request = MakeRequest("POST", endpoints_.AgLeaderCredentials(leaf_user_id));
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = EncodeCreateCredentials(credentials);
  std::vector<std::string> secrets = {credentials.refresh_token.Reveal(),
                                      credentials.private_key.Reveal(),
                                      credentials.access_token.Reveal()};
  return Start(LeafOperation::kCreateCredentials, std::move(request), options,
               std::move(secrets),
               [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
                 done(Decode<AgLeaderCredentials>(LeafOperation::kCreateCredentials,
                                                  std::move(r), &DecodeCredentials));
               });
}

std::shared_ptr<LeafCall> LeafClient::DeleteCredentials(absl::string_view leaf_user_id,
                                                        const CallOptions& options,
                                                        DoneCallback done) {
  return Start(LeafOperation::kDeleteCredentials,
               MakeRequest("DELETE", endpoints_.AgLeaderCredentials(leaf_user_id)), options, {},
               [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
                 // 204 is documented; any 2xx means the credentials are gone.
                 done(r.status());
               });
}

std::shared_ptr<LeafCall> LeafClient::ListEvents(absl::string_view leaf_user_id,
                                                 const CallOptions& options,
                                                 Callback<std::vector<CredentialEvent>> done) {
  return Start(LeafOperation::kListEvents,
               MakeRequest("GET", endpoints_.AgLeaderCredentialEvents(leaf_user_id)), options, {},
               [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
                 done(Decode<std::vector<CredentialEvent>>(LeafOperation::kListEvents,
                                                           std::move(r), &DecodeEvents));
               });
}

}  // namespace leafsvc::leaf
