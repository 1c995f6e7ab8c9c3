#include "bench/bench_flags.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace bench {

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
    else {
      std::fprintf(stderr, "bench: unknown flag --%s\n", name.c_str());
      return false;
    }
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
