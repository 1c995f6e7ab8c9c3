#include "server/operations/user_listing.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

// The PageTokenCodec's "user" slot holds this prefix and the filter: never a
// UUID, so an events token is never a listing token, nor the reverse.
constexpr absl::string_view kScope = "list-credentials:";

absl::Status InvalidListToken() {
  StatusDetails d;
  d.field_violations.push_back(
      {"page_token",
       "not a ListCredentials token issued by this service for these statuses; pass back "
       "next_page_token unchanged, with the same statuses, or omit it to start over"});
  return MakeError(reasons::kInvalidPageToken,
                   "invalid page_token: not a ListCredentials token issued by this service for "
                   "these statuses (or it was changed)",
                   d);
}

}  // namespace

std::string StatusFilterKey(std::vector<int> statuses) {
  std::sort(statuses.begin(), statuses.end());
  statuses.erase(std::unique(statuses.begin(), statuses.end()), statuses.end());
  return absl::StrJoin(statuses, ",");
}

absl::StatusOr<std::string> ListTokenCodec::Encode(const ListCursor& cursor,
                                                   absl::string_view filter) const {
  return codec_->Encode({absl::StrCat(kScope, filter), absl::FromUnixMicros(cursor.position),
                         absl::StrCat(cursor.leaf_page_size)});
}

absl::StatusOr<ListCursor> ListTokenCodec::Decode(absl::string_view token,
                                                  absl::string_view filter) const {
  absl::StatusOr<PageCursor> decoded = codec_->Decode(token, absl::StrCat(kScope, filter));
  if (!decoded.ok()) {
    return absl::IsInvalidArgument(decoded.status()) ? InvalidListToken() : decoded.status();
  }
  ListCursor cursor;
  cursor.position = absl::ToUnixMicros(decoded->create_time);
  // Signed, so only a bug here could make these wrong; checked regardless.
  if (!absl::SimpleAtoi(decoded->event_id, &cursor.leaf_page_size) || cursor.leaf_page_size <= 0 ||
      cursor.position < 0) {
    return InvalidListToken();
  }
  return cursor;
}

UserListing::UserListing(Fetch fetch, ListCursor start, int page_size, Filter filter,
                         absl::Time soft_deadline)
    : fetch_(std::move(fetch)),
      page_size_(page_size),
      filter_(std::move(filter)),
      soft_deadline_(soft_deadline),
      cursor_(start) {}

void UserListing::Start(Done done) {
  done_ = std::move(done);
  FetchNext();
}

void UserListing::Cancel() {
  std::shared_ptr<leaf::Cancellable> current;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    current = current_;
  }
  if (current) current->Cancel();
}

void UserListing::FetchNext() {
  const int size = cursor_.leaf_page_size;
  const int page = static_cast<int>(cursor_.position / size);
  std::shared_ptr<UserListing> self = shared_from_this();
  std::shared_ptr<leaf::Cancellable> call =
      fetch_(page, size, soft_deadline_,
             [self](absl::StatusOr<leaf::LeafUsersPage> r) { self->OnPage(std::move(r)); });
  bool cancel_now;
  {
    absl::MutexLock lock(&mu_);
    current_ = call;
    cancel_now = cancelled_;
  }
  if (cancel_now) call->Cancel();
}

void UserListing::OnPage(absl::StatusOr<leaf::LeafUsersPage> page) {
  if (!page.ok()) {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      current_.reset();
      cancelled = cancelled_;
    }
    // A later page cut short by the soft deadline, or refused by Leaf's
    // request budget: what was read stands, and the next call reads this
    // page again. The first one has nothing to show: its error (Leaf's
    // timeout, LEAF_RATE_LIMITED with RetryInfo) is the answer.
    const bool out_of_time =
        absl::IsDeadlineExceeded(page.status()) && absl::Now() >= soft_deadline_;
    const bool out_of_budget =
        GetStatusDetails(page.status()).reason == reasons::kLeafRateLimited.name;
    if (pages_read_ > 0 && !cancelled && (out_of_time || out_of_budget)) {
      result_.next = cursor_;
      return done_(std::move(result_));
    }
    return done_(page.status());
  }
  ++pages_read_;
  if (page->total_count) result_.total_count = page->total_count;
  const std::vector<leaf::LeafUser>& users = page->users;
  const int size = cursor_.leaf_page_size;
  // More users than asked for: Leaf ignored the paging and sent everything.
  const bool whole_list = users.size() > static_cast<size_t>(size);
  size_t i = static_cast<size_t>(whole_list ? cursor_.position : cursor_.position % size);
  bool full = false;
  for (; i < users.size() && !full; ++i) {
    ++cursor_.position;
    const leaf::LeafUser& user = users[i];
    if (!user.credentials || !filter_(*user.credentials)) continue;
    result_.users.push_back(user);
    full = result_.users.size() >= static_cast<size_t>(page_size_);
  }
  const bool total_reached = result_.total_count && cursor_.position >= *result_.total_count;
  const bool leaf_has_more =
      !whole_list && users.size() == static_cast<size_t>(size) && !total_reached;
  const bool more = i < users.size() || leaf_has_more;
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    current_.reset();
    cancelled = cancelled_;
  }
  if (more && !full && !cancelled && absl::Now() < soft_deadline_) return FetchNext();
  if (more && cancelled) {
    return done_(MakeStatus(absl::StatusCode::kCancelled, "the call was cancelled",
                            StatusDetails{"CANCELLED", {}, {}, std::nullopt}));
  }
  if (more) result_.next = cursor_;
  done_(std::move(result_));
}

}  // namespace leafsvc
