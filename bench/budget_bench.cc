#include "bench/budget_bench.h"

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/budget_load.h"
#include "bench/budget_report.h"
#include "bench/child_process.h"
#include "bench/scenario_support.h"
#include "bench/stats.h"
#include "bench/upstream_control.h"
#include "emulator/leaf_emulator.h"

namespace bench {
namespace {

constexpr char kToken[] = "bench-budget-token";
// Every seeded user has credentials, so a caller's error is never "none".
constexpr char kSeedMix[] = "OK=100";
constexpr int kSeed = 1;
constexpr int kSampleEverySeconds = 60;

}  // namespace

int RunBudgetScenario(const Flags& flags) {
  BudgetRun run;
  run.users = flags.budget_users;
  run.streams = (flags.budget_users + kWatchUsersPerStream - 1) / kWatchUsersPerStream;
  run.callers = flags.budget_callers;
  run.caller_pause_ms = flags.budget_caller_pause_ms;
  run.batch_users = flags.budget_batch_users;
  run.batch_calls = (flags.budget_batch_users + kBatchIdsPerCall - 1) / kBatchIdsPerCall;
  run.seconds = flags.budget_seconds;
  run.requests_per_minute = flags.budget_requests_per_minute;
  run.burst = flags.budget_burst;

  const std::vector<std::string> users = SeededIds(flags.budget_users, kSeed);
  if (static_cast<int>(users.size()) != flags.budget_users) {
    std::fprintf(stderr, "bench: could not compute the seeded users' ids\n");
    return 1;
  }

  const std::string rate = std::to_string(flags.budget_requests_per_minute);
  std::vector<std::string> emulator_args = {flags.emulator_bin,
                                            "--port=0",
                                            std::string("--token=") + kToken,
                                            "--max_recorded_requests=1000",
                                            "--seed_users=" + std::to_string(flags.budget_users),
                                            std::string("--seed_mix=") + kSeedMix,
                                            "--seed=" + std::to_string(kSeed)};
  run.emulator_limited = HelpLists(flags.emulator_bin, "rate_limit_per_minute");
  if (run.emulator_limited) emulator_args.push_back("--rate_limit_per_minute=" + rate);
  const std::string emulator_log = flags.out_dir + "/budget-emulator.log";
  const std::string server_log = flags.out_dir + "/budget-server.log";
  std::remove(emulator_log.c_str());
  std::remove(server_log.c_str());
  Child emulator = Spawn(emulator_args, {}, emulator_log);
  const int emulator_port = WaitForPort(emulator, "listening on", 60);
  if (emulator_port <= 0) {
    std::fprintf(stderr, "bench: the emulator did not start (see %s)\n", emulator_log.c_str());
    StopChild(emulator.pid, 2);
    return 1;
  }
  const std::string emulator_url = "http://127.0.0.1:" + std::to_string(emulator_port);

  std::vector<std::string> server_args = {
      flags.server_bin, "--listen=127.0.0.1:0", "--leaf_api_url=" + emulator_url,
      "--metrics_listen=127.0.0.1:0", "--shutdown_grace=2s",
      // All streams come from one caller (this process): no per-caller cap.
      "--watch_max_users_per_caller=0",
      "--watch_max_users=" + std::to_string(std::max(10000, flags.budget_users))};
  run.service_budgeted = HelpLists(flags.server_bin, "leaf_requests_per_minute");
  if (run.service_budgeted) {
    server_args.push_back("--leaf_requests_per_minute=" + rate);
    server_args.push_back("--leaf_burst=" + std::to_string(flags.budget_burst));
  }
  for (const std::string& a : Split(flags.server_args, ' ')) server_args.push_back(a);
  Child server = Spawn(server_args, {std::string("AGLEADER_LEAF_TOKEN=") + kToken}, server_log);
  const int server_port = WaitForPort(server, "listening on", 120);
  const int metrics_port = server_port > 0 ? MetricsPort(server_log) : -1;
  if (server_port <= 0 || metrics_port <= 0) {
    std::fprintf(stderr, "bench: the service did not start or has no /metrics (see %s)\n",
                 server_log.c_str());
    StopChild(server.pid, 5);
    StopChild(emulator.pid, 2);
    return 1;
  }
  const std::string target = "127.0.0.1:" + std::to_string(server_port);
  const std::string metrics_url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  std::fprintf(stderr,
               "bench: budget scenario, emulator on %s (pid %d), service on %s (pid %d), "
               "%d s ...\n",
               emulator_url.c_str(), emulator.pid, target.c_str(), server.pid,
               flags.budget_seconds);

  BudgetLoadOptions load_options;
  load_options.target = target;
  load_options.users = users;
  load_options.callers = flags.budget_callers;
  load_options.caller_pause = std::chrono::milliseconds(flags.budget_caller_pause_ms);
  load_options.batch_users = flags.budget_batch_users;
  load_options.batch_deadline = std::chrono::seconds(flags.budget_seconds);
  BudgetLoad load(load_options);
  const auto began = std::chrono::steady_clock::now();
  auto sample = [&] {
    BudgetSample s;
    s.at_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    s.metrics = HttpCall("GET", metrics_url, "");
    // Control endpoints are not counted against the emulator's limit.
    s.emulator_stats = HttpCall("GET", emulator_url + "/_emulator/stats", kToken);
    run.samples.push_back(std::move(s));
  };
  sample();
  load.Start();
  for (int at = kSampleEverySeconds; at < flags.budget_seconds; at += kSampleEverySeconds) {
    std::this_thread::sleep_until(began + std::chrono::seconds(at));
    sample();
  }
  std::this_thread::sleep_until(began + std::chrono::seconds(flags.budget_seconds));
  sample();
  load.Stop();
  run.watch = load.watch();
  run.callers_figures = load.callers();
  run.batch = load.batch();

  const int server_status = StopChild(server.pid, 15);
  StopChild(emulator.pid, 5);
  if (!(WIFEXITED(server_status) && WEXITSTATUS(server_status) == 0)) {
    run.notes.push_back("the service did not exit cleanly (status " +
                        std::to_string(server_status) + ", see " + server_log + ")");
  }
  const std::string report = RenderBudgetReport(run);
  std::fputs(report.c_str(), stdout);
  std::ofstream(flags.out_dir + "/budget.txt") << report;
  std::fprintf(stdout, "\nWrote %s/budget.txt\n", flags.out_dir.c_str());
  return 0;
}

}  // namespace bench
