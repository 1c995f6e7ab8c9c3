// The transfers a CurlHttpClient accepted but cannot start yet because every
// connection it may open to the host is busy (max_connections_per_host). They
// wait here rather than inside libcurl: a transfer handed to curl costs ~20 KB
// while it waits for a connection, an entry here only its request, and curl
// rescans its pending list on every event.
//
// Not thread-safe: the client's event loop is its only user.
#ifndef SERVER_HTTP_WAIT_QUEUE_H_
#define SERVER_HTTP_WAIT_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/http/http_client.h"

namespace leafsvc::http {

// A transfer accepted by Send that holds no curl handle yet.
struct PendingTransfer {
  TransferId id = 0;
  HttpRequest request;
  HttpCallback done;
};

// FIFO of waiting transfers, also indexed by id (for Cancel) and by deadline
// (for expiry). Invariant: the three indexes always hold exactly the same
// entries; every operation updates all of them before it returns.
class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  bool empty() const { return by_arrival_.empty(); }
  std::size_t size() const { return by_arrival_.size(); }
  bool Contains(TransferId id) const { return sequence_of_.contains(id); }

  // Appends `transfer`, which waits until its request's deadline. Its id must
  // not be waiting already (ids come from a counter, so they never repeat).
  void Push(PendingTransfer transfer);

  // Removes and returns the oldest entry. The queue must not be empty.
  PendingTransfer PopFront();

  // Removes and returns the entry with this id, if it is waiting.
  absl::optional<PendingTransfer> Remove(TransferId id);

  // The earliest deadline of any waiting entry, or none when empty.
  absl::optional<absl::Time> EarliestDeadline() const;

  // Removes and returns the entries whose deadline is at or before `now`,
  // earliest deadline first (arrival order among equal deadlines).
  std::vector<PendingTransfer> PopExpired(absl::Time now);

  // Removes and returns every entry, oldest first.
  std::vector<PendingTransfer> TakeAll();

 private:
  // Entries are keyed by an arrival number, not by their id: ids are taken
  // before the client's inbox lock, so they need not arrive in order.
  using Sequence = std::uint64_t;

  PendingTransfer Erase(std::map<Sequence, PendingTransfer>::iterator it);

  Sequence next_sequence_ = 0;
  std::map<Sequence, PendingTransfer> by_arrival_;
  absl::flat_hash_map<TransferId, Sequence> sequence_of_;
  std::set<std::pair<absl::Time, Sequence>> by_deadline_;
};

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_WAIT_QUEUE_H_
