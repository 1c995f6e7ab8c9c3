#include "server/observability/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <cstdlib>
#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc {
namespace {

// go-grpc-prometheus' grpc_type of a method.
const char* GrpcType(const google::protobuf::MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) return "bidi_stream";
  if (method.client_streaming()) return "client_stream";
  if (method.server_streaming()) return "server_stream";
  return "unary";
}

// The service's descriptor (compiled in with its messages, which this file
// links, so the lookup cannot miss).
const google::protobuf::ServiceDescriptor& Service() {
  const google::protobuf::ServiceDescriptor* service =
      ::leaf::agleader::v1::GetCredentialsRequest::descriptor()->file()->pool()->FindServiceByName(
          Metrics::kService);
  if (service == nullptr) std::abort();
  return *service;
}

// Seconds: from 1 ms (a cached hop) to 30 s (a Leaf timeout).
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string CodeName(absl::StatusCode code) {
  // go-grpc-prometheus spells codes in CamelCase ("NotFound").
  std::string upper = absl::StatusCodeToString(code);
  std::string out;
  bool start = true;
  for (char c : upper) {
    if (c == '_') {
      start = true;
      continue;
    }
    out.push_back(start ? c : absl::ascii_tolower(c));
    start = false;
  }
  if (code == absl::StatusCode::kOk) out = "OK";
  return out;
}

}  // namespace

// Family::Add hashes and compares the whole label set under the family's
// mutex: too slow for every call. The children a call needs are looked up
// once, on first use (so /metrics shows the same series as before), and kept
// here. Add returns the same child for the same labels, so a race between two
// first uses stores the same pointer twice.
constexpr int kCodes = 17;  // absl::StatusCode 0..16

struct Metrics::MethodMetrics {
  prometheus::Counter* started = nullptr;
  prometheus::Histogram* latency = nullptr;
  std::string name;
  std::string type;                                                 // grpc_type
  std::array<std::atomic<prometheus::Counter*>, kCodes> handled{};  // by code
};

struct Metrics::LeafMethodMetrics {
  static constexpr int kStatuses = 600;  // 0 ("error": no response) .. 599
  std::string name;
  std::array<std::atomic<prometheus::Counter*>, kStatuses> requests{};  // by HTTP status
  std::atomic<prometheus::Histogram*> latency{nullptr};
};

struct Metrics::WatchMetrics {
  prometheus::Gauge* streams;
  prometheus::Gauge* users;
  prometheus::Family<prometheus::Counter>* polls;
  prometheus::Family<prometheus::Counter>* changes;
  prometheus::Family<prometheus::Counter>* alerts;
  prometheus::Family<prometheus::Counter>* ended;
};

void Metrics::InitWatchMetrics() {
  watch_ = std::make_unique<WatchMetrics>();
  watch_->streams = &prometheus::BuildGauge()
                         .Name("agleader_watch_streams")
                         .Help("Open WatchCredentials streams.")
                         .Register(*registry_)
                         .Add({});
  watch_->users = &prometheus::BuildGauge()
                       .Name("agleader_watched_users")
                       .Help("Leaf users watched (each read once per interval).")
                       .Register(*registry_)
                       .Add({});
  watch_->polls = &prometheus::BuildCounter()
                       .Name("agleader_watch_polls_total")
                       .Help("Reads of watched users' credentials, by result and source.")
                       .Register(*registry_);
  watch_->changes = &prometheus::BuildCounter()
                         .Name("agleader_watch_changes_sent_total")
                         .Help("CredentialsChange messages queued to streams, by kind.")
                         .Register(*registry_);
  watch_->alerts = &prometheus::BuildCounter()
                        .Name("agleader_alerts_received_total")
                        .Help("Leaf webhook deliveries received, by result.")
                        .Register(*registry_);
  watch_->ended = &prometheus::BuildCounter()
                       .Name("agleader_watch_streams_ended_total")
                       .Help("WatchCredentials streams ended, by code.")
                       .Register(*registry_);
}

void Metrics::WatchCounts(int streams, int users) {
  watch_->streams->Set(streams);
  watch_->users->Set(users);
}

void Metrics::WatchPoll(absl::string_view result, absl::string_view source) {
  watch_->polls->Add({{"result", std::string(result)}, {"source", std::string(source)}})
      .Increment();
}

void Metrics::WatchChangeSent(absl::string_view kind) {
  watch_->changes->Add({{"kind", std::string(kind)}}).Increment();
}

void Metrics::AlertReceived(absl::string_view result) {
  watch_->alerts->Add({{"result", std::string(result)}}).Increment();
}

void Metrics::HttpRefused(absl::string_view listener, absl::string_view reason) {
  http_refused_->Add({{"listener", std::string(listener)}, {"reason", std::string(reason)}})
      .Increment();
}

struct Metrics::BudgetMetrics {
  // Indexed by class, in the budget's priority order.
  std::array<prometheus::Counter*, 4> granted{};
  std::array<prometheus::Counter*, 4> waits{};
  prometheus::Counter* rate_limited = nullptr;
  prometheus::Counter* coalesced = nullptr;
  prometheus::Gauge* rate = nullptr;
  prometheus::Gauge* poll_interval = nullptr;
};

namespace {
constexpr const char* kRequestClasses[] = {"caller", "prompted", "poll", "bulk"};
int ClassIndex(absl::string_view c) {
  for (int i = 0; i < 4; ++i) {
    if (c == kRequestClasses[i]) return i;
  }
  return -1;
}
}  // namespace

void Metrics::LeafRequestGranted(absl::string_view request_class) {
  if (int i = ClassIndex(request_class); i >= 0) budget_->granted[i]->Increment();
}
void Metrics::LeafBudgetWait(absl::string_view request_class) {
  if (int i = ClassIndex(request_class); i >= 0) budget_->waits[i]->Increment();
}
void Metrics::LeafRateLimited() { budget_->rate_limited->Increment(); }
void Metrics::LeafCoalesced() { budget_->coalesced->Increment(); }
void Metrics::LeafBudgetRate(double requests_per_minute) {
  budget_->rate->Set(requests_per_minute);
}
void Metrics::WatchEffectivePollInterval(absl::Duration interval) {
  budget_->poll_interval->Set(absl::ToDoubleSeconds(interval));
}

void Metrics::WatchStreamEnded(absl::StatusCode code) {
  watch_->ended->Add({{"code", absl::StatusCodeToString(code)}}).Increment();
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& started = prometheus::BuildCounter()
                      .Name("grpc_server_started_total")
                      .Help("RPCs started on the server.")
                      .Register(*registry_);
  handled_ = &prometheus::BuildCounter()
                  .Name("grpc_server_handled_total")
                  .Help("RPCs completed on the server, by code.")
                  .Register(*registry_);
  auto& handling = prometheus::BuildHistogram()
                       .Name("grpc_server_handling_seconds")
                       .Help("Latency of RPCs handled by the server.")
                       .Register(*registry_);
  const google::protobuf::ServiceDescriptor& service = Service();
  for (int i = 0; i < service.method_count(); ++i) {
    auto m = std::make_unique<MethodMetrics>();
    m->name = service.method(i)->name();
    m->type = GrpcType(*service.method(i));
    const prometheus::Labels labels = {
        {"grpc_type", m->type}, {"grpc_service", kService}, {"grpc_method", m->name}};
    m->started = &started.Add(labels);
    m->latency = &handling.Add(labels, LatencyBuckets());
    methods_.push_back(std::move(m));
  }
  const char* leaf_methods[] = {"GET", "POST", "DELETE"};
  for (size_t i = 0; i < leaf_methods_.size(); ++i) {
    leaf_methods_[i] = std::make_unique<LeafMethodMetrics>();
    leaf_methods_[i]->name = leaf_methods[i];
  }
  rejected_ = &prometheus::BuildCounter()
                   .Name("agleader_rejected_calls_total")
                   .Help("Calls refused before reaching Leaf, by reason.")
                   .Register(*registry_);
  leaf_requests_ = &prometheus::BuildCounter()
                        .Name("agleader_leaf_requests_total")
                        .Help(
                            "HTTP requests to Leaf, by method and status (\"error\": no response); "
                            "and, as separate series, requests granted by the budget, by class.")
                        .Register(*registry_);
  // Grants by class share the family of the requests by method and status
  // (the name the budget's docs give), as their own series: sum by class,
  // or by method and status, never across both.
  budget_ = std::make_unique<BudgetMetrics>();
  auto& waits = prometheus::BuildCounter()
                    .Name("agleader_leaf_budget_waits_total")
                    .Help("Requests to Leaf that waited for the request budget, by class.")
                    .Register(*registry_);
  for (int i = 0; i < 4; ++i) {
    budget_->granted[i] = &leaf_requests_->Add({{"class", kRequestClasses[i]}});
    budget_->waits[i] = &waits.Add({{"class", kRequestClasses[i]}});
  }
  budget_->rate_limited = &prometheus::BuildCounter()
                               .Name("agleader_leaf_rate_limited_total")
                               .Help("Leaf's 429 answers (each pauses every request to Leaf).")
                               .Register(*registry_)
                               .Add({});
  budget_->coalesced = &prometheus::BuildCounter()
                            .Name("agleader_leaf_coalesced_total")
                            .Help("Reads that shared an identical read already in flight.")
                            .Register(*registry_)
                            .Add({});
  budget_->rate = &prometheus::BuildGauge()
                       .Name("agleader_leaf_budget_requests_per_minute")
                       .Help("The Leaf request rate in force (lowered after Leaf's 429s).")
                       .Register(*registry_)
                       .Add({});
  budget_->poll_interval = &prometheus::BuildGauge()
                                .Name("agleader_watch_effective_poll_interval_seconds")
                                .Help("How often each watched user is read, within the budget.")
                                .Register(*registry_)
                                .Add({});
  leaf_latency_ = &prometheus::BuildHistogram()
                       .Name("agleader_leaf_request_duration_seconds")
                       .Help("Latency of HTTP requests to Leaf.")
                       .Register(*registry_);
  leaf_retries_ = &prometheus::BuildCounter()
                       .Name("agleader_leaf_retries_total")
                       .Help("HTTP requests to Leaf scheduled again after a failure.")
                       .Register(*registry_);
  auto& logins = prometheus::BuildCounter()
                     .Name("agleader_leaf_logins_total")
                     .Help("Logins to Leaf (POST /api/authenticate), by result.")
                     .Register(*registry_);
  logins_ok_ = &logins.Add({{"result", "success"}});
  logins_failed_ = &logins.Add({{"result", "failure"}});
  leaf_up_ = &prometheus::BuildGauge()
                  .Name("agleader_leaf_up")
                  .Help("1 while Leaf answers (the leaf-api health status), else 0.")
                  .Register(*registry_)
                  .Add({});
  leaf_up_->Set(1);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("agleader_calls_in_flight")
                    .Help("RPCs started and not yet completed.")
                    .Register(*registry_)
                    .Add({});
  http_refused_ = &prometheus::BuildCounter()
                       .Name("agleader_http_refused_total")
                       .Help(
                           "Connections and requests the HTTP listeners (alerts, metrics) "
                           "refused, by listener and reason.")
                       .Register(*registry_);
  InitWatchMetrics();
}

Metrics::~Metrics() = default;

Metrics::MethodMetrics* Metrics::For(absl::string_view method) {
  for (auto& m : methods_) {
    if (m->name == method) return m.get();
  }
  return nullptr;
}

Metrics::LeafMethodMetrics* Metrics::LeafFor(absl::string_view http_method) {
  for (auto& m : leaf_methods_) {
    if (m->name == http_method) return m.get();
  }
  return nullptr;
}

void Metrics::RpcStarted(absl::string_view method) {
  if (MethodMetrics* m = For(method)) m->started->Increment();
}

void Metrics::RpcHandled(absl::string_view method, absl::StatusCode code, absl::Duration latency) {
  MethodMetrics* m = For(method);
  if (m == nullptr) return;
  m->latency->Observe(absl::ToDoubleSeconds(latency));
  const int c = static_cast<int>(code);
  prometheus::Counter* handled =
      c >= 0 && c < kCodes ? m->handled[c].load(std::memory_order_acquire) : nullptr;
  if (handled == nullptr) {
    handled = &handled_->Add({{"grpc_type", m->type},
                              {"grpc_service", kService},
                              {"grpc_method", m->name},
                              {"grpc_code", CodeName(code)}});
    if (c >= 0 && c < kCodes) m->handled[c].store(handled, std::memory_order_release);
  }
  handled->Increment();
}

void Metrics::CallRejected(absl::string_view reason) {
  rejected_->Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::LeafAttempt(absl::string_view http_method, int http_status, absl::Duration latency) {
  LeafMethodMetrics* m = LeafFor(http_method);
  const bool cacheable =
      m != nullptr && http_status >= 0 && http_status < LeafMethodMetrics::kStatuses;
  prometheus::Counter* requests =
      cacheable ? m->requests[http_status].load(std::memory_order_acquire) : nullptr;
  if (requests == nullptr) {
    requests = &leaf_requests_->Add(
        {{"method", std::string(http_method)},
         {"status", http_status == 0 ? std::string("error") : absl::StrCat(http_status)}});
    if (cacheable) m->requests[http_status].store(requests, std::memory_order_release);
  }
  requests->Increment();
  prometheus::Histogram* histogram =
      m != nullptr ? m->latency.load(std::memory_order_acquire) : nullptr;
  if (histogram == nullptr) {
    histogram = &leaf_latency_->Add({{"method", std::string(http_method)}}, LatencyBuckets());
    if (m != nullptr) m->latency.store(histogram, std::memory_order_release);
  }
  histogram->Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::LeafRetry(absl::string_view http_method) {
  leaf_retries_->Add({{"method", std::string(http_method)}}).Increment();
}

void Metrics::LeafLogin(bool ok) { (ok ? logins_ok_ : logins_failed_)->Increment(); }

void Metrics::LeafUp(bool up) { leaf_up_->Set(up ? 1 : 0); }

void Metrics::EnableFleet() {
  if (fleet_redis_up_.load() != nullptr) return;
  prometheus::Gauge* up = &prometheus::BuildGauge()
                               .Name("agleader_fleet_redis_up")
                               .Help(
                                   "1 while this replica reaches the fleet's Redis (fleet mode); "
                                   "0: it serves alone (its own budget share, polls and alerts)")
                               .Register(*registry_)
                               .Add({});
  fleet_redis_up_.store(up);
  prometheus::Family<prometheus::Counter>* reads =
      &prometheus::BuildCounter()
           .Name("agleader_fleet_poll_reads_total")
           .Help(
               "Reads of watched users in fleet mode, by where the answer came from: leaf (this "
               "replica held the user's lease), redis (another replica did: the shared state), "
               "alone (Redis failed: Leaf, unshared)")
           .Register(*registry_);
  for (const char* from : {"leaf", "redis", "alone"}) reads->Add({{"from", from}});
  fleet_poll_reads_.store(reads);
}

void Metrics::FleetPollRead(absl::string_view from) {
  if (prometheus::Family<prometheus::Counter>* f = fleet_poll_reads_.load()) {
    f->Add({{"from", std::string(from)}}).Increment();
  }
}

void Metrics::FleetRedisUp(bool up) {
  if (prometheus::Gauge* g = fleet_redis_up_.load()) g->Set(up ? 1 : 0);
}

void Metrics::CallsInFlight(int delta) {
  if (delta > 0) {
    in_flight_->Increment(delta);
  } else {
    in_flight_->Decrement(-delta);
  }
}

std::string Metrics::Text() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace leafsvc
