// The process's log sink: lines are appended to a bounded in-memory buffer
// and written by a thread of its own, many lines per write(2). A caller
// never waits for the descriptor: when the buffer is full (the descriptor
// is slow or stalled) the line is dropped and counted, and once writing
// resumes a notice line says how many were lost. So a stalled stderr cannot
// stop a request path or the transport's event loop.
#ifndef SERVER_OBSERVABILITY_ASYNC_LOG_SINK_H_
#define SERVER_OBSERVABILITY_ASYNC_LOG_SINK_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc {

class AsyncLogSink {
 public:
  struct Options {
    int fd = 2;
    // Bytes buffered and not yet written beyond which lines are dropped.
    std::size_t max_buffered_bytes = 8 << 20;
    // How long the writer collects lines after the first one arrives, so
    // that one wake-up and one write serve many lines.
    absl::Duration batch_window = absl::Milliseconds(5);
    // The line written after `dropped` lines were lost (ends in '\n').
    std::function<std::string(std::uint64_t dropped)> dropped_notice;
  };

  explicit AsyncLogSink(Options options);
  // Writes what is buffered (waiting at most 1 s for it), then stops.
  ~AsyncLogSink();

  AsyncLogSink(const AsyncLogSink&) = delete;
  AsyncLogSink& operator=(const AsyncLogSink&) = delete;

  // Never blocks on the descriptor; `line` should end in '\n'.
  void Write(absl::string_view line);

  // Waits until every line accepted so far is written, or `timeout` passed;
  // true when written.
  bool Flush(absl::Duration timeout);

  // Lines dropped because the buffer was full, since the start.
  std::uint64_t dropped() const;

 private:
  void Run();
  void WriteAll(absl::string_view bytes);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;          // the writer waits on it
  std::condition_variable written_;       // Flush waits on it
  std::string buffer_;                    // guarded by mu_
  std::uint64_t accepted_ = 0;            // lines, guarded by mu_
  std::uint64_t done_ = 0;                // lines written (or failed), guarded by mu_
  std::uint64_t dropped_ = 0;             // guarded by mu_
  std::uint64_t dropped_unreported_ = 0;  // guarded by mu_
  bool idle_ = false;                     // the writer waits for a first line; guarded by mu_
  bool hurry_ = false;                    // a Flush waits; guarded by mu_
  bool stopping_ = false;                 // guarded by mu_
  std::thread thread_;                    // last: started when everything above exists
};

}  // namespace leafsvc

#endif  // SERVER_OBSERVABILITY_ASYNC_LOG_SINK_H_
