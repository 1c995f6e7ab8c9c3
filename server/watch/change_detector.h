// Turns successive reads of one user's credentials into changes: the state
// last seen is compared with each new read. Shared by every stream watching
// the user, so each read is judged once. Not thread-safe (the hub holds
// its lock around it).
#ifndef SERVER_WATCH_CHANGE_DETECTOR_H_
#define SERVER_WATCH_CHANGE_DETECTOR_H_

#include <optional>

#include "absl/time/time.h"
#include "server/watch/change.h"

namespace leafsvc::watch {

class ChangeDetector {
 public:
  // The change `observation` reveals, or nullopt when nothing a watcher
  // cares about changed. The first read is kInitial; a failed read is
  // kError once per outage; the first good read after it is kInitial again
  // (with `previous` the credentials last known). A change of fields other
  // than id and status (e.g. a token Leaf refreshed) is absorbed silently.
  std::optional<Change> Observe(const Observation& observation, Source source, absl::Time now);

  // What a watcher joining now starts with: kInitial with the credentials
  // last read (or none), or kError while reads fail; nullopt before the
  // first read finished.
  std::optional<Change> Snapshot() const;

  // The credentials last read successfully, if any.
  const std::optional<leaf::ProviderCredentials>& last() const { return last_; }
  // A read has finished.
  bool known() const { return known_; }

  // The state last seen as an observation (nullopt before the first read),
  // to record in the history of changes: kPresent, kAbsent, or kError with
  // `credentials` the ones last read successfully (empty id: none).
  std::optional<Observation> State() const;
  // A detector that has seen `state` (a State(); nullopt: a new detector),
  // to tell again the change a recorded observation made.
  static ChangeDetector Restore(const std::optional<Observation>& state, absl::Time observed);

 private:
  bool known_ = false;     // a read has finished
  bool in_error_ = false;  // the last read failed
  absl::Status error_;
  std::optional<leaf::ProviderCredentials> last_;
  absl::Time observed_;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_CHANGE_DETECTOR_H_
