#include "server/watch/change_detector.h"

#include <utility>

namespace leafsvc::watch {

std::optional<Change> ChangeDetector::Observe(const Observation& observation, Source source,
                                              absl::Time now) {
  Change change;
  change.observed = now;
  change.source = source;
  change.previous = last_;
  if (observation.kind == Observation::Kind::kError) {
    const bool first_failure = !in_error_;
    known_ = true;
    in_error_ = true;
    error_ = observation.error;
    observed_ = now;
    if (!first_failure) return std::nullopt;
    change.kind = ChangeKind::kError;
    change.error = observation.error;
    return change;
  }
  std::optional<leaf::ProviderCredentials> current;
  if (observation.kind == Observation::Kind::kPresent) current = observation.credentials;
  const bool was_known = known_ && !in_error_;
  known_ = true;
  in_error_ = false;
  error_ = absl::OkStatus();
  observed_ = now;
  std::optional<leaf::ProviderCredentials> previous = std::exchange(last_, current);
  change.current = current;
  if (!was_known) {
    change.kind = ChangeKind::kInitial;
    return change;
  }
  if (!previous && !current) return std::nullopt;
  if (!previous) {
    change.kind = ChangeKind::kCreated;
  } else if (!current) {
    change.kind = ChangeKind::kDeleted;
  } else if (previous->id != current->id) {
    change.kind = ChangeKind::kReplaced;
  } else if (previous->status != current->status) {
    change.kind = ChangeKind::kStatusChanged;
  } else {
    return std::nullopt;
  }
  return change;
}

std::optional<Change> ChangeDetector::Snapshot() const {
  if (!known_) return std::nullopt;
  Change change;
  change.observed = observed_;
  change.source = Source::kInitial;
  if (in_error_) {
    change.kind = ChangeKind::kError;
    change.error = error_;
    change.previous = last_;
  } else {
    change.kind = ChangeKind::kInitial;
    change.current = last_;
  }
  return change;
}

std::optional<Observation> ChangeDetector::State() const {
  if (!known_) return std::nullopt;
  Observation o;
  if (in_error_) {
    o.kind = Observation::Kind::kError;
    o.error = error_;
    if (last_) o.credentials = *last_;
  } else if (last_) {
    o.kind = Observation::Kind::kPresent;
    o.credentials = *last_;
  } else {
    o.kind = Observation::Kind::kAbsent;
  }
  return o;
}

ChangeDetector ChangeDetector::Restore(const std::optional<Observation>& state,
                                       absl::Time observed) {
  ChangeDetector d;
  if (!state || state->kind == Observation::Kind::kNotRead) return d;
  d.known_ = true;
  d.observed_ = observed;
  switch (state->kind) {
    case Observation::Kind::kPresent:
      d.last_ = state->credentials;
      break;
    case Observation::Kind::kError:
      d.in_error_ = true;
      d.error_ = state->error;
      if (!state->credentials.id.empty()) d.last_ = state->credentials;
      break;
    default:
      break;
  }
  return d;
}

}  // namespace leafsvc::watch
