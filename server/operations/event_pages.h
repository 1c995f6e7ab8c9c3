// Paging of Leaf's credential events. Leaf returns the whole list in one
// response; this service sorts it newest first (create_time, then id, both
// descending) and cuts pages. A page token is a cursor: the sort key of the
// last event returned, bound to the Leaf user, signed with HMAC-SHA256 so a
// changed token is refused. A cursor (rather than an offset) keeps later
// pages correct when Leaf records new events between calls.
#ifndef SERVER_OPERATIONS_EVENT_PAGES_H_
#define SERVER_OPERATIONS_EVENT_PAGES_H_

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_types.h"

namespace leafsvc {

struct PageCursor {
  std::string leaf_user_id;
  absl::Time create_time;  // of the last event returned
  std::string event_id;    // of the last event returned
};

class PageTokenCodec {
 public:
  // `key` signs tokens. Replicas behind one load balancer must share it.
  // `digest` is SHA-256; tests pass one HMAC refuses to see failures handled.
  explicit PageTokenCodec(std::string key, const EVP_MD* digest = EVP_sha256())
      : key_(std::move(key)), digest_(digest) {}

  // INTERNAL (reason PAGE_TOKEN_SIGNING_FAILED) when HMAC fails.
  absl::StatusOr<std::string> Encode(const PageCursor& cursor) const;
  // INVALID_ARGUMENT (reason INVALID_PAGE_TOKEN) for anything not produced by
  // Encode with the same key, or issued for another user; INTERNAL when HMAC
  // fails.
  absl::StatusOr<PageCursor> Decode(absl::string_view token, absl::string_view leaf_user_id) const;

 private:
  absl::StatusOr<std::string> Sign(absl::string_view payload) const;
  std::string key_;
  const EVP_MD* digest_;
};

struct EventPage {
  std::vector<leaf::CredentialEvent> events;
  std::string next_page_token;
};

// Sorts `events` and returns the page after `cursor` (from the start when
// null). `page_size` must be positive. Fails only when the next page token
// cannot be signed.
absl::StatusOr<EventPage> SelectEventPage(std::vector<leaf::CredentialEvent> events,
                                          absl::string_view leaf_user_id, const PageCursor* cursor,
                                          int page_size, const PageTokenCodec& codec);

}  // namespace leafsvc

#endif  // SERVER_OPERATIONS_EVENT_PAGES_H_
