#include "server/watch/change_history.h"

#include <algorithm>

#include "server/watch/change_detector.h"

namespace leafsvc::watch {

ChangeHistory::ChangeHistory(size_t capacity, std::optional<ChangePosition> floor)
    : capacity_(std::max<size_t>(capacity, 1)), floor_(floor) {}

bool ChangeHistory::Record(LoggedObservation entry) {
  // Before the floor the history is known to be incomplete: keeping the
  // entry would not make a resume from there possible.
  if (floor_ && entry.position < *floor_) return false;
  const ChangePosition position = entry.position;
  const std::string user = entry.user;
  if (!entries_.try_emplace(position, std::move(entry)).second) return false;
  auto [latest, added] = latest_.try_emplace(user, position);
  if (!added && latest->second < position) latest->second = position;
  while (entries_.size() > capacity_) {
    // A token at the evicted position still resumes: everything after it
    // is here. With no floor yet the history is not complete anywhere: the
    // eviction only bounds the floor to come.
    const ChangePosition evicted = entries_.begin()->first;
    Erase(entries_.begin());
    if (floor_) {
      SetFloor(evicted);
    } else {
      evicted_ = evicted;
    }
  }
  return true;
}

void ChangeHistory::SetFloor(ChangePosition floor) {
  if (evicted_ && floor < *evicted_) floor = *evicted_;
  if (!floor_ || *floor_ < floor) floor_ = floor;
  while (!entries_.empty() && entries_.begin()->first < *floor_) Erase(entries_.begin());
}

void ChangeHistory::Erase(std::map<ChangePosition, LoggedObservation>::iterator it) {
  auto latest = latest_.find(it->second.user);
  if (latest != latest_.end() && latest->second == it->first) latest_.erase(latest);
  entries_.erase(it);
}

const LoggedObservation* ChangeHistory::Latest(const std::string& user) const {
  auto latest = latest_.find(user);
  return latest == latest_.end() ? nullptr : &entries_.at(latest->second);
}

std::vector<const LoggedObservation*> ChangeHistory::After(
    ChangePosition position, const absl::flat_hash_set<std::string>& users) const {
  std::vector<const LoggedObservation*> out;
  for (auto it = entries_.upper_bound(position); it != entries_.end(); ++it) {
    if (users.contains(it->second.user)) out.push_back(&it->second);
  }
  return out;
}

std::optional<Change> ReplayChange(const LoggedObservation& entry) {
  ChangeDetector detector = ChangeDetector::Restore(entry.previous.ToOptional(), entry.observed);
  return detector.Observe(entry.observation, entry.source, entry.observed);
}

}  // namespace leafsvc::watch
