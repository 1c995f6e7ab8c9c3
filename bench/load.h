// The two closed-loop load generators: `concurrency` requests always in
// flight, each completion immediately replaced by a new request. A warm-up
// phase is run and discarded; the measured window follows. `on_begin` and
// `on_end` run on the generator's thread exactly at the window's edges, so
// that /proc samples (CPU, RSS) and profilers cover the same window as the
// request counts.
#ifndef BENCH_LOAD_H_
#define BENCH_LOAD_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bench {

struct LoadOptions {
  int concurrency = 1;
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds duration{4000};
  std::function<void()> on_begin;
  std::function<void()> on_end;
};

struct LoadResult {
  std::int64_t requests = 0;  // completed inside the window (ok or not)
  std::int64_t errors = 0;
  std::string first_error;
  double seconds = 0;                      // length of the window
  std::vector<std::int64_t> latencies_ns;  // of the requests in the window
};

// GET `url` with libcurl multi over keep-alive connections.
LoadResult RunDirect(const std::string& url, const std::string& bearer_token,
                     const LoadOptions& options);

// GetCredentials(leaf_user_id) with the asynchronous gRPC API (one
// CompletionQueue, one thread, one channel).
LoadResult RunGrpc(const std::string& target, const std::string& leaf_user_id,
                   const LoadOptions& options);

struct HoldOptions {
  int calls = 1000;
  int channels = 10;                     // calls are spread over this many HTTP/2 connections
  std::chrono::milliseconds hold{1500};  // sample this long after the last call started
  std::chrono::milliseconds deadline{20000};
  std::function<void()> sample;  // runs while the calls are in flight
};

struct HoldResult {
  int started = 0;
  int completed_before_sample = 0;         // should be 0: all were still in flight
  std::map<std::string, int> final_codes;  // status code name -> count, after cancelling
  double seconds_to_drain = 0;
};

// Starts `calls` GetCredentials at once, keeps them in flight for `hold`,
// runs `sample`, then cancels them all and waits until every call ended.
HoldResult HoldCalls(const std::string& target, const std::string& leaf_user_id,
                     const HoldOptions& options);

}  // namespace bench

#endif  // BENCH_LOAD_H_
