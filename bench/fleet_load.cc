#include "bench/fleet_load.h"

#include <curl/curl.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

#include "bench/load_grpc_util.h"
#include "bench/upstream_control.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "rapidjson/document.h"
#include "server/alerts/signature.h"

namespace bench {

namespace v1 = ::leaf::agleader::v1;
using Clock = std::chrono::steady_clock;

namespace {

// Streams per HTTP/2 connection, well under any concurrent-stream limit.
constexpr int kStreamsPerChannel = 20;

// The status an alert moves a user to: Leaf alerts only about these two, so
// a user alternates between them (seeded users start OK).
std::string NextStatus(const std::string& now) {
  return now == "UNAUTHENTICATED" ? "MISSING_PERMISSION" : "UNAUTHENTICATED";
}

v1::CredentialStatus StatusEnum(const std::string& status) {
  return status == "UNAUTHENTICATED" ? v1::CREDENTIAL_STATUS_UNAUTHENTICATED
                                     : v1::CREDENTIAL_STATUS_MISSING_PERMISSION;
}

std::string JsonString(const std::string& json, const char* key) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  auto it = doc.FindMember(key);
  return it != doc.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

std::size_t Discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

// POSTs `body` signed with `secret`; the HTTP status, 0 on a transport error.
long PostSigned(const std::string& url, const std::string& secret, const std::string& body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return 0;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string signature = std::string(leafsvc::alerts::kSignatureHeader) + ": " +
                                leafsvc::alerts::SignBody(secret, body);
  headers = curl_slist_append(headers, signature.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

}  // namespace

std::vector<StreamPlan> PlanStreams(int streams, int users, int replicas) {
  std::vector<StreamPlan> plan;
  if (streams < 1 || users < 1 || replicas < 1) return plan;
  for (int i = 0; i < streams; ++i) {
    const int user = i % users, round = i / users;
    plan.push_back({user, (user + round) % replicas});
  }
  return plan;
}

std::string AlertBody(const std::string& credential_id, const std::string& status) {
  const std::string type =
      status == "UNAUTHENTICATED" ? "credentialsUnauthenticated" : "credentialsLimitedPermission";
  return R"({"credentialId":")" + credential_id + R"(","status":")" + status + R"(","type":")" +
         type + R"(","credential":"AgLeaderCredentials","provider":"AgLeader"})";
}

struct FleetLoad::State {
  // One alert awaited by the streams of its user.
  struct Pending {
    std::string status;
    Clock::time_point sent;
    std::vector<bool> delivered;  // by position in user_streams[user]
  };

  class Stream : public grpc::ClientReadReactor<v1::CredentialsChange> {
   public:
    Stream(State* state, int index) : state_(state), index_(index) {}
    void Begin(v1::AgLeaderCredentials::Stub* stub, const std::string& user) {
      request_.add_leaf_user_ids(user);
      stub->async()->WatchCredentials(&context, &request_, this);
      StartRead(&change_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;  // OnDone follows
      state_->OnChange(index_, change_, Clock::now());
      StartRead(&change_);
    }
    void OnDone(const grpc::Status& status) override { state_->OnEnded(status); }

    grpc::ClientContext context;

   private:
    State* const state_;
    const int index_;
    v1::WatchCredentialsRequest request_;
    v1::CredentialsChange change_;
  };

  explicit State(FleetLoadOptions o) : options(std::move(o)) {}

  void OnChange(int stream, const v1::CredentialsChange& change, Clock::time_point at);
  void OnEnded(const grpc::Status& status);
  // Counts the streams that never saw `p` as missed (under mu).
  void Settle(int user, const Pending& p);

  const FleetLoadOptions options;
  std::vector<StreamPlan> plan;
  std::vector<std::vector<int>> user_streams;  // stream indexes per user
  std::vector<int> position;                   // a stream's index in user_streams
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::AgLeaderCredentials::Stub>> stubs;
  std::vector<std::unique_ptr<Stream>> streams;

  std::mutex mu;
  std::condition_variable cv;
  bool started = false, stopping = false, stopped = false;
  int live = 0;
  std::vector<bool> initialized;
  int initialized_count = 0;
  std::vector<std::string> status;  // each user's status at the emulator
  std::vector<std::optional<Pending>> pending;
  std::int64_t next_alert = 0, sent = 0;
  std::vector<ReplicaAlertFigures> replicas;
  FleetWatchFigures watch;
};

void FleetLoad::State::OnChange(int stream, const v1::CredentialsChange& change,
                                Clock::time_point at) {
  std::lock_guard<std::mutex> lock(mu);
  if (change.kind() == v1::CHANGE_KIND_INITIAL) {
    ++watch.initial;
    if (!initialized[stream]) {
      initialized[stream] = true;
      if (++initialized_count == static_cast<int>(streams.size())) cv.notify_all();
    }
    return;
  }
  if (change.kind() == v1::CHANGE_KIND_ERROR) {
    ++watch.errors;
    return;
  }
  ++watch.changes;
  const int user = plan[stream].user;
  std::optional<Pending>& p = pending[user];
  if (!p || change.current().status() != StatusEnum(p->status)) return;
  const std::size_t pos = static_cast<std::size_t>(position[stream]);
  if (p->delivered[pos]) return;
  p->delivered[pos] = true;
  ReplicaAlertFigures& r = replicas[plan[stream].replica];
  // A poll may find the new status between the emulator's change and the
  // alert's POST: that stream waited for nothing.
  r.latencies_ns.push_back(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(at - p->sent).count()));
  ++r.by_source[v1::ChangeSource_Name(change.source())];
}

void FleetLoad::State::OnEnded(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu);
  if (!stopping) ++watch.ended[CodeName(status.error_code())];
  --live;
  cv.notify_all();
}

void FleetLoad::State::Settle(int user, const Pending& p) {
  for (std::size_t i = 0; i < p.delivered.size(); ++i) {
    if (!p.delivered[i]) ++replicas[plan[user_streams[user][i]].replica].missed;
  }
}

FleetLoad::FleetLoad(FleetLoadOptions options)
    : state_(std::make_unique<State>(std::move(options))) {}

FleetLoad::~FleetLoad() { Stop(); }

void FleetLoad::Start() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.started) return;
    s.started = true;
  }
  const FleetLoadOptions& o = s.options;
  const int users = static_cast<int>(o.users.size());
  const int replicas = static_cast<int>(o.targets.size());
  s.plan = PlanStreams(o.streams, users, replicas);
  s.user_streams.assign(static_cast<std::size_t>(users), {});
  s.replicas.assign(static_cast<std::size_t>(replicas), {});
  for (std::size_t i = 0; i < s.plan.size(); ++i) {
    std::vector<int>& mine = s.user_streams[s.plan[i].user];
    s.position.push_back(static_cast<int>(mine.size()));
    mine.push_back(static_cast<int>(i));
    ++s.replicas[s.plan[i].replica].streams;
  }
  s.initialized.assign(s.plan.size(), false);
  s.status.assign(static_cast<std::size_t>(users), "OK");
  s.pending.assign(static_cast<std::size_t>(users), std::nullopt);
  // Channels per replica, each for kStreamsPerChannel of its streams.
  std::vector<int> opened(static_cast<std::size_t>(replicas), 0);
  std::vector<std::vector<int>> stub_of(static_cast<std::size_t>(replicas));
  for (int r = 0; r < replicas; ++r) {
    const int n =
        std::max(1, (s.replicas[r].streams + kStreamsPerChannel - 1) / kStreamsPerChannel);
    for (int c = 0; c < n; ++c) {
      s.channels.push_back(Connect(o.targets[r], static_cast<int>(s.channels.size())));
      s.stubs.push_back(v1::AgLeaderCredentials::NewStub(s.channels.back()));
      stub_of[r].push_back(static_cast<int>(s.stubs.size()) - 1);
    }
  }
  for (std::size_t i = 0; i < s.plan.size(); ++i) {
    s.streams.push_back(std::make_unique<State::Stream>(&s, static_cast<int>(i)));
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.live = static_cast<int>(s.streams.size());
  }
  for (std::size_t i = 0; i < s.plan.size(); ++i) {
    const int r = s.plan[i].replica;
    const int stub = stub_of[r][opened[r]++ / kStreamsPerChannel];
    s.streams[i]->Begin(s.stubs[stub].get(), o.users[s.plan[i].user]);
  }
}

bool FleetLoad::WaitForInitial(std::chrono::milliseconds timeout) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  return s.cv.wait_for(lock, timeout, [&] {
    return s.initialized_count == static_cast<int>(s.streams.size()) || s.live == 0;
  }) && s.initialized_count == static_cast<int>(s.streams.size());
}

std::string FleetLoad::SendAlert() {
  State& s = *state_;
  const FleetLoadOptions& o = s.options;
  if (o.users.empty()) return "no users";
  int user;
  std::string status;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.started || s.stopped) return "the streams are not open";
    user = static_cast<int>(s.next_alert++ % static_cast<std::int64_t>(o.users.size()));
    status = NextStatus(s.status[user]);
    if (s.pending[user]) s.Settle(user, *s.pending[user]);
    s.pending[user] =
        State::Pending{status, Clock::now(), std::vector<bool>(s.user_streams[user].size(), false)};
  }
  const std::string answer =
      HttpCall("POST", o.emulator_url + "/_emulator/users/" + o.users[user] + "/status",
               o.emulator_token, R"({"status":")" + status + R"("})");
  const std::string credential_id = JsonString(answer, "id");
  if (credential_id.empty()) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.pending[user].reset();
    return "the emulator did not change the status (" + answer.substr(0, 200) + ")";
  }
  const std::string body = AlertBody(credential_id, status);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.status[user] = status;
    if (s.pending[user]) s.pending[user]->sent = Clock::now();
    ++s.sent;
  }
  const long http = PostSigned(o.alert_url, o.alert_secret, body);
  return http == 200 ? "" : "the replica answered the alert with HTTP " + std::to_string(http);
}

void FleetLoad::Stop() {
  State& s = *state_;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    if (s.stopped) return;
    s.stopped = s.stopping = true;
    for (auto& stream : s.streams) stream->context.TryCancel();
    s.cv.wait(lock, [&] { return s.live == 0; });
    for (std::size_t u = 0; u < s.pending.size(); ++u) {
      if (s.pending[u]) s.Settle(static_cast<int>(u), *s.pending[u]);
      s.pending[u].reset();
    }
  }
}

const std::vector<ReplicaAlertFigures>& FleetLoad::alerts() const { return state_->replicas; }
const FleetWatchFigures& FleetLoad::watch() const { return state_->watch; }
std::int64_t FleetLoad::alerts_sent() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->sent;
}

}  // namespace bench
