#include "bench/fleet_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/child_process.h"
#include "bench/fleet_load.h"
#include "bench/fleet_report.h"
#include "bench/scenario_support.h"
#include "bench/stats.h"
#include "bench/upstream_control.h"
#include "emulator/leaf_emulator.h"

namespace bench {
namespace {

constexpr char kToken[] = "bench-fleet-token";
// Only the benchmark and the replicas know it; it signs the alerts.
constexpr char kAlertSecret[] = "bench-fleet-webhook-secret-0123456789abcdef";
constexpr char kSeedMix[] = "OK=100";
constexpr int kSeed = 1;
constexpr int kReplicas = 3;
// Alerts stop this long before the window ends, so the last ones can arrive
// (one still in flight at the end would count as missed).
constexpr auto kAlertTail = std::chrono::seconds(2);

using Clock = std::chrono::steady_clock;

// Whether Redis on `port` answers PING with +PONG.
bool RedisAnswers(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      write(fd, "PING\r\n", 6) == 6) {
    char buf[16] = {};
    ok = read(fd, buf, sizeof buf - 1) > 0 && std::string(buf).rfind("+PONG", 0) == 0;
  }
  close(fd);
  return ok;
}

struct Replica {
  Child child;
  std::string log, target, metrics_url, alert_url;
};

void StopAll(std::vector<Replica>& replicas, Child& emulator, Child& redis) {
  for (Replica& r : replicas) StopChild(r.child.pid, 5);
  StopChild(emulator.pid, 2);
  StopChild(redis.pid, 2);
}

FleetSample Sample(Clock::time_point began, const std::vector<Replica>& replicas,
                   const std::string& emulator_url, int users) {
  FleetSample s;
  s.at_s = std::chrono::duration<double>(Clock::now() - began).count();
  // Control endpoints are not counted against the emulator's limit.
  s.reads = CountLeafReads(
      HttpCall("GET", emulator_url + "/_emulator/requests?method=GET&path_contains=/api/users",
               kToken),
      users);
  s.emulator_stats = HttpCall("GET", emulator_url + "/_emulator/stats", kToken);
  for (const Replica& r : replicas) s.metrics.push_back(HttpCall("GET", r.metrics_url, ""));
  return s;
}

}  // namespace

int RunFleetScenario(const Flags& flags) {
  FleetRun run;
  run.replicas = kReplicas;
  run.users = flags.fleet_users;
  run.streams = flags.fleet_streams;
  run.seconds = flags.fleet_seconds;
  run.poll_interval_s = flags.fleet_poll_interval_s;
  run.alert_every_ms = flags.fleet_alert_every_ms;
  run.requests_per_minute = flags.fleet_requests_per_minute;

  const std::vector<std::string> users = SeededIds(flags.fleet_users, kSeed);
  if (static_cast<int>(users.size()) != flags.fleet_users) {
    std::fprintf(stderr, "bench: could not compute the seeded users' ids\n");
    return 1;
  }
  const std::string out = flags.out_dir + "/fleet-";
  for (const char* name :
       {"redis.log", "emulator.log", "server-1.log", "server-2.log", "server-3.log"}) {
    std::remove((out + name).c_str());
  }

  Child redis, emulator;
  std::vector<Replica> replicas;
  const int redis_port = FreeLoopbackPort();
  redis = Spawn({flags.redis_bin, "--port", std::to_string(redis_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
                 "--logfile", out + "redis.log"},
                {}, out + "redis.log", /*capture_stdout=*/false);
  bool redis_up = false;
  for (int i = 0; i < 200 && !(redis_up = RedisAnswers(redis_port)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!redis_up) {
    std::fprintf(stderr, "bench: %s did not start (see %sredis.log)\n", flags.redis_bin.c_str(),
                 out.c_str());
    StopAll(replicas, emulator, redis);
    return 1;
  }

  const std::string rate = std::to_string(flags.fleet_requests_per_minute);
  emulator =
      Spawn({flags.emulator_bin, "--port=0", std::string("--token=") + kToken,
             // Every read is counted, however long the run.
             "--max_recorded_requests=1000000", "--seed_users=" + std::to_string(flags.fleet_users),
             std::string("--seed_mix=") + kSeedMix, "--seed=" + std::to_string(kSeed),
             "--rate_limit_per_minute=" + rate},
            {}, out + "emulator.log");
  const int emulator_port = WaitForPort(emulator, "listening on", 60);
  if (emulator_port <= 0) {
    std::fprintf(stderr, "bench: the emulator did not start (see %semulator.log)\n", out.c_str());
    StopAll(replicas, emulator, redis);
    return 1;
  }
  const std::string emulator_url = "http://127.0.0.1:" + std::to_string(emulator_port);

  // Until the fleet's shared budget lands, each replica gets its share.
  run.fleet_flags = HelpLists(flags.server_bin, "fleet_size_hint");
  run.budget_per_replica = run.fleet_flags ? flags.fleet_requests_per_minute
                                           : flags.fleet_requests_per_minute / kReplicas;
  for (int i = 0; i < kReplicas; ++i) {
    Replica r;
    r.log = out + "server-" + std::to_string(i + 1) + ".log";
    const int alert_port = FreeLoopbackPort();
    r.alert_url = "http://127.0.0.1:" + std::to_string(alert_port) + "/leaf/alerts";
    std::vector<std::string> args = {
        flags.server_bin, "--listen=127.0.0.1:0", "--leaf_api_url=" + emulator_url,
        "--metrics_listen=127.0.0.1:0", "--shutdown_grace=2s",
        // All streams come from one caller (this process): no per-caller cap.
        "--watch_max_users_per_caller=0",
        "--watch_poll_interval=" + std::to_string(flags.fleet_poll_interval_s) + "s",
        "--alerts_listen=127.0.0.1:" + std::to_string(alert_port),
        // An alert re-reads at once however recent the last poll: the figure
        // is the fleet's delivery, not the prompt spacing.
        "--alerts_min_prompt_interval=0s",
        "--redis_url=redis://127.0.0.1:" + std::to_string(redis_port) + "/0",
        "--leaf_requests_per_minute=" + std::to_string(run.budget_per_replica)};
    if (run.fleet_flags) args.push_back("--fleet_size_hint=" + std::to_string(kReplicas));
    for (const std::string& a : Split(flags.server_args, ' ')) args.push_back(a);
    r.child = Spawn(args,
                    {std::string("AGLEADER_LEAF_TOKEN=") + kToken,
                     std::string("AGLEADER_ALERTS_SECRET=") + kAlertSecret},
                    r.log);
    const int port = WaitForPort(r.child, "listening on", 120);
    const int metrics_port = port > 0 ? MetricsPort(r.log) : -1;
    replicas.push_back(r);
    if (port <= 0 || metrics_port <= 0) {
      std::fprintf(stderr, "bench: replica %d did not start or has no /metrics (see %s)\n", i + 1,
                   r.log.c_str());
      StopAll(replicas, emulator, redis);
      return 1;
    }
    replicas.back().target = "127.0.0.1:" + std::to_string(port);
    replicas.back().metrics_url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  }
  std::fprintf(stderr,
               "bench: fleet scenario, redis on 127.0.0.1:%d, emulator on %s, replicas on %s, "
               "%s, %s; %d s ...\n",
               redis_port, emulator_url.c_str(), replicas[0].target.c_str(),
               replicas[1].target.c_str(), replicas[2].target.c_str(), flags.fleet_seconds);

  FleetLoadOptions load_options;
  for (const Replica& r : replicas) load_options.targets.push_back(r.target);
  load_options.users = users;
  load_options.streams = flags.fleet_streams;
  load_options.emulator_url = emulator_url;
  load_options.emulator_token = kToken;
  load_options.alert_url = replicas[0].alert_url;
  load_options.alert_secret = kAlertSecret;
  FleetLoad load(load_options);
  const Clock::time_point opened = Clock::now();
  load.Start();
  if (load.WaitForInitial(std::chrono::seconds(120))) {
    run.all_initial_after_s = std::chrono::duration<double>(Clock::now() - opened).count();
  }

  const Clock::time_point began = Clock::now();
  run.begin = Sample(began, replicas, emulator_url, flags.fleet_users);
  const Clock::time_point end = began + std::chrono::seconds(flags.fleet_seconds);
  std::string first_error;
  for (Clock::time_point next = began; next + kAlertTail < end;
       next += std::chrono::milliseconds(flags.fleet_alert_every_ms)) {
    std::this_thread::sleep_until(next);
    const std::string error = load.SendAlert();
    if (!error.empty()) {
      ++run.alert_errors;
      if (first_error.empty()) first_error = error;
    }
  }
  std::this_thread::sleep_until(end);
  run.end = Sample(began, replicas, emulator_url, flags.fleet_users);
  load.Stop();
  run.alerts = load.alerts();
  run.watch = load.watch();
  run.alerts_sent = load.alerts_sent();
  if (!first_error.empty()) run.notes.push_back("first alert that failed: " + first_error);

  for (std::size_t i = 0; i < replicas.size(); ++i) {
    const int status = StopChild(replicas[i].child.pid, 15);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      run.notes.push_back("replica " + std::to_string(i + 1) + " did not exit cleanly (status " +
                          std::to_string(status) + ", see " + replicas[i].log + ")");
    }
  }
  StopChild(emulator.pid, 5);
  StopChild(redis.pid, 5);
  const std::string report = RenderFleetReport(run);
  std::fputs(report.c_str(), stdout);
  std::ofstream(flags.out_dir + "/fleet.txt") << report;
  std::fprintf(stdout, "\nWrote %s/fleet.txt\n", flags.out_dir.c_str());
  return 0;
}

}  // namespace bench
