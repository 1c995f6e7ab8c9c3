// The resume token a CredentialsChange carries: where in which log of
// observed states a stream stood after that change. Opaque to callers
// (base64url of "v1|<log id>|<ms>-<seq>", plus "|p" when partial); the log
// id tells tokens of another process (or deployment) apart, which cannot be
// resumed exactly.
#ifndef SERVER_WATCH_RESUME_TOKEN_H_
#define SERVER_WATCH_RESUME_TOKEN_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "server/watch/change_position.h"

namespace leafsvc::watch {

struct ResumePoint {
  std::string log_id;  // non-empty, no '|'
  ChangePosition position;
  // Sent before the stream had the first change of every user: it cannot
  // tell which users the stream knew, so a resume from it resyncs.
  bool partial = false;
};

// Longer tokens are refused before decoding (a caller's bytes, not ours).
inline constexpr size_t kMaxResumeTokenSize = 512;

std::string EncodeResumeToken(const ResumePoint& point);
// nullopt for anything this service did not write: bad base64, another
// version, a missing or empty part, a bad position, more than
// kMaxResumeTokenSize bytes.
std::optional<ResumePoint> DecodeResumeToken(absl::string_view token);

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_RESUME_TOKEN_H_
