#include "server/http/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/internal/raw_logging.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/optional.h"
#include "server/http/curl_error.h"
#include "server/http/curl_socket_driver.h"
#include "server/http/easy_setup.h"
#include "server/http/first_byte_watch.h"
#include "server/http/loop_inbox.h"
#include "server/http/request_plan.h"
#include "server/http/response_reader.h"
#include "server/http/tls_trust.h"
#include "server/http/transfer_pool.h"
#include "server/http/wait_queue.h"

namespace leafsvc::http {
namespace {

// Upper bound for one sleep of the loop; curl's timer, the first-byte and
// waiting deadlines shorten it, and Send/Cancel wake it early when needed.
constexpr int kPollTimeoutMs = 1000;

// Attempts of the loop to take its lock before it sleeps on it.
constexpr int kRelockSpins = 200;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

absl::Status GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(result)));
  }
  return absl::OkStatus();
}

}  // namespace

class CurlHttpClient::Impl {
 public:
  explicit Impl(CurlHttpClientOptions options) : options_(std::move(options)) {}

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ~Impl() {
    if (thread_.joinable()) {
      ABSL_RAW_CHECK(std::this_thread::get_id() != thread_.get_id(),
                     "CurlHttpClient destroyed from one of its callbacks");
      inbox_.Stop();
      driver_.Wake();
      thread_.join();
    }
    pool_.Clear();
    // Before driver_ goes: curl may still report sockets to remove.
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  absl::Status Start() {
    if (options_.max_connections_per_host < 1) {
      return absl::InvalidArgumentError("max_connections_per_host must be >= 1");
    }
    if (options_.max_response_bytes == 0) {
      return absl::InvalidArgumentError("max_response_bytes must be > 0");
    }
    if (options_.connect_timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("connect_timeout must be positive");
    }
    if (absl::Status s = GlobalInit(); !s.ok()) return s;
    absl::StatusOr<std::unique_ptr<TlsTrust>> tls = TlsTrust::Create(options_.ca_file);
    if (!tls.ok()) return tls.status();
    tls_ = *std::move(tls);
    connect_timeout_ms_ = ConnectTimeoutMs(options_.connect_timeout);

    multi_ = curl_multi_init();
    if (multi_ == nullptr) return absl::InternalError("curl_multi_init failed");
    const long per_host = options_.max_connections_per_host;
    max_active_ = static_cast<std::size_t>(per_host);
    // The cache must hold every idle connection a burst opened, for the main
    // host and the few others (auth) we talk to, or they get closed.
    const long cache = std::max(16L, 4 * per_host);
    if (curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, per_host) != CURLM_OK ||
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, cache) != CURLM_OK) {
      return absl::InternalError("curl_multi_setopt failed");
    }
    if (absl::Status s = driver_.Attach(multi_); !s.ok()) return s;
    active_.reserve(64);
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  // Starts the transfer on the calling thread when the lock is free. When it
  // is not (the loop's turn, or another caller's Send), the transfer goes to
  // the loop instead, which takes it before it sleeps (and is woken for it
  // only if it sleeps): a Send never waits for the lock.
  TransferId Send(HttpRequest request, HttpCallback done) {
    const TransferId id = next_id_.fetch_add(1, std::memory_order_relaxed);
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    PendingTransfer q{id, std::move(request), std::move(done)};
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
      if (inbox_.Push(std::move(q))) driver_.Wake();
      return id;
    }
    if (stopping_) {
      // Only a callback of the shutdown drain can get here; the drain runs
      // this completion too.
      FinishQueued(q, CancelledStatus());
      return id;
    }
    StartOrWait(q, {});
    driver_.RunDueTimers();
    ReapCompleted();
    WakeLoopIfNeededLocked();
    return id;
  }

  void Cancel(TransferId id) {
    if (inbox_.Cancel(id)) driver_.Wake();
  }

  std::size_t InFlight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  // A callback to run, with its outcome, outside the lock (on the loop).
  struct Completion {
    HttpCallback done;
    absl::StatusOr<HttpResponse> result;
  };

  // ---- The event loop (thread_). ----

  void Loop() {
    std::vector<PendingTransfer> batch;
    std::vector<TransferId> cancels;
    std::vector<Completion> ready;
    batch.reserve(64);
    ready.reserve(64);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (inbox_.Take(&batch, &cancels)) {
        stopping_ = true;
        // Owned again by the shutdown drain below.
        for (PendingTransfer& q : batch) FinishQueued(q, CancelledStatus());
        batch.clear();
        break;
      }
      for (PendingTransfer& q : batch) StartOrWait(q, cancels);
      batch.clear();
      for (TransferId id : cancels) CancelActiveOrWaiting(id);
      cancels.clear();

      driver_.RunDueTimers();
      ReapCompleted();
      next_silent_ = AbandonSilentConnections();
      ExpireWaiting();
      PromoteWaiting();
      driver_.RunDueTimers();
      ReapCompleted();
      if (!completions_.empty()) {
        // Callbacks may Send or Cancel: they run outside the lock, and the
        // next turn takes what they started.
        ready.swap(completions_);
        lock.unlock();
        RunCompletions(ready);
        Relock(lock);
        continue;
      }
      // Work that arrived while this turn ran is taken at once.
      if (!inbox_.TryToSleep()) continue;
      const int timeout_ms = SleepTimeoutMs();
      planned_wake_ = absl::Now() + absl::Milliseconds(timeout_ms);
      asleep_ = true;
      wake_sent_ = false;
      lock.unlock();
      driver_.Wait(timeout_ms);
      Relock(lock);
      asleep_ = false;
      inbox_.Awake();
      driver_.Dispatch();
    }
    Shutdown(lock);
  }

  // A Send holds the lock only briefly: spin a little before sleeping on it
  // (a futex wait and wake-up cost more than the wait).
  void Relock(std::unique_lock<std::mutex>& lock) {
    for (int i = 0; i < kRelockSpins && !lock.try_lock(); ++i) CpuRelax();
    if (!lock.owns_lock()) lock.lock();
  }

  // A Send on another thread changed what the sleeping loop waits for: a
  // completion to deliver, or a deadline (curl's timer, a first-byte or a
  // waiting deadline) before the loop's planned wake-up. Once per sleep.
  void WakeLoopIfNeededLocked() {
    if (!asleep_ || wake_sent_) return;
    if (completions_.empty() && NextDeadlineLocked() >= planned_wake_) return;
    wake_sent_ = true;
    driver_.Wake();
  }

  absl::Time NextDeadlineLocked() const {
    absl::Time next = std::min(driver_.TimerDeadline(), next_silent_);
    if (absl::optional<absl::Time> waiting = waiting_.EarliestDeadline(); waiting.has_value()) {
      next = std::min(next, *waiting);
    }
    return next;
  }

  // Wakes the loop in time for the earliest deadline it owns, and at least
  // once a second.
  int SleepTimeoutMs() const {
    const absl::Time next = NextDeadlineLocked();
    if (next == absl::InfiniteFuture()) return kPollTimeoutMs;
    const absl::Duration left = next - absl::Now();
    return static_cast<int>(std::clamp<std::int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 0, kPollTimeoutMs));
  }

  void RunCompletions(std::vector<Completion>& ready) {
    for (Completion& c : ready) {
      // Before the callback, so that a caller woken by it sees the count drop.
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      if (c.done) c.done(std::move(c.result));
    }
    ready.clear();
  }

  // ---- Under mu_ (the loop's turn, or a Send). ----

  // Transfers beyond the connection pool wait in waiting_ (see WaitQueue).
  void StartOrWait(PendingTransfer& q, const std::vector<TransferId>& cancels) {
    if (!cancels.empty() && std::find(cancels.begin(), cancels.end(), q.id) != cancels.end()) {
      FinishQueued(q, CancelledStatus());
      return;
    }
    if (active_.size() < max_active_ && waiting_.empty()) {
      StartQueued(q);
      return;
    }
    waiting_.Push(std::move(q));
  }

  void PromoteWaiting() {
    while (active_.size() < max_active_ && !waiting_.empty()) {
      PendingTransfer q = waiting_.PopFront();
      StartQueued(q);
    }
  }

  void ExpireWaiting() {
    for (PendingTransfer& q : waiting_.PopExpired(absl::Now())) {
      FinishQueued(q, absl::DeadlineExceededError(
                          "upstream request timed out before it was sent, waiting for a free "
                          "connection (max_connections_per_host)"));
    }
  }

  // Ends the transfers silent past their first-byte deadline
  // (first_byte_watch.h); returns the earliest first-byte deadline pending.
  absl::Time AbandonSilentConnections() {
    if (silent_watch_ == 0) return absl::InfiniteFuture();
    std::vector<TransferId> silent;
    const absl::Time next = FindSilentTransfers(active_, absl::Now(), &silent_watch_, &silent);
    for (TransferId id : silent) {
      auto it = active_.find(id);
      std::unique_ptr<Transfer> t = std::move(it->second);
      active_.erase(it);
      curl_multi_remove_handle(multi_, t->easy);
      Finish(std::move(t), NoAnswerStatus());
    }
    return next;
  }

  void CancelActiveOrWaiting(TransferId id) {
    if (absl::optional<PendingTransfer> q = waiting_.Remove(id); q.has_value()) {
      FinishQueued(*q, CancelledStatus());
      return;
    }
    CancelActive(id);
  }

  void StartQueued(PendingTransfer& q) {
    const absl::Time now = absl::Now();
    if (q.request.deadline <= now) {
      FinishQueued(q, absl::DeadlineExceededError("deadline passed before the upstream request "
                                                  "was sent"));
      return;
    }
    std::unique_ptr<Transfer> t = pool_.Acquire();
    if (t == nullptr) {
      FinishQueued(q, absl::InternalError("curl_easy_init failed"));
      return;
    }
    t->id = q.id;
    t->request = std::move(q.request);
    t->done = std::move(q.done);
    t->first_byte_deadline = absl::InfiniteFuture();
    if (t->request.first_byte_timeout != absl::InfiniteDuration() && !t->request.fresh_connection) {
      t->first_byte_deadline = now + t->request.first_byte_timeout;
      next_silent_ = std::min(next_silent_, t->first_byte_deadline);
      ++silent_watch_;
    }
    if (absl::Status s = Configure(*t, now); !s.ok()) {
      Finish(std::move(t), std::move(s));
      return;
    }
    if (curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
      Finish(std::move(t), absl::InternalError("curl_multi_add_handle failed"));
      return;
    }
    active_.emplace(t->id, std::move(t));
  }

  absl::Status Configure(Transfer& t, absl::Time now) {
    t.error[0] = '\0';
    t.reader.Reset(options_.max_response_bytes, t.request.method == "HEAD");
    EasyTarget target{static_cast<void*>(&t), t.error, &t.reader, &t.headers,
                      &t.configured_for_get};
    return ConfigureEasy(
        t.easy, t.request, now,
        EasyOptions{tls_.get(), connect_timeout_ms_, &options_.user_agent, &driver_}, target);
  }

  void ReapCompleted() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      char* priv = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      auto* raw = reinterpret_cast<Transfer*>(priv);
      curl_multi_remove_handle(multi_, easy);
      auto it = active_.find(raw->id);
      ABSL_RAW_CHECK(it != active_.end(), "completed transfer not active");
      std::unique_ptr<Transfer> t = std::move(it->second);
      active_.erase(it);
      if (code == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        HttpResponse response = t->reader.Take(static_cast<int>(status));
        Finish(std::move(t), std::move(response));
      } else {
        CurlErrorContext context;
        context.error_buffer = t->error;
        context.may_have_been_sent = MayHaveBeenSent(easy);
        context.too_large = t->reader.too_large();
        context.max_response_bytes = t->reader.max_bytes();
        absl::Status status = MapCurlError(code, context);
        Finish(std::move(t), std::move(status));
      }
    }
  }

  void CancelActive(TransferId id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;  // Unknown or already completed.
    std::unique_ptr<Transfer> t = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, t->easy);
    absl::Status status = CancelledStatus(MayHaveBeenSent(t->easy));
    Finish(std::move(t), std::move(status));
  }

  // Everything still queued, waiting or running completes CANCELLED;
  // callbacks may Send again while this drains (those complete CANCELLED
  // too, through completions_ or the inbox).
  void Shutdown(std::unique_lock<std::mutex>& lock) {
    std::vector<Completion> ready;
    for (;;) {
      std::vector<PendingTransfer> batch = inbox_.TakeTransfers();
      for (PendingTransfer& q : waiting_.TakeAll()) batch.push_back(std::move(q));
      std::vector<std::unique_ptr<Transfer>> running;
      for (auto& [id, t] : active_) {
        curl_multi_remove_handle(multi_, t->easy);
        running.push_back(std::move(t));
      }
      active_.clear();
      for (auto& t : running) {
        absl::Status status = CancelledStatus(MayHaveBeenSent(t->easy));
        Finish(std::move(t), std::move(status));
      }
      for (PendingTransfer& q : batch) FinishQueued(q, CancelledStatus());
      if (completions_.empty()) break;
      ready.swap(completions_);
      lock.unlock();
      RunCompletions(ready);
      Relock(lock);
    }
    lock.unlock();
  }

  // Returns `t` (already removed from the multi handle, if it was added) to
  // the pool, and queues its callback with `result` for the loop.
  void Finish(std::unique_ptr<Transfer> t, absl::StatusOr<HttpResponse> result) {
    if (t->first_byte_deadline != absl::InfiniteFuture()) {
      t->first_byte_deadline = absl::InfiniteFuture();
      --silent_watch_;
    }
    HttpCallback done = std::move(t->done);
    // Wiped now, before the callback runs (TransferPool).
    pool_.Recycle(std::move(t));
    completions_.push_back(Completion{std::move(done), std::move(result)});
  }

  void FinishQueued(PendingTransfer& q, absl::Status status) {
    HttpCallback done = std::move(q.done);
    WipeRequest(q.request);
    q.request = HttpRequest();
    completions_.push_back(Completion{std::move(done), std::move(status)});
  }

  const CurlHttpClientOptions options_;
  long connect_timeout_ms_ = 0;
  std::unique_ptr<TlsTrust> tls_;
  CurlSocketDriver driver_;  // Before multi_: outlives curl_multi_cleanup.
  CURLM* multi_ = nullptr;

  std::atomic<TransferId> next_id_{1};
  std::atomic<std::size_t> in_flight_{0};

  // What a Send that found the loop in its turn, a Cancel or the destructor
  // hand to the loop.
  LoopInbox inbox_;

  // The curl multi handle and everything below: the loop's turn and a Send
  // on its caller's thread take it.
  std::mutex mu_;
  bool stopping_ = false;
  std::size_t max_active_ = 1;
  ActiveTransfers active_;
  WaitQueue waiting_;  // Transfers waiting for room in active_.
  // Active transfers with a first-byte deadline (so the scan is skipped
  // when there are none), and the earliest such deadline.
  int silent_watch_ = 0;
  absl::Time next_silent_ = absl::InfiniteFuture();
  TransferPool pool_;
  std::vector<Completion> completions_;  // For the loop to run, in order.
  // The loop sleeps (or is about to), until planned_wake_ at the latest;
  // wake_sent_: a Send already woke it during this sleep.
  bool asleep_ = false;
  bool wake_sent_ = false;
  absl::Time planned_wake_ = absl::InfiniteFuture();

  std::thread thread_;  // Last: started after everything above exists.
};

absl::StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(
    CurlHttpClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(impl)));
}

CurlHttpClient::CurlHttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CurlHttpClient::~CurlHttpClient() = default;

TransferId CurlHttpClient::Send(HttpRequest request, HttpCallback done) {
  return impl_->Send(std::move(request), std::move(done));
}

void CurlHttpClient::Cancel(TransferId id) { impl_->Cancel(id); }

std::size_t CurlHttpClient::InFlight() const { return impl_->InFlight(); }

}  // namespace leafsvc::http
