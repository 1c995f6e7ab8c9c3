#include "bench/stalled_stream.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "bench/child_process.h"
#include "bench/idle_watch_load.h"
#include "bench/load.h"
#include "bench/load_grpc_util.h"
#include "bench/stats.h"
#include "bench/upstream_control.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace bench {
namespace {

namespace v1 = ::leaf::agleader::v1;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "bench-static-token";
constexpr char kWarmupUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr int kUsers = 100;  // the most one WatchCredentials request names
constexpr auto kSampleEvery = std::chrono::milliseconds(500);
constexpr auto kReadersSettle = std::chrono::seconds(3);
constexpr int kClientWindowBytes = 16 * 1024;

// A stream that never reads: what the service sends waits in HTTP/2 flow
// control, then in the service's queue for the stream.
class StalledStream : public grpc::ClientReadReactor<v1::CredentialsChange> {
 public:
  void Begin(v1::AgLeaderCredentials::Stub* stub, const std::vector<std::string>& users) {
    for (const std::string& u : users) request_.add_leaf_user_ids(u);
    stub->async()->WatchCredentials(&context_, &request_, this);
    StartCall();  // and no StartRead, ever
  }
  void OnDone(const grpc::Status&) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
  }
  void CancelAndWait(std::chrono::seconds timeout) {
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return done_; });
  }

 private:
  grpc::ClientContext context_;
  v1::WatchCredentialsRequest request_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

std::vector<std::string> ChangingUserIds(int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "ffffffff-0000-4000-8000-%012d", i);
    ids.push_back(id);
  }
  return ids;
}

bool FindStalledCut(const std::string& log, StalledStreamRecord* rec) {
  std::size_t at = 0;
  while (at < log.size()) {
    std::size_t eol = log.find('\n', at);
    if (eol == std::string::npos) eol = log.size();
    const std::string line = log.substr(at, eol - at);
    at = eol + 1;
    if (line.find("\"msg\":\"watch stream ended\"") == std::string::npos ||
        line.find("\"reason\":\"WATCH_STREAM_TOO_SLOW\"") == std::string::npos) {
      continue;
    }
    rec->cut = true;
    rec->changes_sent = JsonInt(line, "changes_sent");
    const std::size_t d = line.find("\"duration_ms\":");
    if (d != std::string::npos)
      rec->cut_after_s = std::strtod(line.c_str() + d + 14, nullptr) / 1000;
    const std::size_t e = line.find("\"error\":\"");
    if (e != std::string::npos) rec->end = line.substr(e + 9, line.find('"', e + 9) - (e + 9));
    return true;
  }
  return false;
}

std::vector<std::string> StalledStreamServiceFlags() {
  // Each user read every second (no jitter): 100 changes a second for the
  // stream, so its queue of 1,024 fills within the window.
  return {"--watch_poll_interval=1s",
          "--watch_poll_jitter=0s",
          "--watch_max_users_per_caller=0",
          "--leaf_requests_per_minute=600000",
          "--leaf_burst=1000",
          "--shutdown_grace=2s"};
}

StalledStreamRecord MeasureStalledStream(const Flags& flags, const std::string& upstream_url) {
  StalledStreamRecord rec;
  rec.users = kUsers;
  const std::vector<std::string> extra = StalledStreamServiceFlags();
  rec.service_flags = Joined(extra);
  const std::string log = flags.out_dir + "/watch-stalled-server.log";
  std::remove(log.c_str());
  std::vector<std::string> args = {flags.server_bin, "--listen=127.0.0.1:0",
                                   "--leaf_api_url=" + upstream_url};
  args.insert(args.end(), extra.begin(), extra.end());
  for (const std::string& a : Split(flags.server_args, ' ')) args.push_back(a);
  Child server = Spawn(args, {std::string("AGLEADER_LEAF_TOKEN=") + kToken}, log);
  const int port = WaitForPort(server, "listening on", 120);
  if (port <= 0) {
    StopChild(server.pid, 5);
    rec.note = "the service did not start (see " + log + ")";
    return rec;
  }
  const std::string target = "127.0.0.1:" + std::to_string(port);
  std::fprintf(stderr, "bench: stalled stream, %d changing users, %d s ...\n", kUsers,
               flags.stalled_seconds);
  LoadOptions warm;
  warm.concurrency = 1;
  warm.warmup = std::chrono::milliseconds(0);
  warm.duration = std::chrono::milliseconds(200);
  RunGrpc(target, {kWarmupUser}, warm);

  // A reading stream per user first: the service then polls the users
  // every second, and the RSS measured before the stalled stream opens
  // already holds what polling them costs; the growth after is the stalled
  // stream's own.
  IdleWatchersOptions readers_options;
  readers_options.target = target;
  readers_options.users = ChangingUserIds(kUsers);
  readers_options.channels = 1;
  IdleWatchers readers(std::move(readers_options));
  readers.Start();
  readers.WaitForFirst(std::chrono::seconds(30));
  std::this_thread::sleep_for(kReadersSettle);
  rec.rss_before_kb = StatusField(server.pid, "VmRSS");
  const std::int64_t readers_before = readers.Figures().messages;

  UpstreamControl control("fast", upstream_url, kToken);
  control.ResetStats();
  // The client's HTTP/2 window stays small (no BDP probing), so what the
  // service sends while nothing is read waits in the service.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  channel_args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  channel_args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kClientWindowBytes);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), channel_args);
  auto stub = v1::AgLeaderCredentials::NewStub(channel);
  StalledStream stream;
  const auto opened = Clock::now();
  stream.Begin(stub.get(), ChangingUserIds(kUsers));
  const auto until = opened + std::chrono::seconds(flags.stalled_seconds);
  while (Clock::now() < until) {
    std::this_thread::sleep_for(kSampleEvery);
    rec.rss_max_kb = std::max(rec.rss_max_kb, StatusField(server.pid, "VmRSS"));
  }
  rec.seconds = std::chrono::duration<double>(Clock::now() - opened).count();
  rec.rss_end_kb = StatusField(server.pid, "VmRSS");
  rec.upstream_reads = JsonInt(control.Stats(), "requests");
  rec.reader_messages = readers.Figures().messages - readers_before;
  stream.CancelAndWait(std::chrono::seconds(5));
  readers.Stop();
  StopChild(server.pid, 15);
  if (!FindStalledCut(ReadFileOrEmpty(log), &rec)) {
    rec.end = "not cut in the window (no WATCH_STREAM_TOO_SLOW in " + log + ")";
  }
  rec.measured = true;
  return rec;
}

}  // namespace bench
