// Whether a Redis stream may have lost entries a reader had not read yet,
// from what XINFO STREAM says (Redis 7: entries-added, max-deleted-entry-id).
// The change-stream reader asks after every failure: a gap means resume
// tokens from before it must resync instead of silently missing changes.
#ifndef SERVER_FLEET_STREAM_GAP_H_
#define SERVER_FLEET_STREAM_GAP_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "server/fleet/redis_reply.h"
#include "server/watch/change_position.h"

namespace leafsvc::fleet {

// What XINFO STREAM says, as far as the gap check needs it.
struct StreamInfo {
  bool exists = false;
  std::optional<watch::ChangePosition> first_entry;  // none: empty
  watch::ChangePosition last_generated;
  // Redis 7: the newest id removed by XDEL (XTRIM does not move it).
  std::optional<watch::ChangePosition> max_deleted;
  std::optional<std::int64_t> entries_added;  // Redis 7
  std::int64_t length = 0;
};

// Parses XINFO STREAM's reply (an "ERR no such key" error is a stream that
// does not exist); INTERNAL on anything else.
absl::StatusOr<StreamInfo> ParseStreamInfo(const RedisReply& reply);

// After a failure, with `last` the last id delivered ({0, 0}: the stream
// did not exist at Start and nothing came since) and `added_through_last`
// how many entries the stream had ever received up to `last`, when known
// (never more than the truth: an entry deleted unseen is not counted): the new floor when entries
// after `last` may have been lost, nullopt when none can have been.
std::optional<watch::ChangePosition> GapFloor(const StreamInfo& info, watch::ChangePosition last,
                                              std::optional<std::int64_t> added_through_last);

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_STREAM_GAP_H_
