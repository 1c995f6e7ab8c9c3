// bench: runs the fast upstream and the service as child processes on
// loopback, drives each with its load generator at every concurrency, holds
// many calls in flight for the memory check, and reports (see bench/run.sh).
//
//   bench --upstream_bin=PATH --server_bin=PATH [--out_dir=bench/out]
//         [--upstream=fast|emulator --emulator_bin=PATH]
//         [--concurrency=1,16,64] [--modes=direct,through] [--warmup_ms=1000]
//         [--duration_ms=3000] [--rounds=3] [--pool=64] [--hold_calls=1000]
//         [--hold_delay_ms=2000] [--upstream_threads=1] [--upstream_delay_ms=0]
//         [--perf_record=FILE] [--perf_args="-e cpu-clock -F 1999 -g"]
//         [--server_prefix="valgrind --tool=callgrind ..."]
//         [--server_args="--log_level=warning ..."] [--note=TEXT]
//         [--begin_cmd=CMD] [--end_cmd=CMD]    ({pid} = the service's pid)
//   bench --scenario=budget --server_bin=PATH --emulator_bin=PATH
//         [--budget_seconds=120] [--budget_users=5000] [--budget_callers=20]
//         [--budget_caller_pause_ms=3000] [--budget_batch_users=2000]
//         [--budget_requests_per_minute=1000] [--budget_burst=20]
//         (issue 20's request budget, bench/budget_bench.h)
//   bench --scenario=fleet --server_bin=PATH --emulator_bin=PATH
//         [--redis_bin=redis-server] [--fleet_seconds=120] [--fleet_users=150]
//         [--fleet_streams=300] [--fleet_poll_interval_s=30]
//         [--fleet_alert_every_ms=1000] [--fleet_requests_per_minute=1000]
//         (issue 21's three replicas and one Redis, bench/fleet_bench.h)
//   bench --scenario=watch-idle --server_bin=PATH --upstream_bin=PATH
//         [--idle_streams=10000] [--idle_seconds=30] [--idle_channels=8]
//         (issue 23's idle watchers, bench/idle_watch_bench.h; also the last
//         part of the default run unless --idle_streams=0)
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/budget_bench.h"
#include "bench/child_process.h"
#include "bench/fleet_bench.h"
#include "bench/idle_watch_bench.h"
#include "bench/load.h"
#include "bench/proc_window.h"
#include "bench/report.h"
#include "bench/report_json.h"
#include "bench/report_rounds.h"
#include "bench/report_svg.h"
#include "bench/report_table.h"
#include "bench/scenario_support.h"
#include "bench/stats.h"
#include "bench/upstream_control.h"

namespace bench {
namespace {

// A Leaf user id, and the token the service and the direct client present.
constexpr char kUserId[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kToken[] = "bench-static-token";

std::string UtcNow(const char* format) {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, format, std::gmtime(&t));
  return buf;
}

// A gRPC server measured by the matrix, and the mode its rows carry.
struct GrpcServer {
  std::string mode;
  Child child;
  std::string target;
};

std::string LocalTarget(int port) { return "127.0.0.1:" + std::to_string(port); }

bool WaitForTcp(int port, int timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// One load window against `mode`, with the measured process `pid`'s costs,
// the upstream's and the load generator's CPU over exactly that window.
template <typename RunLoad>
RunRecord MeasureRun(const Flags& flags, const std::string& mode, int c, int channels, pid_t pid,
                     pid_t upstream_pid, UpstreamControl& control, RunLoad run_load) {
  const bool profiled = mode == "through" && channels == 1;
  RunRecord rec;
  rec.mode = mode;
  rec.concurrency = c;
  rec.channels = channels;
  ProcWindow proc(pid, flags.out_dir + "/perf-stat.txt");
  double u0 = 0, l0 = 0, m0 = 0, s0 = 0;
  pid_t perf_pid = -1;
  ProcFigures figures;
  LoadOptions opts;
  opts.concurrency = c;
  opts.channels = channels;
  opts.warmup = std::chrono::milliseconds(flags.warmup_ms);
  opts.duration = std::chrono::milliseconds(flags.duration_ms);
  Clock::time_point began;
  opts.on_begin = [&] {
    if (profiled && !flags.perf_record.empty()) {
      std::vector<std::string> args = {"perf", "record",           "-o", flags.perf_record,
                                       "-p",   std::to_string(pid)};
      for (const std::string& a : Split(flags.perf_args, ' ')) args.push_back(a);
      perf_pid = Spawn(args, {}, flags.out_dir + "/perf.log", false).pid;
    }
    if (profiled) RunShell(flags.begin_cmd, pid);
    proc.Begin();
    s0 = ProcessCpuSeconds(pid);
    u0 = ProcessCpuSeconds(upstream_pid);
    l0 = SelfCpuSeconds();
    m0 = MachineBusySeconds();
    began = Clock::now();
  };
  opts.on_end = [&] {
    const double s1 = ProcessCpuSeconds(pid), u1 = ProcessCpuSeconds(upstream_pid);
    const double l1 = SelfCpuSeconds(), m1 = MachineBusySeconds();
    figures = proc.End(std::chrono::duration<double>(Clock::now() - began).count());
    rec.upstream_cpu_s = u1 - u0;
    rec.loadgen_cpu_s = l1 - l0;
    // For direct the measured process is the load generator itself.
    const double own = pid == getpid() ? 0 : s1 - s0;
    rec.foreign_cpu_s = std::max(0.0, (m1 - m0) - own - (u1 - u0) - (l1 - l0));
    if (profiled) RunShell(flags.end_cmd, pid);
    if (perf_pid > 0) {
      kill(perf_pid, SIGINT);
      int st;
      waitpid(perf_pid, &st, 0);
    }
  };
  control.ResetStats();
  LoadResult load = run_load(opts);
  rec.requests = load.requests;
  rec.errors = load.errors;
  rec.first_error = load.first_error;
  rec.seconds = load.seconds;
  rec.rps = load.seconds > 0 ? static_cast<double>(load.requests) / load.seconds : 0;
  rec.latency = Summarize(load.latencies_ns);
  rec.upstream_max_connections = JsonInt(control.Stats(), "max_open_connections");
  rec.proc_cpu_s = figures.cpu_s;
  rec.proc_ctx_switches = figures.ctx_switches;
  rec.proc_syscalls = figures.syscalls;
  rec.proc_hwm_kb = figures.hwm_kb;
  rec.proc_anon_peak_kb = figures.anon_peak_kb;
  if (mode != "direct") {
    rec.service_cpu_s = figures.cpu_s;
    rec.service_ctx_switches = figures.ctx_switches;
    rec.service_rss_kb = figures.rss_kb;
    rec.service_hwm_kb = figures.hwm_kb;
    rec.service_threads = figures.threads;
  }
  return rec;
}

// The unrelated Get's latency idle, then while listers page through events.
HeadOfLineRecord MeasureHeadOfLine(const Flags& flags, const std::string& target, pid_t service) {
  HeadOfLineRecord h;
  HeadOfLineOptions opts;
  opts.duration = std::chrono::milliseconds(flags.hol_duration_ms);
  h.events = flags.hol_events;
  h.page_size = opts.page_size;
  opts.listers = 0;
  HeadOfLineResult idle = RunHeadOfLine(target, kUserId, opts);
  h.idle = Summarize(idle.gets.latencies_ns);
  opts.listers = h.listers = 4;
  const double cpu0 = ProcessCpuSeconds(service);
  HeadOfLineResult loaded = RunHeadOfLine(target, kUserId, opts);
  h.service_cpu_s = ProcessCpuSeconds(service) - cpu0;
  h.loaded = Summarize(loaded.gets.latencies_ns);
  h.loaded_gets = loaded.gets.requests;
  h.get_errors = idle.gets.errors + loaded.gets.errors;
  h.pages = loaded.pages;
  h.list_errors = loaded.list_errors;
  h.seconds = loaded.gets.seconds;
  h.first_error = !loaded.first_list_error.empty()
                      ? loaded.first_list_error
                      : loaded.gets.first_error + idle.gets.first_error;
  return h;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  mkdir(flags.out_dir.c_str(), 0755);
  if (flags.scenario == "budget") return RunBudgetScenario(flags);
  if (flags.scenario == "fleet") return RunFleetScenario(flags);
  if (flags.scenario == "watch-idle") return RunIdleWatchScenario(flags);

  Report report;
  report.started_at = UtcNow("%Y-%m-%dT%H:%M:%SZ");
  report.machine = DescribeMachine();
  report.config["upstream"] =
      flags.upstream == "emulator"
          ? "leaf_emulator (cpp-httplib, 64-thread pool)"
          : "fast_upstream (epoll, " + std::to_string(flags.upstream_threads) + " thread)";
  report.config["service_pool"] = std::to_string(flags.pool);
  report.config["upstream_delay_ms"] = std::to_string(flags.upstream_delay_ms);
  report.config["warmup_ms"] = std::to_string(flags.warmup_ms);
  report.config["duration_ms"] = std::to_string(flags.duration_ms);
  report.config["rounds"] = std::to_string(flags.rounds);
  report.config["users"] = std::to_string(flags.users);
  if (!flags.server_prefix.empty()) report.config["server_prefix"] = flags.server_prefix;
  if (!flags.server_args.empty()) report.config["server_args"] = flags.server_args;
  if (!flags.note.empty()) report.config["note"] = flags.note;

  // Children.
  const std::string upstream_log = flags.out_dir + "/upstream.log";
  const std::string server_log = flags.out_dir + "/server.log";
  std::remove(upstream_log.c_str());
  std::remove(server_log.c_str());
  const bool emulator = flags.upstream == "emulator";
  Child upstream = emulator
                       ? Spawn({flags.emulator_bin, "--port=0", std::string("--token=") + kToken,
                                "--max_recorded_requests=1000"},
                               {}, upstream_log)
                       : Spawn({flags.upstream_bin, "--port=0",
                                "--threads=" + std::to_string(flags.upstream_threads),
                                "--events=" + std::to_string(flags.hol_events)},
                               {}, upstream_log);
  const int upstream_port = WaitForPort(upstream, "listening on", 10);
  if (upstream_port <= 0) {
    std::fprintf(stderr, "bench: the upstream did not start (see %s)\n", upstream_log.c_str());
    StopChild(upstream.pid, 2);
    return 1;
  }
  const std::string upstream_url = "http://127.0.0.1:" + std::to_string(upstream_port);
  UpstreamControl control(flags.upstream, upstream_url, kToken);
  if (emulator) {
    // The emulator serves stored credentials only: store the benchmark's.
    HttpCall(
        "POST",
        upstream_url + "/services/usermanagement/api/users/" + kUserId + "/ag-leader-credentials",
        kToken,
        "{\"refreshToken\":\"bench-refresh-token-0001\",\"publicKey\":\"bench-public-key\","
        "\"privateKey\":\"bench-private-key-0002\"}");
  }
  std::vector<std::string> server_args = Split(flags.server_prefix, ' ');
  for (const std::string& a :
       {flags.server_bin, std::string("--listen=127.0.0.1:0"), "--leaf_api_url=" + upstream_url,
        "--max_connections_per_host=" + std::to_string(flags.pool),
        std::string("--shutdown_grace=2s"),
        // Room for the head-of-line scenario's event list (about 14 MB).
        std::string("--max_response_bytes=67108864"),
        // No request budget: Leaf's 1,000 a minute (the default) would cap
        // every figure at 17 requests/s; the Go peer has none either.
        std::string("--leaf_requests_per_minute=0")}) {
    server_args.push_back(a);
  }
  for (const std::string& a : Split(flags.server_args, ' ')) server_args.push_back(a);
  Child server = Spawn(server_args, {std::string("AGLEADER_LEAF_TOKEN=") + kToken}, server_log);
  const int server_port = WaitForPort(server, "listening on", 120);
  if (server_port <= 0) {
    std::fprintf(stderr, "bench: the service did not start (see %s)\n", server_log.c_str());
    StopChild(server.pid, 5);
    StopChild(upstream.pid, 2);
    return 1;
  }
  const std::string target = "127.0.0.1:" + std::to_string(server_port);
  const std::string credentials_url =
      upstream_url + "/services/usermanagement/api/users/" + kUserId + "/ag-leader-credentials";
  std::fprintf(stderr, "bench: upstream on %s (pid %d), service on %s (pid %d)\n",
               upstream_url.c_str(), upstream.pid, target.c_str(), server.pid);

  // The other servers measured side by side with the service: a second
  // service at --log_level=warning, the Go peer and the floor.
  auto wanted = [&](const std::string& mode) {
    return std::find(flags.modes.begin(), flags.modes.end(), mode) != flags.modes.end();
  };
  std::vector<GrpcServer> servers = {{"through", server, target}};
  if (wanted("through_warning")) {
    std::vector<std::string> args = server_args;
    args.push_back("--log_level=warning");
    Child warning = Spawn(args, {std::string("AGLEADER_LEAF_TOKEN=") + kToken},
                          flags.out_dir + "/server-warning.log");
    const int port = WaitForPort(warning, "listening on", 120);
    if (port > 0) servers.push_back({"through_warning", warning, LocalTarget(port)});
  }
  if (wanted("go")) {
    if (flags.go_bin.empty()) {
      report.config["go_peer"] =
          "skipped: " + (flags.go_note.empty() ? "no --go_bin" : flags.go_note);
    } else {
      const int port = FreeLoopbackPort();
      Child go = Spawn(
          {flags.go_bin, "--listen=" + LocalTarget(port)},
          {"AGLEADER_LEAF_API_URL=" + upstream_url, std::string("AGLEADER_LEAF_TOKEN=") + kToken},
          flags.out_dir + "/go-peer.log", false);
      if (WaitForTcp(port, 20)) {
        servers.push_back({"go", go, LocalTarget(port)});
        report.config["go_peer"] = flags.go_bin;
      } else {
        report.config["go_peer"] = "skipped: it did not start (see go-peer.log)";
        StopChild(go.pid, 2);
      }
    }
  }
  if (wanted("floor") && !flags.floor_bin.empty()) {
    Child floor = Spawn({flags.floor_bin}, {}, flags.out_dir + "/floor.log");
    const int port = WaitForPort(floor, "listening on", 20);
    if (port > 0) servers.push_back({"floor", floor, LocalTarget(port)});
  }
  report.config["syscalls"] = SyscallCountingAvailable()
                                  ? "perf stat -e raw_syscalls:sys_enter -p PID (counting mode)"
                                  : "not measured (perf or the tracepoint unavailable)";

  // The Leaf users the GetCredentials calls cycle through (--users; the
  // fast upstream answers for any id, the emulator only for kUserId).
  std::vector<std::string> users = {kUserId};
  for (int i = 1; i < flags.users; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    users.push_back(id);
  }
  control.SetDelayMs(flags.upstream_delay_ms);
  // Issue 23: round 1 of every window, then round 2, ...: a slow spell of
  // the machine lands on one round of many rows, not on every round of one.
  report.rounds = flags.rounds;
  for (int round = 1; round <= flags.rounds; ++round) {
    for (int c : flags.concurrency) {
      if (wanted("direct")) {
        std::fprintf(stderr, "bench: round %d/%d: direct C=%d ...\n", round, flags.rounds, c);
        RunRecord rec = MeasureRun(
            flags, "direct", c, 1, getpid(), upstream.pid, control,
            [&](const LoadOptions& opts) { return RunDirect(credentials_url, kToken, opts); });
        rec.round = round;
        report.round_runs.push_back(rec);
      }
      for (int channels : flags.channels) {
        for (const GrpcServer& s : servers) {
          // The logging comparison needs one channel only.
          if (s.mode == "through_warning" && channels != 1) continue;
          std::fprintf(stderr, "bench: round %d/%d: %s C=%d channels=%d ...\n", round, flags.rounds,
                       s.mode.c_str(), c, channels);
          RunRecord rec =
              MeasureRun(flags, s.mode, c, channels, s.child.pid, upstream.pid, control,
                         [&](const LoadOptions& opts) { return RunGrpc(s.target, users, opts); });
          if (s.mode == "through")
            rec.service_upstream_connections = CountEstablishedTo(server.pid, upstream_port);
          rec.round = round;
          report.round_runs.push_back(rec);
        }
      }
    }
  }
  report.runs = MedianOfRounds(report.round_runs);
  for (std::size_t i = 1; i < servers.size(); ++i) StopChild(servers[i].child.pid, 5);

  if (flags.hold_calls > 0) {
    std::fprintf(stderr, "bench: memory check, %d calls held %d ms ...\n", flags.hold_calls,
                 flags.hold_delay_ms);
    HoldRecord h;
    h.calls = flags.hold_calls;
    h.pool_size = flags.pool;
    h.delay_ms = flags.hold_delay_ms;
    h.rss_before_kb = StatusField(server.pid, "VmRSS");
    h.threads_before = StatusField(server.pid, "Threads");
    control.SetDelayMs(flags.hold_delay_ms);
    control.ResetStats();
    HoldOptions opts;
    opts.calls = flags.hold_calls;
    opts.hold = std::chrono::milliseconds(std::max(200, flags.hold_delay_ms * 3 / 4));
    opts.sample = [&] {
      h.rss_kb = StatusField(server.pid, "VmRSS");
      h.hwm_kb = StatusField(server.pid, "VmHWM");
      h.threads_during = StatusField(server.pid, "Threads");
      h.upstream_connections = CountEstablishedTo(server.pid, upstream_port);
      const std::string stats = control.Stats();
      h.upstream_open_connections = JsonInt(stats, "open_connections");
      h.upstream_requests = JsonInt(stats, "requests");
    };
    HoldResult held = HoldCalls(target, kUserId, opts);
    control.SetDelayMs(flags.upstream_delay_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    h.threads_after = StatusField(server.pid, "Threads");
    h.completed_before_sample = held.completed_before_sample;
    h.final_codes = held.final_codes;
    h.seconds_to_drain = held.seconds_to_drain;
    report.hold = h;
  }

  // Last: decoding the 14 MB lists leaves the heap larger, which would
  // show in the memory check.
  if (flags.hol_duration_ms > 0 && !emulator) {
    std::fprintf(stderr, "bench: head of line, %d events ...\n", flags.hol_events);
    report.head_of_line = MeasureHeadOfLine(flags, target, server.pid);
  }

  const int server_status = StopChild(server.pid, 15);
  StopChild(upstream.pid, 5);
  // Issue 23's idle watchers, last and alone on the machine: a fresh service
  // of its own, so the load above does not inflate its heap.
  if (flags.idle_streams > 0 && !flags.upstream_bin.empty()) {
    report.idle_watch = MeasureIdleWatch(flags);
  }
  report.machine.loadavg_end = ReadFileOrEmpty("/proc/loadavg");
  while (!report.machine.loadavg_end.empty() && report.machine.loadavg_end.back() == '\n') {
    report.machine.loadavg_end.pop_back();
  }
  if (!(WIFEXITED(server_status) && WEXITSTATUS(server_status) == 0)) {
    std::fprintf(stderr, "bench: the service did not exit cleanly (status %d)\n", server_status);
  }

  const std::string table = RenderTable(report);
  std::fputs(table.c_str(), stdout);
  const std::string json = RenderJson(report);
  const std::string stamp = UtcNow("%Y%m%dT%H%M%SZ");
  for (const std::string& path :
       {flags.out_dir + "/results.json", flags.out_dir + "/results-" + stamp + ".json"}) {
    std::ofstream(path) << json;
  }
  std::ofstream(flags.out_dir + "/results.txt") << table;
  std::ofstream(flags.out_dir + "/plot.svg") << RenderSvg(report);
  std::fprintf(stdout, "\nWrote %s/results.json, results.txt, plot.svg\n", flags.out_dir.c_str());
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::Main(argc, argv); }
