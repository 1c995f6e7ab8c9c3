#include "bench/budget_load.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>
#include <utility>

#include "bench/load_grpc_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace bench {

namespace v1 = ::leaf::agleader::v1;
using Clock = std::chrono::steady_clock;

namespace {

// Streams per HTTP/2 connection, well under any concurrent-stream limit.
constexpr int kStreamsPerChannel = 20;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

std::chrono::milliseconds RetryDelayOf(const std::string& error_details) {
  google::rpc::Status status;
  if (!status.ParseFromString(error_details)) return std::chrono::milliseconds(0);
  google::rpc::RetryInfo retry;
  for (const auto& any : status.details()) {
    if (any.UnpackTo(&retry)) {
      return std::chrono::milliseconds(retry.retry_delay().seconds() * 1000 +
                                       retry.retry_delay().nanos() / 1000000);
    }
  }
  return std::chrono::milliseconds(0);
}

std::string ReasonOf(const std::string& error_details) {
  google::rpc::Status status;
  if (!status.ParseFromString(error_details)) return "";
  google::rpc::ErrorInfo info;
  for (const auto& any : status.details()) {
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

struct BudgetLoad::State {
  explicit State(BudgetLoadOptions o) : options(std::move(o)) {}

  void Watch(int stream, v1::AgLeaderCredentials::Stub* stub, grpc::ClientContext* context);
  void Call(int caller, v1::AgLeaderCredentials::Stub* stub);
  void Batch(std::vector<std::string> ids, v1::AgLeaderCredentials::Stub* stub,
             grpc::ClientContext* context);
  // Waits `d` or until Stop(); false when stopping.
  bool Pause(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    return !cv.wait_for(lock, d, [&] { return stopping; });
  }

  const BudgetLoadOptions options;
  Clock::time_point started;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::AgLeaderCredentials::Stub>> stubs;
  std::vector<std::thread> threads;
  std::atomic<std::int64_t> users_initialized{0};

  std::mutex mu;
  std::condition_variable cv;
  bool started_once = false;
  bool stopping = false;
  bool stopped = false;
  // Streams and batch calls (cancelled on Stop) and callers' calls in flight.
  std::vector<std::unique_ptr<grpc::ClientContext>> watch_contexts, batch_contexts;
  std::unordered_set<grpc::ClientContext*> caller_contexts;
  WatchFigures watch;
  CallerFigures callers;
  BatchFigures batch;
};

void BudgetLoad::State::Watch(int stream, v1::AgLeaderCredentials::Stub* stub,
                              grpc::ClientContext* context) {
  v1::WatchCredentialsRequest request;
  const std::size_t begin = static_cast<std::size_t>(stream) * kWatchUsersPerStream;
  for (std::size_t i = begin; i < options.users.size() && i < begin + kWatchUsersPerStream; ++i) {
    request.add_leaf_user_ids(options.users[i]);
  }
  std::unique_ptr<grpc::ClientReader<v1::CredentialsChange>> reader =
      stub->WatchCredentials(context, request);
  std::unordered_set<std::string> initialized;
  std::int64_t initial = 0, errors = 0, changes = 0;
  v1::CredentialsChange change;
  while (reader->Read(&change)) {
    if (change.kind() == v1::CHANGE_KIND_INITIAL) {
      ++initial;
      if (initialized.insert(change.leaf_user_id()).second &&
          ++users_initialized == static_cast<std::int64_t>(options.users.size())) {
        std::lock_guard<std::mutex> lock(mu);
        watch.all_initial_after_s = SecondsSince(started);
      }
    } else if (change.kind() == v1::CHANGE_KIND_ERROR) {
      ++errors;
    } else {
      ++changes;
    }
  }
  const grpc::Status status = reader->Finish();
  std::lock_guard<std::mutex> lock(mu);
  watch.initial += initial;
  watch.errors += errors;
  watch.changes += changes;
  if (!stopping) ++watch.ended[CodeName(status.error_code())];
}

void BudgetLoad::State::Call(int caller, v1::AgLeaderCredentials::Stub* stub) {
  std::mt19937_64 random(static_cast<std::uint64_t>(caller) + 1);
  std::vector<std::int64_t> latencies;
  std::map<std::string, std::int64_t> codes;
  while (true) {
    v1::GetCredentialsRequest request;
    request.set_leaf_user_id(options.users[random() % options.users.size()]);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options.call_deadline);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) break;
      caller_contexts.insert(&context);
    }
    v1::Credentials response;
    const Clock::time_point start = Clock::now();
    const grpc::Status status = stub->GetCredentials(&context, request, &response);
    const std::int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    {
      std::lock_guard<std::mutex> lock(mu);
      caller_contexts.erase(&context);
      // A call cancelled by Stop() is the benchmark's doing, not a figure.
      if (stopping) break;
    }
    latencies.push_back(ns);
    ++codes[CodeName(status.error_code())];
    std::chrono::milliseconds pause = options.caller_pause;
    if (status.error_code() == grpc::RESOURCE_EXHAUSTED) {
      pause = std::max(pause, RetryDelayOf(status.error_details()));
    }
    if (!Pause(pause)) break;
  }
  std::lock_guard<std::mutex> lock(mu);
  callers.latencies_ns.insert(callers.latencies_ns.end(), latencies.begin(), latencies.end());
  for (const auto& [code, n] : codes) callers.codes[code] += n;
}

void BudgetLoad::State::Batch(std::vector<std::string> ids, v1::AgLeaderCredentials::Stub* stub,
                              grpc::ClientContext* context) {
  v1::BatchGetCredentialsRequest request;
  for (std::string& id : ids) request.add_leaf_user_ids(std::move(id));
  v1::BatchGetCredentialsResponse response;
  const grpc::Status status = stub->BatchGetCredentials(context, request, &response);
  std::lock_guard<std::mutex> lock(mu);
  ++batch.call_codes[CodeName(status.error_code())];
  batch.seconds = std::max(batch.seconds, SecondsSince(started));
  for (const v1::BatchGetCredentialsResult& r : response.results()) {
    if (r.has_credentials()) {
      ++batch.fetched;
      continue;
    }
    // ErrorStatus is wire-compatible with google.rpc.Status.
    const std::string reason = ReasonOf(r.error().SerializeAsString());
    if (reason == "LEAF_RATE_LIMITED") {
      ++batch.rate_limited;
    } else {
      ++batch.other_errors[CodeName(static_cast<grpc::StatusCode>(r.error().code())) + "/" +
                           (reason.empty() ? "-" : reason)];
    }
  }
}

BudgetLoad::BudgetLoad(BudgetLoadOptions options)
    : state_(std::make_unique<State>(std::move(options))) {}

BudgetLoad::~BudgetLoad() { Stop(); }

void BudgetLoad::Start() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.started_once) return;
    s.started_once = true;
  }
  const BudgetLoadOptions& o = s.options;
  const int streams =
      static_cast<int>((o.users.size() + kWatchUsersPerStream - 1) / kWatchUsersPerStream);
  const int watch_channels = std::max(1, (streams + kStreamsPerChannel - 1) / kStreamsPerChannel);
  // Channels: the streams', then one for the callers and one for the batch.
  for (int i = 0; i < watch_channels + 2; ++i) {
    s.channels.push_back(Connect(o.target, i));
    s.stubs.push_back(v1::AgLeaderCredentials::NewStub(s.channels.back()));
  }
  v1::AgLeaderCredentials::Stub* callers = s.stubs[watch_channels].get();
  v1::AgLeaderCredentials::Stub* batch = s.stubs[watch_channels + 1].get();
  s.started = Clock::now();
  s.watch.streams = streams;
  s.batch.users = o.batch_users;
  for (int i = 0; i < streams; ++i) {
    s.watch_contexts.push_back(std::make_unique<grpc::ClientContext>());
    s.threads.emplace_back(&State::Watch, &s, i, s.stubs[i / kStreamsPerChannel].get(),
                           s.watch_contexts.back().get());
  }
  for (int i = 0; i < o.callers; ++i) s.threads.emplace_back(&State::Call, &s, i, callers);
  for (int begin = 0; begin < o.batch_users; begin += kBatchIdsPerCall) {
    const int end = std::min(o.batch_users, begin + kBatchIdsPerCall);
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + o.batch_deadline);
    s.batch_contexts.push_back(std::move(context));
    ++s.batch.calls;
    s.threads.emplace_back(&State::Batch, &s,
                           std::vector<std::string>(o.users.begin() + begin, o.users.begin() + end),
                           batch, s.batch_contexts.back().get());
  }
}

void BudgetLoad::Stop() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.stopped) return;
    s.stopped = s.stopping = true;
    for (grpc::ClientContext* c : s.caller_contexts) c->TryCancel();
    for (auto& c : s.watch_contexts) c->TryCancel();
  }
  s.cv.notify_all();
  // The batch calls are not cancelled: their deadline ends them, and what
  // they report at it is one of the figures.
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
}

const WatchFigures& BudgetLoad::watch() const { return state_->watch; }
const CallerFigures& BudgetLoad::callers() const { return state_->callers; }
const BatchFigures& BudgetLoad::batch() const { return state_->batch; }

}  // namespace bench
