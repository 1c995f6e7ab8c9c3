// Issue 23's idle watchers, the client side (bench/idle_watch_bench.h):
// WatchCredentials streams of one user each, opened asynchronously (the
// gRPC callback API: no thread per stream) over a few channels, read as
// messages come, and cancelled together.
#ifndef BENCH_IDLE_WATCH_LOAD_H_
#define BENCH_IDLE_WATCH_LOAD_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

// `count` distinct Leaf user ids (8-4-4-4-12 hex digits), the same for the
// same `count`: 00000000-0000-4000-8000-000000000000, ...-000000000001, ...
std::vector<std::string> IdleWatchUserIds(int count);

struct IdleWatchersOptions {
  std::string target;              // the service's host:port
  std::vector<std::string> users;  // one stream each
  int channels = 8;                // connections, streams spread round-robin
};

struct IdleWatchersFigures {
  int streams = 0;
  int first_received = 0;  // streams that got their first message
  std::int64_t messages = 0;
  std::int64_t error_messages = 0;   // CHANGE_KIND_ERROR among them
  std::map<std::string, int> ended;  // streams that ended before Stop, by code
  std::string first_error;           // the first such end, or the first ERROR message
};

class IdleWatchers {
 public:
  explicit IdleWatchers(IdleWatchersOptions options);
  ~IdleWatchers();  // Stop()
  IdleWatchers(const IdleWatchers&) = delete;
  IdleWatchers& operator=(const IdleWatchers&) = delete;

  // Connects the channels and opens every stream. Once.
  void Start();
  // Waits until every stream had its first message or ended, up to
  // `timeout`; true when every stream had its first message.
  bool WaitForFirst(std::chrono::milliseconds timeout);
  // Cancels every stream and waits until all are done. Idempotent.
  void Stop();
  IdleWatchersFigures Figures() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bench

#endif  // BENCH_IDLE_WATCH_LOAD_H_
