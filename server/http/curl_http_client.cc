#include "server/http/curl_http_client.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/internal/raw_logging.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace leafsvc::http {
namespace {

// Idle easy handles kept for reuse beyond this are freed; the pool otherwise
// grows to the peak number of concurrent transfers.
constexpr std::size_t kMaxPooledHandles = 512;
// Upper bound for one curl_multi_poll; curl shortens it to its own next
// timer, and Send/Cancel wake it early.
constexpr int kPollTimeoutMs = 1000;

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

absl::Status WithMaybeSent(absl::Status status) {
  status.SetPayload(kMaybeSentPayload, absl::Cord("true"));
  return status;
}

absl::Status CancelledStatus() { return absl::CancelledError("upstream request cancelled"); }

// The certificates of a PEM bundle, parsed once at Create and added to every
// new TLS connection's trust store (on top of the system store that curl has
// already loaded there).
class ExtraCaCerts {
 public:
  ExtraCaCerts() = default;
  ExtraCaCerts(const ExtraCaCerts&) = delete;
  ExtraCaCerts& operator=(const ExtraCaCerts&) = delete;
  ~ExtraCaCerts() {
    for (X509* cert : certs_) X509_free(cert);
  }

  absl::Status Load(const std::string& path) {
    BIO* bio = BIO_new_file(path.c_str(), "r");
    if (bio == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("cannot read CA file ", path));
    }
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      certs_.push_back(cert);
    }
    ERR_clear_error();  // The loop ends on a "no start line" error.
    BIO_free(bio);
    if (certs_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("CA file ", path, " holds no PEM certificate"));
    }
    return absl::OkStatus();
  }

  bool empty() const { return certs_.empty(); }

  // CURLOPT_SSL_CTX_FUNCTION. Runs on the loop thread for each new TLS
  // connection, after curl loaded the default CA store into `ssl_ctx`.
  static CURLcode AddToContext(CURL* /*easy*/, void* ssl_ctx, void* self) {
    X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
    if (store == nullptr) return CURLE_SSL_CERTPROBLEM;
    for (X509* cert : static_cast<ExtraCaCerts*>(self)->certs_) {
      // Fails harmlessly if the certificate is already there (curl may share
      // one cached store between connections).
      X509_STORE_add_cert(store, cert);
    }
    ERR_clear_error();
    return CURLE_OK;
  }

 private:
  std::vector<X509*> certs_;
};

// Whether ca_file can be added on top of curl's default CA store: needs the
// OpenSSL backend (for CURLOPT_SSL_CTX_FUNCTION) and a default store that
// exists (else curl fails every handshake before our callback runs).
bool CanExtendDefaultStore() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || info->ssl_version == nullptr ||
      !absl::StartsWith(info->ssl_version, "OpenSSL")) {
    return false;
  }
  auto readable = [](const char* path) { return path != nullptr && access(path, R_OK) == 0; };
  return readable(info->cainfo) || readable(info->capath);
}

bool HasCrOrLf(absl::string_view s) { return s.find_first_of("\r\n") != absl::string_view::npos; }

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
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
      }
      curl_multi_wakeup(multi_);
      thread_.join();
    }
    for (auto& transfer : pool_) curl_easy_cleanup(transfer->easy);
    pool_.clear();
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
    if (!options_.ca_file.empty()) {
      if (absl::Status s = extra_ca_.Load(options_.ca_file); !s.ok()) return s;
      use_ssl_ctx_callback_ = CanExtendDefaultStore();
    }
    connect_timeout_ms_ = static_cast<long>(
        std::clamp<std::int64_t>(absl::ToInt64Milliseconds(options_.connect_timeout), 1, LONG_MAX));

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
    pool_.reserve(64);
    active_.reserve(64);
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  TransferId Send(HttpRequest request, HttpCallback done) {
    const TransferId id = next_id_.fetch_add(1, std::memory_order_relaxed);
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Only the push that makes the queue non-empty needs to wake the loop:
      // the loop empties the queue in one swap after every wake-up.
      wake = queued_.empty() && cancels_.empty();
      queued_.push_back(Queued{id, std::move(request), std::move(done)});
    }
    if (wake) curl_multi_wakeup(multi_);
    return id;
  }

  void Cancel(TransferId id) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake = queued_.empty() && cancels_.empty();
      cancels_.push_back(id);
    }
    if (wake) curl_multi_wakeup(multi_);
  }

  std::size_t InFlight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Queued {
    TransferId id;
    HttpRequest request;
    HttpCallback done;
  };

  // One transfer on the loop thread. Pooled with its easy handle.
  struct Transfer {
    CURL* easy = nullptr;
    TransferId id = 0;
    HttpRequest request;
    HttpCallback done;
    HttpResponse response;
    curl_slist* headers = nullptr;
    std::size_t max_bytes = 0;
    bool too_large = false;
    char error[CURL_ERROR_SIZE];
  };

  // ---- Event loop (everything below runs on thread_ only). ----

  void Loop() {
    std::vector<Queued> batch;
    std::vector<TransferId> cancels;
    batch.reserve(64);
    for (;;) {
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(queued_);
        cancels.swap(cancels_);
        stopping = stopping_;
      }
      if (stopping) {
        // Owned again by the shutdown drain below.
        for (Queued& q : batch) FinishQueued(q, CancelledStatus());
        batch.clear();
        break;
      }
      for (Queued& q : batch) StartOrWait(q, cancels);
      batch.clear();
      for (TransferId id : cancels) CancelActiveOrWaiting(id);
      cancels.clear();

      int running = 0;
      curl_multi_perform(multi_, &running);
      ReapCompleted();
      ExpireWaiting();
      PromoteWaiting();
      curl_multi_poll(multi_, nullptr, 0, PollTimeoutMs(), nullptr);
    }
    Shutdown();
  }

  // Transfers beyond the connection pool wait here, not inside libcurl: a
  // transfer handed to curl costs ~20 KB while it waits for a connection, an
  // entry here only its request, and curl rescans its pending list on every
  // event.
  void StartOrWait(Queued& q, const std::vector<TransferId>& cancels) {
    if (!cancels.empty() && std::find(cancels.begin(), cancels.end(), q.id) != cancels.end()) {
      FinishQueued(q, CancelledStatus());
      return;
    }
    if (active_.size() < max_active_ && waiting_.empty()) {
      StartQueued(q);
      return;
    }
    const TransferId id = q.id;
    waiting_deadlines_.emplace(q.request.deadline, id);
    waiting_order_.push_back(id);
    waiting_.emplace(id, std::move(q));
  }

  void PromoteWaiting() {
    while (active_.size() < max_active_ && !waiting_order_.empty()) {
      const TransferId id = waiting_order_.front();
      waiting_order_.pop_front();
      auto it = waiting_.find(id);
      if (it == waiting_.end()) continue;  // cancelled or expired meanwhile
      Queued q = std::move(it->second);
      waiting_.erase(it);
      StartQueued(q);
    }
    if (waiting_.empty()) {
      waiting_order_.clear();
      waiting_deadlines_.clear();
    }
  }

  void ExpireWaiting() {
    const absl::Time now = absl::Now();
    while (!waiting_deadlines_.empty() && waiting_deadlines_.begin()->first <= now) {
      const TransferId id = waiting_deadlines_.begin()->second;
      waiting_deadlines_.erase(waiting_deadlines_.begin());
      auto it = waiting_.find(id);
      if (it == waiting_.end()) continue;
      Queued q = std::move(it->second);
      waiting_.erase(it);
      FinishQueued(q, absl::DeadlineExceededError(
                          "upstream request timed out before it was sent, waiting for a free "
                          "connection (max_connections_per_host)"));
    }
  }

  // Wakes the loop in time for the earliest waiting deadline.
  int PollTimeoutMs() const {
    if (waiting_deadlines_.empty()) return kPollTimeoutMs;
    const absl::Duration left = waiting_deadlines_.begin()->first - absl::Now();
    return static_cast<int>(std::clamp<std::int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 0, kPollTimeoutMs));
  }

  void CancelActiveOrWaiting(TransferId id) {
    auto it = waiting_.find(id);
    if (it != waiting_.end()) {
      Queued q = std::move(it->second);
      waiting_.erase(it);
      FinishQueued(q, CancelledStatus());
      return;
    }
    CancelActive(id);
  }

  void StartQueued(Queued& q) {
    const absl::Time now = absl::Now();
    if (q.request.deadline <= now) {
      FinishQueued(q, absl::DeadlineExceededError("deadline passed before the upstream request "
                                                  "was sent"));
      return;
    }
    std::unique_ptr<Transfer> t = Acquire();
    if (t == nullptr) {
      FinishQueued(q, absl::InternalError("curl_easy_init failed"));
      return;
    }
    t->id = q.id;
    t->request = std::move(q.request);
    t->done = std::move(q.done);
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
    CURL* e = t.easy;
    curl_easy_reset(e);
    t.error[0] = '\0';
    t.too_large = false;
    t.max_bytes = options_.max_response_bytes;
    t.response.status_code = 0;
    t.response.headers.clear();
    t.response.body.clear();

    const HttpRequest& req = t.request;
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(e, option, value);
    };
    set(CURLOPT_PRIVATE, static_cast<void*>(&t));
    set(CURLOPT_ERRORBUFFER, t.error);
    set(CURLOPT_URL, req.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_TCP_NODELAY, 1L);
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    set(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms_);
    // libcurl silently re-sends a request once when a reused connection dies
    // before any answer; a fresh connection rules that out for requests that
    // must not be sent twice.
    if (req.fresh_connection) set(CURLOPT_FRESH_CONNECT, 1L);
    if (!options_.user_agent.empty()) {
      set(CURLOPT_USERAGENT, options_.user_agent.c_str());
    }
    if (!options_.ca_file.empty()) {
      if (use_ssl_ctx_callback_) {
        set(CURLOPT_SSL_CTX_FUNCTION, &ExtraCaCerts::AddToContext);
        set(CURLOPT_SSL_CTX_DATA, static_cast<void*>(&extra_ca_));
      } else {
        set(CURLOPT_CAINFO, options_.ca_file.c_str());
      }
    }
    set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
    set(CURLOPT_WRITEFUNCTION, &OnBody);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&t));

    if (req.deadline != absl::InfiniteFuture()) {
      // Round up so that a sub-millisecond remainder still gets 1 ms.
      const std::int64_t ms =
          absl::ToInt64Milliseconds(absl::Ceil(req.deadline - now, absl::Milliseconds(1)));
      set(CURLOPT_TIMEOUT_MS, static_cast<long>(std::clamp<std::int64_t>(ms, 1, LONG_MAX)));
    }

    // Method and body. POSTFIELDS does not copy: the body lives in `t`.
    bool sends_body = false;
    const std::string& method = req.method;
    if (method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if ((method.empty() || method == "GET" || method == "DELETE") && req.body.empty()) {
      set(CURLOPT_HTTPGET, 1L);
      if (method == "DELETE") set(CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
      sends_body = true;
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      set(CURLOPT_POSTFIELDS, req.body.data());
      if (method != "POST") {
        set(CURLOPT_CUSTOMREQUEST, method.empty() ? "GET" : method.c_str());
      }
    }
    if (rc != CURLE_OK) {
      return absl::InternalError(absl::StrCat("curl_easy_setopt failed: ", curl_easy_strerror(rc)));
    }

    // Headers. Values may be secrets (Authorization): errors name the header,
    // never its value.
    bool has_content_type = false;
    std::string line;
    for (const auto& [name, value] : req.headers) {
      if (name.empty() || HasCrOrLf(name) || HasCrOrLf(value) ||
          name.find(':') != std::string::npos) {
        return absl::InternalError(absl::StrCat("invalid request header name or value (header \"",
                                                absl::CHexEscape(name), "\")"));
      }
      if (absl::EqualsIgnoreCase(name, "content-type")) has_content_type = true;
      line.assign(name);
      // "Name;" is curl's syntax for a header with an empty value.
      if (value.empty()) {
        line.push_back(';');
      } else {
        line.append(": ").append(value);
      }
      if (!Append(t.headers, line.c_str())) return OutOfMemory();
    }
    // No "Expect: 100-continue" round trip for bodies; no curl default
    // form-urlencoded Content-Type on bodies the caller did not type.
    if (!Append(t.headers, "Expect:")) return OutOfMemory();
    if (sends_body && !has_content_type && !Append(t.headers, "Content-Type:")) {
      return OutOfMemory();
    }
    if (curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers) != CURLE_OK) {
      return absl::InternalError("curl_easy_setopt(CURLOPT_HTTPHEADER) failed");
    }
    return absl::OkStatus();
  }

  static bool Append(curl_slist*& list, const char* line) {
    curl_slist* next = curl_slist_append(list, line);
    if (next == nullptr) return false;
    list = next;
    return true;
  }

  static absl::Status OutOfMemory() {
    return absl::ResourceExhaustedError("out of memory building request");
  }

  // CURLOPT_HEADERFUNCTION: one call per header line, status lines included.
  static std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const std::size_t len = size * n;
    absl::string_view line(data, len);
    if (absl::StartsWith(line, "HTTP/")) {
      // A new response (after 1xx): only the final one's headers count.
      t->response.headers.clear();
      return len;
    }
    const std::size_t colon = line.find(':');
    if (colon == absl::string_view::npos) return len;  // End of block.
    std::string name(line.substr(0, colon));
    absl::AsciiStrToLower(&name);
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (name == "content-length" && t->request.method != "HEAD") {
      std::uint64_t length = 0;
      if (absl::SimpleAtoi(value, &length)) {
        if (length > t->max_bytes) {
          t->too_large = true;
          return 0;  // Aborts the transfer with CURLE_WRITE_ERROR.
        }
        t->response.body.reserve(length);
      }
    }
    t->response.headers.emplace_back(std::move(name), std::string(value));
    return len;
  }

  // CURLOPT_WRITEFUNCTION.
  static std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const std::size_t len = size * n;
    if (len > t->max_bytes - t->response.body.size()) {
      t->too_large = true;
      return 0;  // Aborts the transfer with CURLE_WRITE_ERROR.
    }
    t->response.body.append(data, len);
    return len;
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
        t->response.status_code = static_cast<int>(status);
        HttpResponse response = std::move(t->response);
        Finish(std::move(t), std::move(response));
      } else {
        absl::Status status = MapError(code, *t);
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
    absl::Status status = CancelledStatus();
    if (MayHaveBeenSent(t->easy)) status = WithMaybeSent(std::move(status));
    Finish(std::move(t), std::move(status));
  }

  void Shutdown() {
    std::vector<Queued> batch;
    std::vector<std::unique_ptr<Transfer>> running;
    // Callbacks may Send again while we drain; those complete CANCELLED too.
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(queued_);
        cancels_.clear();
      }
      for (auto& [id, q] : waiting_) batch.push_back(std::move(q));
      waiting_.clear();
      waiting_order_.clear();
      waiting_deadlines_.clear();
      if (batch.empty() && active_.empty()) break;
      for (auto& [id, t] : active_) {
        curl_multi_remove_handle(multi_, t->easy);
        running.push_back(std::move(t));
      }
      active_.clear();
      for (auto& t : running) {
        absl::Status status = CancelledStatus();
        if (MayHaveBeenSent(t->easy)) status = WithMaybeSent(std::move(status));
        Finish(std::move(t), std::move(status));
      }
      running.clear();
      for (Queued& q : batch) FinishQueued(q, CancelledStatus());
      batch.clear();
    }
  }

  // Whether the request may have left this process: the transfer got past
  // connection set-up (TCP and TLS) or wrote request bytes. Errs towards yes.
  static bool MayHaveBeenSent(CURL* easy) {
    long request_size = 0;
    curl_off_t pretransfer_us = 0;
    curl_off_t connect_us = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    return request_size > 0 || pretransfer_us > 0 || connect_us > 0;
  }

  absl::Status MapError(CURLcode code, const Transfer& t) const {
    absl::string_view detail =
        t.error[0] != '\0' ? absl::string_view(t.error) : curl_easy_strerror(code);
    detail = absl::StripTrailingAsciiWhitespace(detail);
    switch (code) {
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT:
        return absl::UnavailableError(absl::StrCat("cannot connect to upstream: ", detail));
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_ENGINE_INITFAILED:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_CRL_BADFILE:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_CLIENTCERT:
      case CURLE_USE_SSL_FAILED:
        return absl::UnavailableError(absl::StrCat("upstream TLS handshake failed: ", detail));
      case CURLE_OPERATION_TIMEDOUT:
        if (MayHaveBeenSent(t.easy)) {
          return WithMaybeSent(
              absl::DeadlineExceededError(absl::StrCat("upstream request timed out: ", detail)));
        }
        // Includes waiting for a free connection (max_connections_per_host),
        // which curl reports as a slow name resolution.
        return absl::DeadlineExceededError(
            absl::StrCat("upstream request timed out before it was sent: ", detail));
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
        return WithMaybeSent(absl::UnavailableError(
            absl::StrCat("upstream connection failed mid-request: ", detail)));
      case CURLE_WRITE_ERROR:
        if (t.too_large) {
          return WithMaybeSent(absl::ResourceExhaustedError(
              absl::StrCat("upstream response larger than ", t.max_bytes, " bytes")));
        }
        break;
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        // Rejected before any connection was made.
        return absl::InternalError(absl::StrCat("bad upstream URL: ", detail));
      default:
        break;
    }
    return WithMaybeSent(absl::InternalError(
        absl::StrCat("upstream transfer failed (curl ", static_cast<int>(code), "): ", detail)));
  }

  std::unique_ptr<Transfer> Acquire() {
    if (!pool_.empty()) {
      std::unique_ptr<Transfer> t = std::move(pool_.back());
      pool_.pop_back();
      return t;
    }
    auto t = std::make_unique<Transfer>();
    t->easy = curl_easy_init();
    if (t->easy == nullptr) return nullptr;
    return t;
  }

  // Returns `t` (already removed from the multi handle, if it was added) to
  // the pool, then runs its callback with `result`.
  void Finish(std::unique_ptr<Transfer> t, absl::StatusOr<HttpResponse> result) {
    HttpCallback done = std::move(t->done);
    curl_slist_free_all(t->headers);
    t->headers = nullptr;
    // Drop the request now: its headers and body may hold secrets.
    t->request = HttpRequest();
    if (pool_.size() < kMaxPooledHandles) {
      pool_.push_back(std::move(t));
    } else {
      curl_easy_cleanup(t->easy);
    }
    Complete(done, std::move(result));
  }

  void FinishQueued(Queued& q, absl::Status status) {
    HttpCallback done = std::move(q.done);
    q.request = HttpRequest();
    Complete(done, std::move(status));
  }

  void Complete(HttpCallback& done, absl::StatusOr<HttpResponse> result) {
    // Before the callback, so that a caller woken by it sees the count drop.
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (done) done(std::move(result));
  }

  const CurlHttpClientOptions options_;
  long connect_timeout_ms_ = 0;
  ExtraCaCerts extra_ca_;
  bool use_ssl_ctx_callback_ = false;
  CURLM* multi_ = nullptr;

  std::atomic<TransferId> next_id_{1};
  std::atomic<std::size_t> in_flight_{0};

  // std::mutex rather than absl::Mutex: the system abseil is not built with
  // ThreadSanitizer annotations, so TSan could not check this code.
  std::mutex mu_;
  std::vector<Queued> queued_;       // Guarded by mu_.
  std::vector<TransferId> cancels_;  // Guarded by mu_.
  bool stopping_ = false;            // Guarded by mu_.

  // Loop thread only.
  std::size_t max_active_ = 1;
  absl::flat_hash_map<TransferId, std::unique_ptr<Transfer>> active_;
  // Transfers waiting for room in active_: by id, in arrival order, and by
  // deadline (the last two may hold ids already gone from waiting_).
  absl::flat_hash_map<TransferId, Queued> waiting_;
  std::deque<TransferId> waiting_order_;
  std::multimap<absl::Time, TransferId> waiting_deadlines_;
  std::vector<std::unique_ptr<Transfer>> pool_;

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
