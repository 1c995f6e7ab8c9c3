// The benchmark driver's command line (see bench_main.cc for the list).
#ifndef BENCH_BENCH_FLAGS_H_
#define BENCH_BENCH_FLAGS_H_

#include <string>
#include <vector>

namespace bench {

struct Flags {
  std::string upstream_bin, server_bin, out_dir = "bench/out";
  std::vector<int> concurrency = {1, 16, 64};
  std::vector<std::string> modes = {"direct", "through"};
  int warmup_ms = 1000, duration_ms = 4000, pool = 64;
  int hold_calls = 1000, hold_delay_ms = 2000, upstream_threads = 1, upstream_delay_ms = 0;
  std::string perf_record, perf_args = "-e cpu-clock -F 1999 -g";
  std::string server_prefix, server_args, begin_cmd, end_cmd, note;
  std::string upstream = "fast", emulator_bin;
};

// The non-empty items of `s` between `sep`s.
std::vector<std::string> Split(const std::string& s, char sep);

// Fills `f` from --name=value arguments; false (after a message on stderr)
// on an unknown flag or a missing binary.
bool ParseFlags(int argc, char** argv, Flags* f);

}  // namespace bench

#endif  // BENCH_BENCH_FLAGS_H_
