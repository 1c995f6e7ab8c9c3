#include "bench/idle_watch_bench.h"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "bench/child_process.h"
#include "bench/idle_watch_load.h"
#include "bench/load.h"
#include "bench/report_idle.h"
#include "bench/report_table.h"
#include "bench/stalled_stream.h"
#include "bench/stats.h"
#include "bench/upstream_control.h"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "bench-static-token";
// A user the warm-up calls read (not one of the watched).
constexpr char kWarmupUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
// After the last first message: the service's reads, logs and gRPC buffers
// settle before RSS is read.
constexpr auto kSettle = std::chrono::seconds(3);
constexpr auto kFirstTimeout = std::chrono::seconds(180);

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

// A warm-up: the first calls load what every call needs (gRPC's call path,
// the Leaf client's connection), so that it is not counted per stream.
void WarmUp(const std::string& target) {
  LoadOptions warm;
  warm.concurrency = 2;
  warm.channels = 1;
  warm.warmup = std::chrono::milliseconds(0);
  warm.duration = std::chrono::milliseconds(300);
  RunGrpc(target, {kWarmupUser}, warm);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
}

// --idle_streams streams over as many users on --idle_channels channels.
IdleWatchersOptions StreamsTo(const std::string& target, const Flags& flags) {
  IdleWatchersOptions options;
  options.target = target;
  options.users = IdleWatchUserIds(flags.idle_streams);
  options.channels = flags.idle_channels;
  return options;
}

// The floor: the same streams, users and channels held by floor_server.
IdleFloorRecord MeasureIdleFloor(const Flags& flags) {
  IdleFloorRecord rec;
  if (flags.floor_bin.empty()) {
    rec.note = "no --floor_bin";
    return rec;
  }
  const std::string log = flags.out_dir + "/watch-idle-floor.log";
  Child floor = Spawn({flags.floor_bin}, {}, log);
  const int port = WaitForPort(floor, "listening on", 30);
  if (port <= 0) {
    rec.note = "the floor server did not start (see " + log + ")";
    StopChild(floor.pid, 2);
    return rec;
  }
  const std::string target = "127.0.0.1:" + std::to_string(port);
  std::fprintf(stderr, "bench: idle watchers' floor, %d streams to floor_server %s (pid %d) ...\n",
               flags.idle_streams, target.c_str(), floor.pid);
  WarmUp(target);  // as the service's
  rec.rss_before_kb = StatusField(floor.pid, "VmRSS");
  IdleWatchers watchers(StreamsTo(target, flags));
  watchers.Start();
  watchers.WaitForFirst(kFirstTimeout);
  std::this_thread::sleep_for(kSettle);
  rec.rss_open_kb = StatusField(floor.pid, "VmRSS");
  rec.opened_ok = watchers.Figures().first_received;
  rec.measured = true;
  watchers.Stop();
  StopChild(floor.pid, 5);
  return rec;
}

}  // namespace

std::vector<std::string> IdleWatchServiceFlags(int streams) {
  const int room = streams + 16;  // the warm-up and a margin
  return {
      "--watch_max_streams=" + std::to_string(room),
      "--watch_max_users=" + std::to_string(room),
      // Every stream comes from 127.0.0.1, one caller.
      "--watch_max_users_per_caller=0",
      // The first read of each user is not paced but is counted: at Leaf's
      // 1000/min, 10,000 first reads would take 10 minutes. With this budget
      // the polls run at the 30 s interval (10,000 users: 333 reads/s).
      "--leaf_requests_per_minute=600000",
      "--leaf_burst=1000",
      "--shutdown_grace=2s",
  };
}

std::optional<IdleWatchRecord> MeasureIdleWatch(const Flags& flags) {
  IdleWatchRecord rec;
  rec.streams = flags.idle_streams;
  rec.channels = flags.idle_channels;
  const std::string upstream_log = flags.out_dir + "/watch-idle-upstream.log";
  const std::string server_log = flags.out_dir + "/watch-idle-server.log";
  std::remove(upstream_log.c_str());
  std::remove(server_log.c_str());
  Child upstream = Spawn({flags.upstream_bin, "--port=0", "--events=10"}, {}, upstream_log);
  const int upstream_port = WaitForPort(upstream, "listening on", 10);
  if (upstream_port <= 0) {
    std::fprintf(stderr, "bench: the upstream did not start (see %s)\n", upstream_log.c_str());
    StopChild(upstream.pid, 2);
    return std::nullopt;
  }
  const std::string upstream_url = "http://127.0.0.1:" + std::to_string(upstream_port);
  UpstreamControl control("fast", upstream_url, kToken);

  const std::vector<std::string> extra = IdleWatchServiceFlags(flags.idle_streams);
  std::vector<std::string> args = {flags.server_bin, "--listen=127.0.0.1:0",
                                   "--leaf_api_url=" + upstream_url};
  args.insert(args.end(), extra.begin(), extra.end());
  for (const std::string& a : Split(flags.server_args, ' ')) args.push_back(a);
  rec.service_flags = Joined(extra) + (flags.server_args.empty() ? "" : " " + flags.server_args);
  Child server = Spawn(args, {std::string("AGLEADER_LEAF_TOKEN=") + kToken}, server_log);
  const int server_port = WaitForPort(server, "listening on", 120);
  if (server_port <= 0) {
    std::fprintf(stderr, "bench: the service did not start (see %s)\n", server_log.c_str());
    StopChild(server.pid, 5);
    StopChild(upstream.pid, 2);
    return std::nullopt;
  }
  const std::string target = "127.0.0.1:" + std::to_string(server_port);
  std::fprintf(stderr, "bench: idle watchers, %d streams over %d channels to %s (pid %d) ...\n",
               flags.idle_streams, flags.idle_channels, target.c_str(), server.pid);

  WarmUp(target);
  rec.rss_before_kb = StatusField(server.pid, "VmRSS");
  rec.threads_before = StatusField(server.pid, "Threads");

  IdleWatchers watchers(StreamsTo(target, flags));
  const auto opened = Clock::now();
  watchers.Start();
  watchers.WaitForFirst(kFirstTimeout);
  rec.seconds_to_first = Since(opened);
  std::this_thread::sleep_for(kSettle);
  rec.rss_open_kb = StatusField(server.pid, "VmRSS");
  rec.threads_open = StatusField(server.pid, "Threads");

  control.ResetStats();
  const double cpu0 = ProcessCpuSeconds(server.pid);
  const auto idle_began = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(flags.idle_seconds));
  const double cpu1 = ProcessCpuSeconds(server.pid);
  rec.idle_seconds = Since(idle_began);
  rec.idle_cpu_s = cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0;
  rec.idle_upstream_requests = JsonInt(control.Stats(), "requests");
  rec.rss_after_idle_kb = StatusField(server.pid, "VmRSS");
  rec.hwm_kb = StatusField(server.pid, "VmHWM");

  const IdleWatchersFigures figures = watchers.Figures();
  rec.opened_ok = figures.first_received;
  rec.failed = figures.streams - figures.first_received;
  rec.first_error = figures.first_error;
  rec.ended_early = figures.ended;
  const auto cancel = Clock::now();
  watchers.Stop();
  rec.seconds_to_cancel = Since(cancel);

  rec.service_exit_status = StopChild(server.pid, 15);
  if (!(WIFEXITED(rec.service_exit_status) && WEXITSTATUS(rec.service_exit_status) == 0)) {
    std::fprintf(stderr, "bench: the idle scenario's service did not exit cleanly (status %d)\n",
                 rec.service_exit_status);
  }
  rec.floor = MeasureIdleFloor(flags);
  // On a service of its own: its users are read every second.
  if (flags.stalled_seconds > 0) {
    rec.stalled = MeasureStalledStream(flags, upstream_url);
  } else {
    rec.stalled.note = "skipped (--stalled_seconds=0)";
  }
  StopChild(upstream.pid, 5);
  return rec;
}

int RunIdleWatchScenario(const Flags& flags) {
  const std::optional<IdleWatchRecord> rec = MeasureIdleWatch(flags);
  if (!rec.has_value()) return 1;
  const std::string text = RenderIdleWatchText(*rec) + "\n" + RenderTargets(IdleWatchTargets(rec));
  std::fputs(text.c_str(), stdout);
  std::ofstream(flags.out_dir + "/watch-idle.txt") << text;
  std::ofstream(flags.out_dir + "/watch-idle.json") << RenderIdleWatchJson(*rec) << "\n";
  std::fprintf(stdout, "\nWrote %s/watch-idle.txt, watch-idle.json\n", flags.out_dir.c_str());
  return 0;
}

}  // namespace bench
