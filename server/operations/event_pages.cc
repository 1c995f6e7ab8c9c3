#include "server/operations/event_pages.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/leaf/leaf_endpoints.h"

namespace leafsvc {
namespace {

constexpr absl::string_view kVersion = "v1";
constexpr size_t kMacBytes = 16;
// Leaf's event ids are UUIDs; 8 KiB leaves room for ids of up to ~6 KB.
constexpr size_t kMaxTokenBytes = 8192;

absl::Status InvalidToken(absl::string_view why) {
  StatusDetails d;
  d.field_violations.push_back(
      {"page_token", absl::StrCat(why,
                                  "; pass back next_page_token unchanged, with the "
                                  "same leaf_user_id, or omit it to start over")});
  return MakeError(reasons::kInvalidPageToken, absl::StrCat("invalid page_token: ", why), d);
}

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// Newest first; ties broken by id, descending. Events without a time sort last.
bool Before(const leaf::CredentialEvent& a, const leaf::CredentialEvent& b) {
  const int64_t ta = a.created_date ? Micros(*a.created_date) : INT64_MIN;
  const int64_t tb = b.created_date ? Micros(*b.created_date) : INT64_MIN;
  return std::tie(ta, a.id) > std::tie(tb, b.id);
}

}  // namespace

absl::StatusOr<std::string> PageTokenCodec::Sign(absl::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // A failed HMAC leaves `mac` undefined; a short one would make every token
  // compare against uninitialised bytes. Either way nothing is signed.
  if (digest_ == nullptr ||
      HMAC(digest_, key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac,
           &len) == nullptr ||
      len < kMacBytes) {
    return MakeError(reasons::kPageTokenSigningFailed);
  }
  return std::string(reinterpret_cast<char*>(mac), kMacBytes);
}

absl::StatusOr<std::string> PageTokenCodec::Encode(const PageCursor& c) const {
  std::string payload =
      absl::StrCat(kVersion, "|", c.leaf_user_id, "|", Micros(c.create_time), "|", c.event_id);
  absl::StatusOr<std::string> mac = Sign(payload);
  if (!mac.ok()) return mac.status();
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(*mac, payload), &token);
  return token;
}

absl::StatusOr<PageCursor> PageTokenCodec::Decode(absl::string_view token,
                                                  absl::string_view leaf_user_id) const {
  if (token.size() > kMaxTokenBytes) return InvalidToken("too long");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() <= kMacBytes) {
    return InvalidToken("not a token issued by this service");
  }
  absl::string_view mac = absl::string_view(raw).substr(0, kMacBytes);
  absl::string_view payload = absl::string_view(raw).substr(kMacBytes);
  const absl::StatusOr<std::string> expected = Sign(payload);
  if (!expected.ok()) return expected.status();
  if (CRYPTO_memcmp(mac.data(), expected->data(), kMacBytes) != 0) {
    return InvalidToken("not a token issued by this service (or it was changed)");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(payload, absl::MaxSplits('|', 3));
  int64_t micros = 0;
  if (parts.size() != 4 || parts[0] != kVersion || !absl::SimpleAtoi(parts[2], &micros)) {
    return InvalidToken("unsupported token format");
  }
  if (parts[1] != leaf_user_id) {
    return InvalidToken("the token was issued for another leaf_user_id");
  }
  return PageCursor{std::string(parts[1]), absl::FromUnixMicros(micros), std::string(parts[3])};
}

absl::StatusOr<EventPage> SelectEventPage(std::vector<leaf::CredentialEvent> events,
                                          absl::string_view leaf_user_id, const PageCursor* cursor,
                                          int page_size, const PageTokenCodec& codec) {
  std::sort(events.begin(), events.end(), Before);
  auto begin = events.begin();
  if (cursor != nullptr) {
    leaf::CredentialEvent last;
    last.id = cursor->event_id;
    last.created_date = cursor->create_time;
    begin = std::upper_bound(events.begin(), events.end(), last, Before);
  }
  EventPage page;
  const size_t remaining = static_cast<size_t>(events.end() - begin);
  const size_t n = std::min(remaining, static_cast<size_t>(page_size));
  page.events.assign(std::make_move_iterator(begin), std::make_move_iterator(begin + n));
  if (n < remaining && n > 0) {
    const leaf::CredentialEvent& last = page.events.back();
    absl::StatusOr<std::string> token =
        codec.Encode({std::string(leaf_user_id),
                      last.created_date.value_or(absl::FromUnixMicros(INT64_MIN)), last.id});
    if (!token.ok()) return token.status();
    page.next_page_token = *std::move(token);
  }
  return page;
}

}  // namespace leafsvc
