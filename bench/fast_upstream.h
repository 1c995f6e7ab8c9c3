// A minimal HTTP/1.1 keep-alive server that answers Leaf's
// GET .../users/{id}/ag-leader-credentials with a fixed, Leaf-shaped JSON
// body. It exists so that the benchmark measures the service, not the
// upstream: one epoll thread per --threads, no allocation per request on the
// fast path, a precomputed response. Also:
//   - an optional per-request delay (to hold calls in flight for the memory
//     check) served from a timer queue, never by blocking a thread;
//   - control endpoints (no auth):
//       GET /_bench/delay?ms=N   set the delay of credential responses
//       GET /_bench/stats        {"requests":..,"open_connections":..,
//                                 "max_open_connections":..,"accepted":..}
//       GET /_bench/reset_stats  zero the counters (max := current open)
//     Connections and requests are counted once they carry a non-control
//     request, so reading the counters does not change them.
//   - GET .../users/{id}/ag-leader-credentials/events: a Leaf-shaped array of
//     --events (default 100,000) events, built once, for the benchmark's
//     head-of-line scenario (large bodies decoded while small calls wait).
//   - "changing" users, for issue 23's stalled stream: a user id that begins
//     with "ffffffff-" gets a status that alternates between OK and
//     UNAUTHENTICATED from one of its requests to the next (a counter per
//     value of the id's last 12 hex digits modulo 4096; no delay applies to
//     them). Every other user gets the fixed body.
// Anything else: 404 problem+json. A credentials request without an
// "Authorization: Bearer" header: 401 problem+json, as Leaf would answer.
#ifndef BENCH_FAST_UPSTREAM_H_
#define BENCH_FAST_UPSTREAM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace bench {

struct FastUpstreamOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port
  int threads = 1;
  int delay_ms = 0;
  int events = 100000;  // events in the events list
};

struct FastUpstreamStats {
  std::int64_t requests = 0;
  std::int64_t accepted = 0;
  std::int64_t open_connections = 0;
  std::int64_t max_open_connections = 0;
};

// The JSON body served for a credentials GET (exposed for tests).
const std::string& FastUpstreamCredentialsBody();

// The same body with "status":"UNAUTHENTICATED": the other state of the
// changing users.
const std::string& FastUpstreamUnauthenticatedBody();

// Whether `user_id` is one of the changing users (see above).
bool IsChangingUser(std::string_view user_id);

// Which of kChangingSlots counters a changing user's requests advance.
constexpr int kChangingSlots = 4096;
int ChangingSlot(std::string_view user_id);

// The JSON body served for an events GET: `count` events, newest first.
std::string FastUpstreamEventsBody(int count);

class FastUpstream {
 public:
  // Binds and starts serving on background threads. Returns nullptr and
  // fills `error` on failure.
  static std::unique_ptr<FastUpstream> Start(const FastUpstreamOptions& options,
                                             std::string* error);
  ~FastUpstream();  // stops and joins

  int port() const { return port_; }
  void SetDelayMs(int ms);
  FastUpstreamStats Stats() const;
  void ResetStats();

  struct Shared;  // counters and settings shared by the loops

 private:
  FastUpstream();
  void Stop();

  int port_ = 0;
  std::unique_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
  std::vector<int> listen_fds_;
  std::vector<int> wake_fds_;
};

}  // namespace bench

#endif  // BENCH_FAST_UPSTREAM_H_
