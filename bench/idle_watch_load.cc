#include "bench/idle_watch_load.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "bench/load_grpc_util.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace bench {

namespace v1 = ::leaf::agleader::v1;

std::vector<std::string> IdleWatchUserIds(int count) {
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(std::max(0, count)));
  for (int i = 0; i < count; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    ids.push_back(id);
  }
  return ids;
}

struct IdleWatchers::State {
  class Stream : public grpc::ClientReadReactor<v1::CredentialsChange> {
   public:
    explicit Stream(State* state) : state_(state) {}
    void Begin(v1::AgLeaderCredentials::Stub* stub, const std::string& user) {
      request_.add_leaf_user_ids(user);
      stub->async()->WatchCredentials(&context, &request_, this);
      StartRead(&change_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;  // OnDone follows
      state_->OnMessage(this, change_);
      StartRead(&change_);
    }
    void OnDone(const grpc::Status& status) override { state_->OnEnded(this, status); }

    grpc::ClientContext context;
    bool first = false;  // under State::mu

   private:
    State* const state_;
    v1::WatchCredentialsRequest request_;
    v1::CredentialsChange change_;
  };

  explicit State(IdleWatchersOptions o) : options(std::move(o)) {}

  void OnMessage(Stream* stream, const v1::CredentialsChange& change) {
    std::lock_guard<std::mutex> lock(mu);
    ++figures.messages;
    if (change.kind() == v1::CHANGE_KIND_ERROR) {
      ++figures.error_messages;
      if (figures.first_error.empty()) {
        figures.first_error = "CHANGE_KIND_ERROR: " + change.error().message();
      }
    }
    if (!stream->first) {
      stream->first = true;
      ++figures.first_received;
      cv.notify_all();
    }
  }

  void OnEnded(Stream* stream, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu);
    if (!stopping) {
      if (!stream->first) ++ended_without_first;
      const std::string code = CodeName(status.error_code());
      ++figures.ended[code];
      if (figures.first_error.empty()) figures.first_error = code + ": " + status.error_message();
    }
    --live;
    cv.notify_all();
  }

  const IdleWatchersOptions options;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::AgLeaderCredentials::Stub>> stubs;
  std::vector<std::unique_ptr<Stream>> streams;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool started = false, stopping = false;
  int live = 0, ended_without_first = 0;
  IdleWatchersFigures figures;
};

IdleWatchers::IdleWatchers(IdleWatchersOptions options)
    : state_(std::make_unique<State>(std::move(options))) {}

IdleWatchers::~IdleWatchers() { Stop(); }

void IdleWatchers::Start() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.started) return;
    s.started = true;
    s.figures.streams = static_cast<int>(s.options.users.size());
    s.live = s.figures.streams;
  }
  const int channels = std::max(1, s.options.channels);
  for (int c = 0; c < channels; ++c) {
    // Indexes far from the load generators' own, so no connection is shared.
    s.channels.push_back(Connect(s.options.target, 1000 + c));
    s.stubs.push_back(v1::AgLeaderCredentials::NewStub(s.channels.back()));
  }
  for (std::size_t i = 0; i < s.options.users.size(); ++i) {
    s.streams.push_back(std::make_unique<State::Stream>(&s));
  }
  for (std::size_t i = 0; i < s.streams.size(); ++i) {
    s.streams[i]->Begin(s.stubs[i % s.stubs.size()].get(), s.options.users[i]);
  }
}

bool IdleWatchers::WaitForFirst(std::chrono::milliseconds timeout) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  // A stream that ended without a first message never gets one.
  auto settled = [&] {
    return s.figures.first_received + s.ended_without_first >= s.figures.streams;
  };
  s.cv.wait_for(lock, timeout, settled);
  return s.figures.first_received == s.figures.streams;
}

void IdleWatchers::Stop() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.started || s.stopping) return;
    s.stopping = true;
  }
  for (auto& stream : s.streams) stream->context.TryCancel();
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait(lock, [&] { return s.live == 0; });
}

IdleWatchersFigures IdleWatchers::Figures() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->figures;
}

}  // namespace bench
