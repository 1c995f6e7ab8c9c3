// An asynchronous Redis client for fleet mode: hiredis's async API driven by
// one event-loop thread of its own (poll on the connection and an eventfd
// that other threads use to wake it), so no gRPC thread ever waits on Redis.
//
// What it promises:
// - Every callback runs exactly once, on the loop thread, never inline in
//   Command; it may call Command again, must not block and must not destroy
//   the client.
// - Every command has a deadline (command_timeout, or the per-call
//   override for blocking commands such as XREAD BLOCK): past it, the
//   callback gets DEADLINE_EXCEEDED. The connection is then suspect: it
//   takes no new command and is dropped and reopened once the commands
//   already on it have answered or timed out. A reply that arrives after
//   its command timed out is dropped: replies are matched to commands by id,
//   never by position.
// - While the connection is down, commands fail at once with UNAVAILABLE
//   (nothing is queued); the client reconnects in the background with
//   exponential backoff and jitter, sends AUTH (if a password) and SELECT (if
//   db != 0) and a PING, and only then reports up. on_state is told of every
//   up/down transition.
// - At most max_pending commands are in flight; beyond that, Command fails
//   (asynchronously) with RESOURCE_EXHAUSTED.
// - The password never appears in a log line, an error or a status; the
//   client's own copy of AUTH's arguments is wiped once sent.
// - No TLS (hiredis 0.14 has none): Redis must sit on a private network.
//
// Thread-safe: Command and up() may be called from any thread.
#ifndef SERVER_FLEET_REDIS_CLIENT_H_
#define SERVER_FLEET_REDIS_CLIENT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/fleet/redis_reply.h"
#include "server/secrets/secret.h"

namespace leafsvc::fleet {

struct RedisClientOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  Secret password;  // empty: no AUTH
  // For the TCP connect and the AUTH/SELECT/PING handshake together.
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration command_timeout = absl::Milliseconds(500);
  // Delay before reconnect attempt n: min(max, min * 2^n), jittered down
  // to half of that at random (replicas must not reconnect in lockstep).
  absl::Duration min_reconnect_backoff = absl::Milliseconds(100);
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
  std::size_t max_pending = 10000;
  // Called on the loop thread on every transition: true once connected and
  // the handshake succeeded, false when that connection is lost or suspect.
  std::function<void(bool up)> on_state;
};

class RedisClient {
 public:
  using Done = std::function<void(absl::StatusOr<RedisReply>)>;

  // Starts the loop thread, which connects at once. Fails with
  // INVALID_ARGUMENT on bad options; an unreachable Redis is not an error
  // (the client starts down and keeps trying).
  static absl::StatusOr<std::unique_ptr<RedisClient>> Create(RedisClientOptions options);

  // Stops the loop and completes every command still pending with
  // CANCELLED (on the loop thread, before this returns). No Command may race
  // with or follow destruction, except from callbacks (those complete with
  // CANCELLED too).
  ~RedisClient();

  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends argv (binary-safe) and calls done with the reply. A Redis error
  // reply (e.g. WRONGTYPE) is an OK status holding a kError reply; a
  // non-OK status means no usable reply: UNAVAILABLE (not connected, or the
  // connection was lost before the reply), DEADLINE_EXCEEDED,
  // RESOURCE_EXHAUSTED (too many pending), INVALID_ARGUMENT (empty argv),
  // CANCELLED (client destroyed).
  void Command(std::vector<std::string> argv, Done done);
  // The same with its own deadline, for blocking commands (BLOCK 1000 wants
  // more than 1 s).
  void Command(std::vector<std::string> argv, absl::Duration timeout, Done done);

  // Connected and past the handshake, with no command timed out since.
  bool up() const;
  // Commands accepted and not yet completed (for tests and metrics).
  std::size_t pending() const;

  class Impl;

 private:
  explicit RedisClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_REDIS_CLIENT_H_
