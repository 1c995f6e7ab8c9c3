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
  int channels = 1;  // gRPC only: calls round-robin over this many HTTP/2 connections
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

using Clock = std::chrono::steady_clock;

// The warm-up and measurement window both generators share: completions
// during the warm-up are dropped; the window opens at the first completion
// after it (on_begin) and closes at the first one past `duration` (on_end),
// after which no new request should start.
class MeasureWindow {
 public:
  MeasureWindow(const LoadOptions& options, LoadResult* result)
      : options_(options), result_(result), warmup_end_(Clock::now() + options.warmup) {}

  // One request, started at `started`, completed at `now`. `error_text` is
  // called only for the first failure inside the window.
  template <typename ErrorText>
  void Complete(Clock::time_point now, Clock::time_point started, bool ok, ErrorText error_text) {
    if (!measuring_ && !stopping_ && now >= warmup_end_) {
      measuring_ = true;
      window_start_ = now;
      if (options_.on_begin) options_.on_begin();
    }
    if (measuring_ && now >= window_start_ + options_.duration) {
      measuring_ = false;
      stopping_ = true;
      result_->seconds = std::chrono::duration<double>(now - window_start_).count();
      if (options_.on_end) options_.on_end();
    }
    if (!measuring_) return;
    ++result_->requests;
    result_->latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - started).count());
    if (!ok) {
      ++result_->errors;
      if (result_->first_error.empty()) result_->first_error = error_text();
    }
  }

  bool stopping() const { return stopping_; }

 private:
  const LoadOptions& options_;
  LoadResult* const result_;
  const Clock::time_point warmup_end_;
  Clock::time_point window_start_;
  bool measuring_ = false;
  bool stopping_ = false;
};

// GET `url` with libcurl multi over keep-alive connections.
LoadResult RunDirect(const std::string& url, const std::string& bearer_token,
                     const LoadOptions& options);

// GetCredentials(leaf_user_id) with the asynchronous gRPC API (one
// CompletionQueue, one thread, `options.channels` channels).
// Calls cycle through `leaf_user_ids` (one or more).
LoadResult RunGrpc(const std::string& target, const std::vector<std::string>& leaf_user_ids,
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

struct HeadOfLineOptions {
  int listers = 4;  // callers paging through ListCredentialEvents at once
  int page_size = 500;
  std::chrono::milliseconds warmup{500};
  std::chrono::milliseconds duration{3000};
};

struct HeadOfLineResult {
  LoadResult gets;         // the unrelated GetCredentials, one at a time
  std::int64_t pages = 0;  // list pages the listers received in the window
  std::int64_t list_errors = 0;
  std::string first_list_error;
};

// While `listers` callers page through a user's events (each starting over
// at the end), one caller on its own channel sends GetCredentials one at a
// time; returns the Gets' latencies and the listers' progress.
HeadOfLineResult RunHeadOfLine(const std::string& target, const std::string& leaf_user_id,
                               const HeadOfLineOptions& options);

}  // namespace bench

#endif  // BENCH_LOAD_H_
