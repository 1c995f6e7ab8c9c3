#include "server/operations/user_listing.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

class NoCall final : public leaf::Cancellable {
 public:
  void Cancel() override {}
};

// Records each fetch; the test answers them.
struct FakeLeaf {
  struct Fetch {
    int page, size;
    absl::Time deadline;
    UserListing::FetchDone done;
  };
  std::vector<Fetch> fetches;
  UserListing::Fetch AsFetch() {
    return [this](int page, int size, absl::Time deadline, UserListing::FetchDone done) {
      fetches.push_back({page, size, deadline, std::move(done)});
      return std::make_shared<NoCall>();
    };
  }
};

leaf::LeafUsersPage FullPage(int size, int first) {
  leaf::LeafUsersPage page;
  for (int i = 0; i < size; ++i) {
    leaf::LeafUser u;
    u.id = "user-" + std::to_string(first + i);
    u.credentials.emplace();
    u.credentials->id = "c" + std::to_string(first + i);
    page.users.push_back(u);
  }
  return page;
}

// ListCredentials answers by half its time whatever Leaf does: every Leaf
// request is bounded by the soft deadline, not by the call's.
TEST(UserListingTest, EveryLeafRequestEndsByTheSoftDeadline) {
  FakeLeaf leaf;
  const absl::Time soft = absl::Now() + absl::Hours(1);
  auto listing = std::make_shared<UserListing>(
      leaf.AsFetch(), ListCursor{0, 2}, 10, [](const auto&) { return true; }, soft);
  std::optional<absl::StatusOr<ListingResult>> got;
  listing->Start([&](absl::StatusOr<ListingResult> r) { got = std::move(r); });
  ASSERT_EQ(leaf.fetches.size(), 1u);
  EXPECT_EQ(leaf.fetches[0].deadline, soft);
  leaf.fetches[0].done(FullPage(2, 0));
  ASSERT_EQ(leaf.fetches.size(), 2u);
  EXPECT_EQ(leaf.fetches[1].deadline, soft);
  EXPECT_FALSE(got.has_value());
}

TEST(UserListingTest, AFirstPageCutByTheSoftDeadlineIsLeafsTimeout) {
  FakeLeaf leaf;
  auto listing = std::make_shared<UserListing>(
      leaf.AsFetch(), ListCursor{0, 2}, 10, [](const auto&) { return true; }, absl::Now());
  std::optional<absl::StatusOr<ListingResult>> got;
  listing->Start([&](absl::StatusOr<ListingResult> r) { got = std::move(r); });
  leaf.fetches[0].done(absl::DeadlineExceededError("Leaf did not answer in time"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(UserListingTest, ALaterPageCutByTheSoftDeadlineLeavesWhatWasReadAndATokenForIt) {
  FakeLeaf leaf;
  const absl::Time soft = absl::Now() + absl::Milliseconds(20);
  auto listing = std::make_shared<UserListing>(
      leaf.AsFetch(), ListCursor{0, 2}, 10, [](const auto&) { return true; }, soft);
  std::optional<absl::StatusOr<ListingResult>> got;
  listing->Start([&](absl::StatusOr<ListingResult> r) { got = std::move(r); });
  leaf.fetches[0].done(FullPage(2, 0));
  ASSERT_EQ(leaf.fetches.size(), 2u);
  while (absl::Now() < soft) absl::SleepFor(absl::Milliseconds(5));
  leaf.fetches[1].done(absl::DeadlineExceededError("Leaf did not answer in time"));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status();
  EXPECT_EQ((*got)->users.size(), 2u);
  ASSERT_TRUE((*got)->next.has_value());
  EXPECT_EQ((*got)->next->position, 2);  // page 1 is read again next time
}

// Over Leaf's request budget, a listing returns what it read with a token
// for the rest instead of throwing it away; the first page has nothing to
// show, so its refusal (with RetryInfo) is the answer.
TEST(UserListingTest, ALaterPageRefusedByTheBudgetLeavesWhatWasReadAndATokenForIt) {
  FakeLeaf leaf;
  auto listing = std::make_shared<UserListing>(
      leaf.AsFetch(), ListCursor{0, 2}, 10, [](const auto&) { return true; },
      absl::Now() + absl::Hours(1));
  std::optional<absl::StatusOr<ListingResult>> got;
  listing->Start([&](absl::StatusOr<ListingResult> r) { got = std::move(r); });
  leaf.fetches[0].done(FullPage(2, 0));
  StatusDetails d;
  d.retry_delay = absl::Seconds(3);
  leaf.fetches[1].done(MakeError(reasons::kLeafRateLimited, "no token in time", d));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status();
  EXPECT_EQ((*got)->users.size(), 2u);
  ASSERT_TRUE((*got)->next.has_value());
  EXPECT_EQ((*got)->next->position, 2);

  FakeLeaf first;
  auto refused = std::make_shared<UserListing>(
      first.AsFetch(), ListCursor{0, 2}, 10, [](const auto&) { return true; },
      absl::Now() + absl::Hours(1));
  std::optional<absl::StatusOr<ListingResult>> none;
  refused->Start([&](absl::StatusOr<ListingResult> r) { none = std::move(r); });
  first.fetches[0].done(MakeError(reasons::kLeafRateLimited, "no token in time", d));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(GetStatusDetails(none->status()).reason, "LEAF_RATE_LIMITED");
  EXPECT_EQ(GetStatusDetails(none->status()).retry_delay, absl::Seconds(3));
}

TEST(UserListingTest, OtherErrorsOfALaterPageStillFailTheCall) {
  FakeLeaf leaf;
  auto listing = std::make_shared<UserListing>(
      leaf.AsFetch(), ListCursor{0, 2}, 10, [](const auto&) { return true; },
      absl::Now() + absl::Hours(1));
  std::optional<absl::StatusOr<ListingResult>> got;
  listing->Start([&](absl::StatusOr<ListingResult> r) { got = std::move(r); });
  leaf.fetches[0].done(FullPage(2, 0));
  leaf.fetches[1].done(absl::PermissionDeniedError("no"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace leafsvc
