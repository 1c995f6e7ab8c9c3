// ListCredentials' walk over Leaf's paged user list (GET /users?page=&size=).
// A listing position is an index into Leaf's list; a page token carries it,
// with the Leaf page size it was counted in and the status filter it belongs
// to, signed like ListCredentialEvents' tokens (PageTokenCodec, so one key
// serves both; a token of one kind is refused by the other).
//
// One call reads Leaf pages one after the other until it has `page_size`
// matching credentials, Leaf runs out, or the soft deadline passes (then it
// returns what it has with a token for the rest, so a slow Leaf costs the
// caller a short page, not the whole call). Every Leaf request ends by the
// soft deadline too: a Leaf that drips its first page makes the call end
// then with Leaf's timeout error, not miss the caller's deadline; a later
// page cut short is read again by the next call. A Leaf that ignores page/size and
// answers with more than `size` users is taken to have sent its whole list.
#ifndef SERVER_OPERATIONS_USER_LISTING_H_
#define SERVER_OPERATIONS_USER_LISTING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_call.h"
#include "server/leaf/leaf_users_json.h"
#include "server/operations/event_pages.h"

namespace leafsvc {

struct ListCursor {
  std::int64_t position = 0;  // index in Leaf's user list of the next user to read
  int leaf_page_size = 0;     // the Leaf `size` the position was counted with
};

// Encodes and checks ListCredentials page tokens. `filter` names the status
// filter (see StatusFilterKey); a token only decodes with the filter it was
// issued for.
class ListTokenCodec {
 public:
  explicit ListTokenCodec(const PageTokenCodec* codec) : codec_(codec) {}
  // INTERNAL when signing fails (see PageTokenCodec).
  absl::StatusOr<std::string> Encode(const ListCursor& cursor, absl::string_view filter) const;
  // INVALID_ARGUMENT (reason INVALID_PAGE_TOKEN) for anything else; INTERNAL
  // when HMAC fails.
  absl::StatusOr<ListCursor> Decode(absl::string_view token, absl::string_view filter) const;

 private:
  const PageTokenCodec* const codec_;
};

// A canonical key for a set of status enum values (order and repeats ignored).
std::string StatusFilterKey(std::vector<int> statuses);

struct ListingResult {
  std::vector<leaf::LeafUser> users;  // each with ag_leader set and matching
  std::optional<ListCursor> next;     // where the next page starts; none: done
  std::optional<long long> total_count;
};

class UserListing final : public leaf::Cancellable,
                          public std::enable_shared_from_this<UserListing> {
 public:
  using FetchDone = std::function<void(absl::StatusOr<leaf::LeafUsersPage>)>;
  // Starts GET /users?page=&size=, to end by `deadline`; `done` runs
  // exactly once.
  using Fetch = std::function<std::shared_ptr<leaf::Cancellable>(
      int page, int size, absl::Time deadline, FetchDone done)>;
  using Done = std::function<void(absl::StatusOr<ListingResult>)>;
  using Filter = std::function<bool(const leaf::ProviderCredentials&)>;

  // `page_size` > 0; `start.leaf_page_size` > 0. No Leaf page is requested
  // after `soft_deadline`, once the first one has been read, and none is
  // waited for past it.
  UserListing(Fetch fetch, ListCursor start, int page_size, Filter filter,
              absl::Time soft_deadline);

  // Runs `done` exactly once: with the page, or with the first Leaf error
  // (including CANCELLED after Cancel()).
  void Start(Done done);
  void Cancel() override;

 private:
  void FetchNext();
  void OnPage(absl::StatusOr<leaf::LeafUsersPage> page);

  const Fetch fetch_;
  const int page_size_;
  const Filter filter_;
  const absl::Time soft_deadline_;
  Done done_;
  // Touched only by the one fetch in flight at a time (Start, then OnPage).
  ListCursor cursor_;
  ListingResult result_;
  int pages_read_ = 0;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<leaf::Cancellable> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc

#endif  // SERVER_OPERATIONS_USER_LISTING_H_
