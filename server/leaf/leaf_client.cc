#include "server/leaf/leaf_client.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/leaf/leaf_errors.h"
#include "server/leaf/leaf_json.h"

namespace leafsvc::leaf {

// One REST exchange: obtain a token, send, and on a 401 renew the token and
// send once more. Delivers the final HTTP response (any status) or an error
// status to `on_response`, exactly once.
class LeafClient::Exchange final : public LeafCall,
                                   public std::enable_shared_from_this<Exchange> {
 public:
  using ResponseCallback = std::function<void(absl::StatusOr<http::HttpResponse>)>;

  Exchange(LeafClient* client, LeafOperation op, http::HttpRequest request,
           ResponseCallback on_response)
      : client_(client),
        op_(op),
        request_(std::move(request)),
        on_response_(std::move(on_response)) {}

  void Start() { RequestToken(); }

  void Cancel() override {
    std::optional<http::TransferId> transfer;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return;
      cancelled_ = true;
      transfer = transfer_;
    }
    if (transfer.has_value()) {
      // The transport completes the transfer with CANCELLED, which finishes.
      client_->http_->Cancel(*transfer);
    } else {
      // Waiting for a token: finish now rather than when the login ends.
      Finish(StatusFromTransportError(op_, absl::CancelledError(), ""));
    }
  }

 private:
  void RequestToken() {
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
    if (absl::Now() >= request.deadline) {
      Finish(StatusFromTransportError(
          op_, absl::DeadlineExceededError("deadline passed before the request was sent"),
          client_->endpoints_.api_url()));
      return;
    }
    auto self = shared_from_this();
    absl::MutexLock lock(&mu_);
    if (cancelled_ || done_) return;  // Cancel() has finished (or will finish) the call
    // Registering the transfer id under the lock orders it before any Cancel.
    // HttpClient never runs the callback inside Send, so this cannot deadlock.
    transfer_ = client_->http_->Send(
        std::move(request), [self, token](absl::StatusOr<http::HttpResponse> r) {
          self->OnResponse(token, std::move(r));
        });
  }

  void OnResponse(const Secret& token, absl::StatusOr<http::HttpResponse> response) {
    {
      absl::MutexLock lock(&mu_);
      transfer_.reset();
    }
    if (!response.ok()) {
      Finish(StatusFromTransportError(op_, response.status(),
                                      client_->endpoints_.api_url()));
      return;
    }
    if (response->status_code == 401 && !retried_ &&
        client_->tokens_->Invalidate(token)) {
      retried_ = true;
      RequestToken();
      return;
    }
    Finish(*std::move(response));
  }

  void Finish(absl::StatusOr<http::HttpResponse> result) {
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      done_ = true;
    }
    ResponseCallback cb = std::move(on_response_);
    cb(std::move(result));
  }

  LeafClient* const client_;
  const LeafOperation op_;
  const http::HttpRequest request_;
  ResponseCallback on_response_;
  bool retried_ = false;  // touched only by the one thread driving the exchange

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<http::TransferId> transfer_ ABSL_GUARDED_BY(mu_);
};

namespace {

http::HttpRequest MakeRequest(const char* method, std::string url, absl::Time deadline) {
  http::HttpRequest request;
  request.method = method;
  request.url = std::move(url);
  request.headers = {{"Accept", "application/json"}};
  request.deadline = deadline;
  return request;
}

// Decodes a success body of type T, or maps the failure.
template <typename T>
absl::StatusOr<T> Decode(LeafOperation op, int expected_status,
                         absl::StatusOr<http::HttpResponse> response,
                         absl::StatusOr<T> (*decoder)(absl::string_view)) {
  if (!response.ok()) return response.status();
  if (response->status_code != expected_status &&
      !(response->status_code == 200 && expected_status == 201)) {
    return StatusFromLeafResponse(op, *response);
  }
  absl::StatusOr<T> value = decoder(response->body);
  if (!value.ok()) return StatusFromBadBody(op, response->status_code, value.status());
  return value;
}

}  // namespace

LeafClient::LeafClient(http::HttpClient* http, TokenSource* tokens,
                       LeafEndpoints endpoints)
    : http_(http), tokens_(tokens), endpoints_(std::move(endpoints)) {}

std::shared_ptr<LeafCall> LeafClient::GetCredentials(absl::string_view leaf_user_id,
                                                     absl::Time deadline,
                                                     Callback<AgLeaderCredentials> done) {
  auto exchange = std::make_shared<Exchange>(
      this, LeafOperation::kGetCredentials,
      MakeRequest("GET", endpoints_.AgLeaderCredentials(leaf_user_id), deadline),
      [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        done(Decode<AgLeaderCredentials>(LeafOperation::kGetCredentials, 200,
                                         std::move(r), &DecodeCredentials));
      });
  exchange->Start();
  return exchange;
}

std::shared_ptr<LeafCall> LeafClient::CreateCredentials(
    absl::string_view leaf_user_id, const NewAgLeaderCredentials& credentials,
    absl::Time deadline, Callback<AgLeaderCredentials> done) {
  http::HttpRequest request =
      MakeRequest("POST", endpoints_.AgLeaderCredentials(leaf_user_id), deadline);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = EncodeCreateCredentials(credentials);
  auto exchange = std::make_shared<Exchange>(
      this, LeafOperation::kCreateCredentials, std::move(request),
      [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        done(Decode<AgLeaderCredentials>(LeafOperation::kCreateCredentials, 201,
                                         std::move(r), &DecodeCredentials));
      });
  exchange->Start();
  return exchange;
}

std::shared_ptr<LeafCall> LeafClient::DeleteCredentials(absl::string_view leaf_user_id,
                                                        absl::Time deadline,
                                                        DoneCallback done) {
  auto exchange = std::make_shared<Exchange>(
      this, LeafOperation::kDeleteCredentials,
      MakeRequest("DELETE", endpoints_.AgLeaderCredentials(leaf_user_id), deadline),
      [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        if (!r.ok()) return done(r.status());
        // 204 is documented; any 2xx means the credentials are gone.
        if (r->status_code >= 200 && r->status_code < 300) return done(absl::OkStatus());
        done(StatusFromLeafResponse(LeafOperation::kDeleteCredentials, *r));
      });
  exchange->Start();
  return exchange;
}

std::shared_ptr<LeafCall> LeafClient::ListEvents(
    absl::string_view leaf_user_id, absl::Time deadline,
    Callback<std::vector<CredentialEvent>> done) {
  auto exchange = std::make_shared<Exchange>(
      this, LeafOperation::kListEvents,
      MakeRequest("GET", endpoints_.AgLeaderCredentialEvents(leaf_user_id), deadline),
      [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        done(Decode<std::vector<CredentialEvent>>(LeafOperation::kListEvents, 200,
                                                  std::move(r), &DecodeEvents));
      });
  exchange->Start();
  return exchange;
}

}  // namespace leafsvc::leaf
