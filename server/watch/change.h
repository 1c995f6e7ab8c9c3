// What the watch machinery reports about one user's provider credentials: a
// read's outcome (Observation) and what it revealed (Change). Plain values,
// no gRPC or protobuf types.
#ifndef SERVER_WATCH_CHANGE_H_
#define SERVER_WATCH_CHANGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_types.h"
#include "server/watch/change_position.h"

namespace leafsvc::watch {

// The outcome of one read of a user's credentials.
struct Observation {
  // kNotRead: Leaf was never asked, or only said to come back later
  // (LEAF_RATE_LIMITED: the request budget or Leaf's 429;
  // TOO_MANY_CALLS_IN_FLIGHT). Not an outage of the credentials: the poller
  // reads again later (RetryInfo) and nothing reaches a watcher.
  enum class Kind { kPresent, kAbsent, kError, kNotRead };
  Kind kind = Kind::kError;
  leaf::ProviderCredentials credentials;  // kPresent
  absl::Status error;                     // kError, kNotRead

  // Fleet mode (set by the fleet's fetch and change stream; zero/unset in a
  // single process):
  // - the version of the user's shared state this observation is (per
  //   user, increasing; 0: read by this process alone and not shared).
  //   Observations older than one already applied are ignored.
  std::uint64_t version = 0;
  // - the change stream entry that carried it, if it came from the stream.
  std::optional<ChangePosition> position;
  // - where the shared state's unbroken history began (the position of the
  //   entry that first recorded it): a resume token older than this cannot
  //   be resumed exactly.
  std::optional<ChangePosition> known_since;

  // From a GetCredentials result: NOT_FOUND with reason
  // CREDENTIALS_NOT_FOUND means the user has none; LEAF_RATE_LIMITED and
  // TOO_MANY_CALLS_IN_FLIGHT are kNotRead; any other error is kError.
  static Observation FromResult(absl::StatusOr<leaf::ProviderCredentials> result);
};

// Why a user was read.
// kAlert: a Leaf alert prompted the read; kConnect: a connect link attached
// new credentials (issue 22).
enum class Source { kInitial, kPoll, kAlert, kConnect };
// "initial", "poll", "alert", "connect_link"
absl::string_view SourceName(Source source);
// A read asked for out of turn (an alert or a connect link).
inline bool IsPrompted(Source source) {
  return source == Source::kAlert || source == Source::kConnect;
}

enum class ChangeKind {
  kInitial,
  kCreated,
  kStatusChanged,
  kReplaced,
  kDeleted,
  kError,
  // A fresh snapshot for a resumed stream whose token could not be honoured.
  kResync,
};
absl::string_view ChangeKindName(ChangeKind kind);  // "initial", "created", ...

struct Change {
  ChangeKind kind = ChangeKind::kInitial;
  std::optional<leaf::ProviderCredentials> previous;
  std::optional<leaf::ProviderCredentials> current;
  absl::Status error;  // kError
  absl::Time observed;
  Source source = Source::kPoll;
  // Where a stream that ends after this change resumes (set by the hub).
  std::string resume_token;
};

// An optional value kept on the heap, with std::optional's reading API:
// empty, it costs one pointer. (The history keeps one LoggedObservation per
// recent change, up to 10,000 by default; most are a user's first read, with
// no previous state, and an Observation is some 200 bytes.)
template <typename T>
class HeapOptional {
 public:
  HeapOptional() = default;
  HeapOptional(std::nullopt_t) {}         // NOLINT: implicit, as std::optional's
  HeapOptional(std::optional<T> value) {  // NOLINT
    if (value) value_ = std::make_unique<T>(*std::move(value));
  }
  HeapOptional(const HeapOptional& other)
      : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  HeapOptional(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(const HeapOptional& other) {
    value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    return *this;
  }
  HeapOptional& operator=(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(T value) {
    value_ = std::make_unique<T>(std::move(value));
    return *this;
  }
  HeapOptional& operator=(std::optional<T> value) {
    value_ = value ? std::make_unique<T>(*std::move(value)) : nullptr;
    return *this;
  }

  bool has_value() const { return value_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  const T& operator*() const { return *value_; }
  T& operator*() { return *value_; }
  const T* operator->() const { return value_.get(); }
  T* operator->() { return value_.get(); }
  // A copy as a std::optional.
  std::optional<T> ToOptional() const { return value_ ? std::optional<T>(*value_) : std::nullopt; }

 private:
  std::unique_ptr<T> value_;
};

// One entry of the fleet's change stream: the user's shared state moved from
// `previous` (none: first record) to `observation`.
struct LoggedObservation {
  ChangePosition position;
  std::string user;
  HeapOptional<Observation> previous;
  Observation observation;  // version, position and known_since set
  Source source = Source::kPoll;
  absl::Time observed;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_CHANGE_H_
