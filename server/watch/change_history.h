// The recent moves of users' states that produced changes, ordered by their
// position in the log, kept so a stream that ended can be resumed: the
// changes after its token are told again for its users. Bounded: the
// oldest entries go first, and the floor (the oldest position from which
// the history is complete) rises with them. Plain data: no lock of its own
// (the hub holds one around it).
#ifndef SERVER_WATCH_CHANGE_HISTORY_H_
#define SERVER_WATCH_CHANGE_HISTORY_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "server/watch/change.h"
#include "server/watch/change_position.h"

namespace leafsvc::watch {

class ChangeHistory {
 public:
  // Keeps at most `capacity` entries (at least 1). `floor`: the history is
  // complete from there (nullopt: not known to be complete anywhere, every
  // resume resyncs until SetFloor).
  ChangeHistory(size_t capacity, std::optional<ChangePosition> floor);

  // Adds `entry` in position order; false (nothing changes) when one with
  // its position is there already, or when it is older than the floor.
  bool Record(LoggedObservation entry);
  bool Contains(ChangePosition position) const { return entries_.count(position) > 0; }
  // The history is complete from `floor` on (raises it, never lowers it).
  void SetFloor(ChangePosition floor);

  // Whether the changes after `position` are all here.
  bool CompleteAfter(ChangePosition position) const { return floor_ && *floor_ <= position; }
  // The entries after `position` of `users`, oldest first.
  std::vector<const LoggedObservation*> After(ChangePosition position,
                                              const absl::flat_hash_set<std::string>& users) const;
  // `user`'s newest entry here (null: none).
  const LoggedObservation* Latest(const std::string& user) const;

  size_t size() const { return entries_.size(); }
  const std::optional<ChangePosition>& floor() const { return floor_; }

 private:
  const size_t capacity_;
  std::optional<ChangePosition> floor_;
  std::optional<ChangePosition> evicted_;  // the newest entry evicted while no floor was set
  std::map<ChangePosition, LoggedObservation> entries_;
  absl::flat_hash_map<std::string, ChangePosition> latest_;  // user -> its newest entry
  // Drops entries_[it] (and its latest_ mark).
  void Erase(std::map<ChangePosition, LoggedObservation>::iterator it);
};

// The change `entry` made, as a stream that saw its previous state would
// have been told (nullopt: nothing a watcher cares about).
std::optional<Change> ReplayChange(const LoggedObservation& entry);

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_CHANGE_HISTORY_H_
