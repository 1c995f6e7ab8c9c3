#include "bench/bench_flags.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace bench {
namespace {

// The integer flags checked for range (the scenarios', the rounds): 1 when
// `name` is one of them and set, -1 when `v` is not an integer in range
// (after a message), 0 otherwise.
int CheckedIntFlag(const std::string& name, const std::string& v, Flags* f) {
  struct Int {
    const char* name;
    int* value;
    int min;
  };
  const Int ints[] = {{"budget_seconds", &f->budget_seconds, 1},
                      {"budget_users", &f->budget_users, 1},
                      {"budget_callers", &f->budget_callers, 0},
                      {"budget_caller_pause_ms", &f->budget_caller_pause_ms, 0},
                      {"budget_batch_users", &f->budget_batch_users, 0},
                      {"budget_requests_per_minute", &f->budget_requests_per_minute, 0},
                      {"budget_burst", &f->budget_burst, 1},
                      {"fleet_seconds", &f->fleet_seconds, 3},
                      {"fleet_users", &f->fleet_users, 1},
                      {"fleet_streams", &f->fleet_streams, 1},
                      {"fleet_poll_interval_s", &f->fleet_poll_interval_s, 1},
                      {"fleet_alert_every_ms", &f->fleet_alert_every_ms, 1},
                      {"fleet_requests_per_minute", &f->fleet_requests_per_minute, 1},
                      {"rounds", &f->rounds, 1},
                      {"users", &f->users, 1},
                      {"idle_streams", &f->idle_streams, 0},
                      {"idle_seconds", &f->idle_seconds, 1},
                      {"idle_channels", &f->idle_channels, 1},
                      {"stalled_seconds", &f->stalled_seconds, 0}};
  for (const Int& i : ints) {
    if (name != i.name) continue;
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < i.min || n > 1000000000) {
      std::fprintf(stderr, "bench: --%s must be an integer >= %d, got '%s'\n", i.name, i.min,
                   v.c_str());
      return -1;
    }
    *i.value = static_cast<int>(n);
    return 1;
  }
  return 0;
}

}  // namespace

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "bench: expected --name=value, got %s\n", arg.c_str());
      return false;
    }
    const std::string name = arg.substr(2, eq - 2), v = arg.substr(eq + 1);
    if (name == "upstream_bin")
      f->upstream_bin = v;
    else if (name == "server_bin")
      f->server_bin = v;
    else if (name == "out_dir")
      f->out_dir = v;
    else if (name == "concurrency") {
      f->concurrency.clear();
      for (const std::string& c : Split(v, ',')) f->concurrency.push_back(std::atoi(c.c_str()));
    } else if (name == "modes")
      f->modes = Split(v, ',');
    else if (name == "warmup_ms")
      f->warmup_ms = std::atoi(v.c_str());
    else if (name == "duration_ms")
      f->duration_ms = std::atoi(v.c_str());
    else if (name == "pool")
      f->pool = std::atoi(v.c_str());
    else if (name == "hold_calls")
      f->hold_calls = std::atoi(v.c_str());
    else if (name == "hold_delay_ms")
      f->hold_delay_ms = std::atoi(v.c_str());
    else if (name == "upstream_threads")
      f->upstream_threads = std::atoi(v.c_str());
    else if (name == "upstream_delay_ms")
      f->upstream_delay_ms = std::atoi(v.c_str());
    else if (name == "perf_record")
      f->perf_record = v;
    else if (name == "perf_args")
      f->perf_args = v;
    else if (name == "server_prefix")
      f->server_prefix = v;
    else if (name == "server_args")
      f->server_args = v;
    else if (name == "note")
      f->note = v;
    else if (name == "upstream")
      f->upstream = v;
    else if (name == "emulator_bin")
      f->emulator_bin = v;
    else if (name == "channels") {
      f->channels.clear();
      for (const std::string& c : Split(v, ',')) f->channels.push_back(std::atoi(c.c_str()));
    } else if (name == "go_bin")
      f->go_bin = v;
    else if (name == "go_note")
      f->go_note = v;
    else if (name == "floor_bin")
      f->floor_bin = v;
    else if (name == "hol_events")
      f->hol_events = std::atoi(v.c_str());
    else if (name == "hol_duration_ms")
      f->hol_duration_ms = std::atoi(v.c_str());
    else if (name == "begin_cmd")
      f->begin_cmd = v;
    else if (name == "end_cmd")
      f->end_cmd = v;
    else if (name == "scenario")
      f->scenario = v;
    else if (name == "redis_bin")
      f->redis_bin = v;
    else if (const int budget = CheckedIntFlag(name, v, f); budget != 0) {
      if (budget < 0) return false;
    } else {
      std::fprintf(stderr, "bench: unknown flag --%s\n", name.c_str());
      return false;
    }
  }
  if (f->scenario == "budget") {
    if (f->server_bin.empty() || f->emulator_bin.empty()) {
      std::fprintf(stderr, "bench: --scenario=budget needs --server_bin and --emulator_bin\n");
      return false;
    }
    if (f->budget_batch_users > f->budget_users) {
      std::fprintf(stderr, "bench: --budget_batch_users must be at most --budget_users\n");
      return false;
    }
    return true;
  }
  if (f->scenario == "fleet") {
    if (f->server_bin.empty() || f->emulator_bin.empty()) {
      std::fprintf(stderr, "bench: --scenario=fleet needs --server_bin and --emulator_bin\n");
      return false;
    }
    if (f->fleet_streams < 2 * f->fleet_users) {
      std::fprintf(stderr,
                   "bench: --fleet_streams must be at least twice --fleet_users (each user is "
                   "watched on two replicas or more)\n");
      return false;
    }
    return true;
  }
  if (f->scenario == "watch-idle") {
    if (f->server_bin.empty() || f->upstream_bin.empty() || f->idle_streams < 1) {
      std::fprintf(stderr,
                   "bench: --scenario=watch-idle needs --server_bin, --upstream_bin and "
                   "--idle_streams >= 1\n");
      return false;
    }
    return true;
  }
  if (!f->scenario.empty()) {
    std::fprintf(stderr, "bench: unknown --scenario=%s (known: budget, fleet, watch-idle)\n",
                 f->scenario.c_str());
    return false;
  }
  if (f->server_bin.empty() || (f->upstream == "fast" && f->upstream_bin.empty()) ||
      (f->upstream == "emulator" && f->emulator_bin.empty()) ||
      (f->upstream != "fast" && f->upstream != "emulator")) {
    std::fprintf(stderr,
                 "bench: --server_bin is required, and --upstream=fast (default) needs "
                 "--upstream_bin, --upstream=emulator needs --emulator_bin\n");
    return false;
  }
  return true;
}

}  // namespace bench
