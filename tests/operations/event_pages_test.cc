#include "server/operations/event_pages.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kOther[] = "00000000-5717-4562-b3fc-2c963f66afa6";

std::vector<leaf::CredentialEvent> Events(int n) {
  std::vector<leaf::CredentialEvent> out;
  for (int i = 0; i < n; ++i) {
    leaf::CredentialEvent e;
    e.id = "e" + std::to_string(100 + i);
    e.created_date = absl::FromUnixSeconds(1000 + i / 2);  // pairs share a time
    out.push_back(e);
  }
  return out;
}

std::vector<std::string> Ids(const EventPage& page) {
  std::vector<std::string> out;
  for (const auto& e : page.events) out.push_back(e.id);
  return out;
}

TEST(EventPagesTest, NewestFirstThenIdDescending) {
  PageTokenCodec codec("k");
  EventPage page = SelectEventPage(Events(4), kUser, nullptr, 10, codec).value();
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"e103", "e102", "e101", "e100"}));
  EXPECT_TRUE(page.next_page_token.empty());
}

TEST(EventPagesTest, WalksEveryEventExactlyOnce) {
  PageTokenCodec codec("k");
  std::vector<std::string> seen;
  std::optional<PageCursor> cursor;
  for (int pages = 0; pages < 10; ++pages) {
    EventPage page =
        SelectEventPage(Events(7), kUser, cursor ? &*cursor : nullptr, 3, codec).value();
    for (auto& id : Ids(page)) seen.push_back(id);
    if (page.next_page_token.empty()) break;
    auto decoded = codec.Decode(page.next_page_token, kUser);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    cursor = *decoded;
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"e106", "e105", "e104", "e103", "e102", "e101", "e100"}));
}

TEST(EventPagesTest, NewEventsDoNotShiftLaterPages) {
  PageTokenCodec codec("k");
  EventPage first = SelectEventPage(Events(6), kUser, nullptr, 2, codec).value();
  auto cursor = codec.Decode(first.next_page_token, kUser);
  ASSERT_TRUE(cursor.ok());
  auto grown = Events(6);
  leaf::CredentialEvent fresh;
  fresh.id = "e999";
  fresh.created_date = absl::FromUnixSeconds(5000);
  grown.push_back(fresh);
  EventPage second = SelectEventPage(grown, kUser, &*cursor, 2, codec).value();
  EXPECT_EQ(Ids(second), (std::vector<std::string>{"e103", "e102"}));
}

TEST(EventPagesTest, ExactMultipleHasNoDanglingToken) {
  PageTokenCodec codec("k");
  EventPage page = SelectEventPage(Events(3), kUser, nullptr, 3, codec).value();
  EXPECT_TRUE(page.next_page_token.empty());
}

TEST(EventPagesTest, TamperedOrForeignTokensAreInvalidArgument) {
  PageTokenCodec codec("k");
  EventPage page = SelectEventPage(Events(5), kUser, nullptr, 2, codec).value();
  const std::string token = page.next_page_token;
  ASSERT_FALSE(token.empty());

  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  raw.back() ^= 1;  // change the cursor id
  std::string tampered;
  absl::WebSafeBase64Escape(raw, &tampered);

  for (const std::string& bad : {tampered, std::string("garbage!"), std::string(""),
                                 token.substr(0, token.size() / 2), std::string(9000, 'A')}) {
    auto r = codec.Decode(bad, kUser);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(GetStatusDetails(r.status()).reason, "INVALID_PAGE_TOKEN");
  }
  EXPECT_FALSE(codec.Decode(token, kOther).ok());
  EXPECT_FALSE(PageTokenCodec("another-key").Decode(token, kUser).ok());
}

// HMAC failing (here: a digest OpenSSL refuses for HMAC) is an INTERNAL
// status, never a token signed with uninitialised bytes.
TEST(EventPagesTest, HmacFailuresBecomeAStatus) {
  const PageTokenCodec good("k");
  const std::string token = good.Encode({kUser, absl::FromUnixSeconds(1000), "e100"}).value();
  for (const EVP_MD* digest :
       {EVP_md_null(), EVP_shake256(), static_cast<const EVP_MD*>(nullptr)}) {
    const PageTokenCodec broken("k", digest);
    absl::StatusOr<std::string> encoded = broken.Encode({kUser, absl::FromUnixSeconds(1), "e"});
    ASSERT_FALSE(encoded.ok());
    EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInternal);
    EXPECT_EQ(GetStatusDetails(encoded.status()).reason, "PAGE_TOKEN_SIGNING_FAILED");

    absl::StatusOr<PageCursor> decoded = broken.Decode(token, kUser);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInternal);

    absl::StatusOr<EventPage> page = SelectEventPage(Events(5), kUser, nullptr, 2, broken);
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInternal);
    // A last page needs no token, so it is served.
    EXPECT_TRUE(SelectEventPage(Events(2), kUser, nullptr, 5, broken).ok());
  }
}

}  // namespace
}  // namespace leafsvc
