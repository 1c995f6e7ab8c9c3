#include "server/leaf/leaf_client.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/leaf/leaf_json.h"

namespace leafsvc::leaf {
namespace {

double DefaultRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// Completes a call that never started.
class FinishedCall final : public Cancellable {
 public:
  void Cancel() override {}
};

// A call whose large body may be waiting for (or on) a completion thread:
// Cancel reaches the exchange and then that completion, so that once it
// returns no completion thread calls into the caller any more.
class OffloadableCall final : public Cancellable {
 public:
  OffloadableCall(std::shared_ptr<Exchange> exchange, std::shared_ptr<CompletionPool::Job> job)
      : exchange_(std::move(exchange)), job_(std::move(job)) {}
  void Cancel() override {
    exchange_->Cancel();
    CompletionPool::Cancel(*job_);
  }

 private:
  const std::shared_ptr<Exchange> exchange_;
  const std::shared_ptr<CompletionPool::Job> job_;
};

}  // namespace

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
template <typename T, typename Decoder>
absl::StatusOr<T> Decode(LeafOperation op, absl::StatusOr<http::HttpResponse> response,
                         const providers::ProviderSpec& provider, Decoder decoder) {
  if (!response.ok()) return response.status();
  absl::StatusOr<T> value = decoder(response->body);
  if (!value.ok()) {
    return StatusFromBadBody(op, response->status_code, value.status(), provider.display_name);
  }
  return value;
}

}  // namespace

LeafClient::LeafClient(http::HttpClient* http, TokenSource* tokens, LeafEndpoints endpoints,
                       LeafClientOptions options)
    : http_(http),
      tokens_(tokens),
      endpoints_(std::move(endpoints)),
      provider_(*endpoints_.provider()),
      options_(std::move(options)),
      random_(options_.random ? options_.random : DefaultRandom),
      credential_reads_(options_.on_coalesced,
                        [this] { return CancelledStatus(LeafOperation::kGetCredentials); }),
      event_reads_(options_.on_coalesced,
                   [this] { return CancelledStatus(LeafOperation::kListEvents); }) {}

absl::Status LeafClient::CancelledStatus(LeafOperation op) const {
  return StatusFromTransportError(op, absl::CancelledError(), "", provider_.display_name);
}

std::shared_ptr<Cancellable> LeafClient::Start(
    LeafOperation op, http::HttpRequest request, const CallOptions& options,
    std::vector<std::string> secrets,
    std::function<void(absl::StatusOr<http::HttpResponse>)> done) {
  request.deadline = options.deadline;
  request.priority = options.priority;
  request.on_granted = options.on_granted;
  // Background work (priority > 0: polls, bulk, prompted reads) may hold
  // at most three quarters of the slots, so that it never leaves a caller's
  // call refused for want of one (its requests can wait long in the budget).
  const bool background = options.priority > 0;
  const int background_limit = options_.max_in_flight - options_.max_in_flight / 4;
  if (background &&
      background_in_flight_.fetch_add(1, std::memory_order_relaxed) >= background_limit) {
    background_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    StatusDetails d;
    d.retry_delay = absl::Seconds(1);
    done(
        MakeError(reasons::kTooManyCallsInFlight,
                  absl::StrCat("background work (polls, bulk reads) already has ", background_limit,
                               " calls in flight to Leaf, the most it may hold of "
                               "--max_upstream_in_flight; retry later"),
                  d));
    return std::make_shared<FinishedCall>();
  }
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (background) background_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    StatusDetails d;
    d.retry_delay = absl::Milliseconds(100);
    done(MakeError(reasons::kTooManyCallsInFlight,
                   absl::StrCat("this server already has ", options_.max_in_flight,
                                " calls in flight to Leaf (--max_upstream_in_flight); "
                                "retry with backoff"),
                   d));
    return std::make_shared<FinishedCall>();
  }
  if (!options.request_id.empty()) {
    request.headers.emplace_back("X-Request-Id", options.request_id);
  }
  Exchange::Context context;
  context.http = http_;
  context.tokens = tokens_;
  context.scheduler = options_.scheduler;
  context.options = &options_;
  context.random = random_;
  context.api_url = endpoints_.api_url();
  context.provider = provider_.display_name;
  // A large body is decoded (and the caller completed) on a completion
  // thread; a small one right here, on the transport thread.
  // The in-flight slot is released just before `done` runs, wherever that
  // is: an offloaded body keeps its slot while it waits for a completion
  // thread, so --max_upstream_in_flight also bounds the bodies queued there.
  auto job = CompletionPool::NewJob();
  auto dispatch = [this, op, job, background,
                   done = std::move(done)](absl::StatusOr<http::HttpResponse> r) mutable {
    if (r.ok() && r->body.size() >= kOffloadBodyBytes) {
      // The exchange calls this once: `done` may be moved out. Cancelled by
      // its owner before it ran, the body is dropped and the owner hears
      // CANCELLED, as from an exchange cancelled in flight.
      completions_.Post(job, [this, op, background, done = std::move(done),
                              r = std::move(r)](bool cancelled) mutable {
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        if (background) background_in_flight_.fetch_sub(1, std::memory_order_relaxed);
        if (cancelled) {
          r = CancelledStatus(op);
        }
        done(std::move(r));
      });
      return;
    }
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (background) background_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    done(std::move(r));
  };
  auto exchange =
      std::make_shared<Exchange>(std::move(context), op, std::move(request), options.leaf_token,
                                 std::move(secrets), options.stats, std::move(dispatch));
  std::uint64_t id;
  {
    absl::MutexLock lock(&live_mu_);
    id = ++next_live_id_;
    live_.emplace(id, exchange);
  }
  exchange->set_on_finished([this, id] {
    absl::MutexLock lock(&live_mu_);
    live_.erase(id);
  });
  exchange->Start();
  return std::make_shared<OffloadableCall>(std::move(exchange), std::move(job));
}

void LeafClient::AbortAll(const absl::Status& status) {
  std::vector<std::shared_ptr<Exchange>> live;
  {
    absl::MutexLock lock(&live_mu_);
    live.reserve(live_.size());
    for (const auto& [id, weak] : live_) {
      if (std::shared_ptr<Exchange> e = weak.lock()) live.push_back(std::move(e));
    }
  }
  for (const std::shared_ptr<Exchange>& e : live) e->Abort(status);
}

void LeafClient::WriteStarted(absl::string_view leaf_user_id) {
  const std::string scope = CanonicalLeafUserId(leaf_user_id);
  credential_reads_.WriteStarted(scope);
  event_reads_.WriteStarted(scope);
}

std::shared_ptr<Cancellable> LeafClient::GetCredentials(absl::string_view leaf_user_id,
                                                        const CallOptions& options,
                                                        Callback<ProviderCredentials> done) {
  // A caller's own token is another identity: its reads are its own.
  if (options.leaf_token.has_value()) {
    return SendGetCredentials(std::string(leaf_user_id), options, std::move(done));
  }
  const std::string scope = CanonicalLeafUserId(leaf_user_id);
  return credential_reads_.Read(
      scope, scope, options.priority, options.deadline, options.stats,
      [this, user = std::string(leaf_user_id), options](absl::Time deadline, CallStats* stats,
                                                        std::function<void()> granted,
                                                        Callback<ProviderCredentials> read_done) {
        CallOptions shared = options;
        shared.deadline = deadline;
        shared.stats = stats;
        shared.on_granted = std::move(granted);
        return SendGetCredentials(user, shared, std::move(read_done));
      },
      std::move(done));
}

std::shared_ptr<Cancellable> LeafClient::SendGetCredentials(const std::string& leaf_user_id,
                                                            const CallOptions& options,
                                                            Callback<ProviderCredentials> done) {
  return Start(
      LeafOperation::kGetCredentials, MakeRequest("GET", endpoints_.Credentials(leaf_user_id)),
      options, {},
      [&provider = provider_, done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        done(Decode<ProviderCredentials>(
            LeafOperation::kGetCredentials, std::move(r), provider,
            [&provider](absl::string_view body) { return DecodeCredentials(body, provider); }));
      });
}

std::shared_ptr<Cancellable> LeafClient::CreateCredentials(
    absl::string_view leaf_user_id, const NewProviderCredentials& credentials,
    const CallOptions& options, Callback<ProviderCredentials> done) {
  WriteStarted(leaf_user_id);
  http::HttpRequest request = MakeRequest("POST", endpoints_.Credentials(leaf_user_id));
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = EncodeCreateCredentials(credentials, provider_);
  // Never quoted in an error, even when Leaf echoes them back.
  std::vector<std::string> secrets;
  for (const CredentialField& f : credentials.fields) {
    if (f.secret) secrets.push_back(f.value.Reveal());
  }
  return Start(
      LeafOperation::kCreateCredentials, std::move(request), options, std::move(secrets),
      [&provider = provider_, done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        done(Decode<ProviderCredentials>(
            LeafOperation::kCreateCredentials, std::move(r), provider,
            [&provider](absl::string_view body) { return DecodeCredentials(body, provider); }));
      });
}

std::shared_ptr<Cancellable> LeafClient::DeleteCredentials(absl::string_view leaf_user_id,
                                                           const CallOptions& options,
                                                           DoneCallback done) {
  WriteStarted(leaf_user_id);
  return Start(LeafOperation::kDeleteCredentials,
               MakeRequest("DELETE", endpoints_.Credentials(leaf_user_id)), options, {},
               [done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
                 // 204 is documented; any 2xx means the credentials are gone.
                 done(r.status());
               });
}

std::shared_ptr<Cancellable> LeafClient::ListEvents(absl::string_view leaf_user_id,
                                                    const CallOptions& options,
                                                    Callback<std::vector<CredentialEvent>> done) {
  if (options.leaf_token.has_value()) {
    return SendListEvents(std::string(leaf_user_id), options, std::move(done));
  }
  const std::string scope = CanonicalLeafUserId(leaf_user_id);
  return event_reads_.Read(
      scope, scope, options.priority, options.deadline, options.stats,
      [this, user = std::string(leaf_user_id), options](
          absl::Time deadline, CallStats* stats, std::function<void()> granted,
          Callback<std::vector<CredentialEvent>> read_done) {
        CallOptions shared = options;
        shared.deadline = deadline;
        shared.stats = stats;
        shared.on_granted = std::move(granted);
        return SendListEvents(user, shared, std::move(read_done));
      },
      std::move(done));
}

std::shared_ptr<Cancellable> LeafClient::SendListEvents(
    const std::string& leaf_user_id, const CallOptions& options,
    Callback<std::vector<CredentialEvent>> done) {
  return Start(
      LeafOperation::kListEvents, MakeRequest("GET", endpoints_.CredentialEvents(leaf_user_id)),
      options, {},
      [&provider = provider_, done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        done(Decode<std::vector<CredentialEvent>>(LeafOperation::kListEvents, std::move(r),
                                                  provider, &DecodeEvents));
      });
}

}  // namespace leafsvc::leaf
