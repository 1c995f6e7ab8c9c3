// The first-byte deadline of transfers on reused connections: a transfer
// that reused a pooled connection and has shown no byte of an answer by its
// first_byte_timeout is abandoned (which also closes that connection): the
// connection may have died silently, and the caller can try a new one. A
// transfer on a connection made for it has only its deadline.
#ifndef SERVER_HTTP_FIRST_BYTE_WATCH_H_
#define SERVER_HTTP_FIRST_BYTE_WATCH_H_

#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/http/transfer_pool.h"

namespace leafsvc::http {

using ActiveTransfers = absl::flat_hash_map<TransferId, std::unique_ptr<Transfer>>;

// Appends to `silent` the active transfers whose first-byte deadline passed
// on a reused connection; stops watching (first_byte_deadline cleared,
// `*watched` decremented) those found on a new connection. Returns when the
// scan is next due: the earliest first-byte deadline still pending.
absl::Time FindSilentTransfers(ActiveTransfers& active, absl::Time now, int* watched,
                               std::vector<TransferId>* silent);

// The outcome of an abandoned transfer: UNAVAILABLE with kNoAnswerPayload and
// kMaybeSentPayload.
absl::Status NoAnswerStatus();

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_FIRST_BYTE_WATCH_H_
