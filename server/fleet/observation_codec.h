// An Observation as the compact JSON the fleet keeps in Redis (the shared
// state of a watched user, the change stream's entries), and back.
//
// Secrets never go to Redis: a secret field travels as its hint only
// ("****" + last 4 characters, as the edge shows it) and decodes to an
// empty value with CredentialField::hint set. Error statuses keep their
// code, message (redacted of the process's secrets), ErrorInfo reason and
// metadata, BadRequest violations and RetryInfo delay, so the status the
// edge rebuilds is the one the reading replica saw.
//
// Decoding takes text from Redis as untrusted: garbage, wrong types, deep
// nesting or unknown kinds are INVALID_ARGUMENT, never a crash.
#ifndef SERVER_FLEET_OBSERVATION_CODEC_H_
#define SERVER_FLEET_OBSERVATION_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/providers/provider_spec.h"
#include "server/watch/change.h"

namespace leafsvc::fleet {

// The JSON of `observation`, with its version and known_since (its
// position is the change stream's business, not the record's).
std::string EncodeObservation(const watch::Observation& observation);

// Parses what EncodeObservation wrote. Decoded credentials point at
// `provider` (may be null: the edge then assumes AgLeader's spec).
absl::StatusOr<watch::Observation> DecodeObservation(
    absl::string_view json, const providers::ProviderSpec* provider = nullptr);

// What a change of the shared state is judged by: the kind, then the
// credential id and status (present) or the error code and reason (error).
// Two observations with one fingerprint make no change for a watcher.
std::string Fingerprint(const watch::Observation& observation);

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_OBSERVATION_CODEC_H_
