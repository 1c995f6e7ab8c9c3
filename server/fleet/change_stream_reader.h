// Tails the fleet's change stream (issue 21, items 3 and 5): every replica
// reads every entry of the Redis Stream the poll leases' holders append to
// (one entry per change of a user's shared state), so that its watch hub can
// apply them to its watchers and keep them for resumes. It hands over raw
// entries (id and fields); decoding them is the observation codec's job.
//
// What it promises:
// - Start backfills: the stream's newest `history` entries, delivered
//   oldest first, then floor(oldest delivered) ("the history is complete
//   from there": a resume token older than the floor must resync). An
//   empty stream reports the position after its last generated id ({0, 1}
//   for a stream that never existed). Then it tails with XREAD BLOCK from
//   the last id delivered (never "$"), so an entry appended between the
//   backfill and the first read is not lost.
// - Every entry is delivered once, in id order (ids strictly increase
//   across reconnects), on the client's thread, with nothing of the
//   reader's held: a callback must be quick (it holds up every command of
//   that client) and may call Stop.
// - After a failed command (Redis down, paused, restarted or refusing) it
//   retries with backoff (50 ms doubling to 1 s; OnRedisUp retries at
//   once), reads from its last id again and checks the stream: if entries
//   after that id may have been lost meanwhile (trimmed, deleted, or the
//   stream reset by a Redis that lost its data), it reports a new floor
//   (the stream's first entry, or past its last id) before delivering the
//   entries that follow, so that older tokens resync instead of silently
//   missing changes. The check may err towards a needless floor (our last
//   entry trimmed but nothing after it), never towards a missed gap.
// - A paused or blackholed Redis costs bounded waits: every command has a
//   deadline (XREAD: block + command_timeout).
// - Stop (and the destructor) may run with commands in flight: no callback
//   runs after Stop returns (it waits for one in progress, unless called
//   from that callback); replies arriving later are dropped.
//
// XREAD BLOCK holds its connection: the client must be the reader's own,
// shared neither with commands that must not wait (leases, budget) nor with
// another blocking reader (the alert bus's: each would wait out the other's
// BLOCK). Only one command of the reader is in flight at a time.
#ifndef SERVER_FLEET_CHANGE_STREAM_READER_H_
#define SERVER_FLEET_CHANGE_STREAM_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/redis_reply.h"
#include "server/fleet/stream_gap.h"
#include "server/watch/change_position.h"

namespace leafsvc::fleet {

struct ChangeStreamReaderOptions {
  std::string stream_key;
  std::int64_t history = 10000;             // entries backfilled at Start
  absl::Duration block = absl::Seconds(1);  // XREAD BLOCK
  std::int64_t count = 500;                 // entries per XREAD
  // Deadline of the other commands (XINFO, XREVRANGE of up to `history`
  // entries), and what XREAD gets on top of `block`.
  absl::Duration command_timeout = absl::Seconds(2);
  std::string replica_id;  // for logs only
};

struct ChangeStreamReaderCallbacks {
  using Fields = std::vector<std::pair<std::string, std::string>>;
  // One stream entry: its id ("<ms>-<seq>") and its fields, as stored.
  std::function<void(std::string id, Fields fields)> entry;
  // The history delivered since Start is complete from `floor` on: every
  // entry at or after it was delivered (or comes next). Never decreases.
  std::function<void(watch::ChangePosition floor)> floor;
};

class ChangeStreamReader {
 public:
  // INVALID_ARGUMENT without a client or an entry callback, with an empty
  // key, history or count < 1, block < 1 ms or a non-positive timeout.
  // Sends nothing until Start. The client must outlive the reader.
  static absl::StatusOr<std::unique_ptr<ChangeStreamReader>> Create(
      RedisClient* client, ChangeStreamReaderOptions options,
      ChangeStreamReaderCallbacks callbacks);

  ~ChangeStreamReader();  // Stop()

  ChangeStreamReader(const ChangeStreamReader&) = delete;
  ChangeStreamReader& operator=(const ChangeStreamReader&) = delete;

  void Start();  // once; later calls do nothing
  void Stop();   // idempotent
  // Optional: call it from the client's on_state(true) so that a reader
  // waiting out its backoff retries at once.
  void OnRedisUp();

  // For tests and metrics.
  std::uint64_t read_commands() const;  // commands sent
  std::uint64_t delivered() const;      // entries handed to `entry`
  std::uint64_t gaps() const;           // floors reported after a failure
  std::uint64_t failures() const;       // commands failed or refused

  struct Core;

 private:
  explicit ChangeStreamReader(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_CHANGE_STREAM_READER_H_
