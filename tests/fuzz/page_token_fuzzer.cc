// Fuzzes PageTokenCodec::Decode (base64url, HMAC-SHA256, then a text cursor)
// in four ways, picked by the first byte:
//   0  an arbitrary token string;
//   1  an arbitrary payload signed with the fuzzer's key (reaches the cursor
//      parser, which forged tokens never do);
//   2  a cursor built from the input, encoded and decoded back;
//   3  a valid token changed at positions taken from the input, or decoded
//      with another key.
// Invariants: an accepted token is for the asked user and re-encodes to the
// same bytes; anything else is INVALID_ARGUMENT with reason
// INVALID_PAGE_TOKEN and does not quote the token; a changed token, a token
// for another user or another key's token is refused.
#include <fuzzer/FuzzedDataProvider.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/leaf/leaf_endpoints.h"
#include "server/operations/event_pages.h"
#include "tests/fuzz/fuzz_util.h"

namespace leafsvc::fuzz {
namespace {

// The key the seed tokens in corpus/page_token_fuzzer were made with.
constexpr char kKey[] = "fuzz-page-token-key";
constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kOtherUser[] = "00000000-5717-4562-b3fc-2c963f66afa6";
constexpr size_t kMaxTokenBytes = 1024;  // Decode refuses longer tokens

const PageTokenCodec& Codec() {
  static const PageTokenCodec* codec = new PageTokenCodec(kKey);
  return *codec;
}

std::string SignedToken(absl::string_view payload) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kKey, sizeof kKey - 1, reinterpret_cast<const unsigned char*>(payload.data()),
       payload.size(), mac, &len);
  std::string token;
  absl::WebSafeBase64Escape(
      absl::StrCat(absl::string_view(reinterpret_cast<char*>(mac), 16), payload), &token);
  return token;
}

std::string Raw(absl::string_view token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return "\x01<not base64>";
  return raw;
}

bool Same(const PageCursor& a, const PageCursor& b) {
  return a.leaf_user_id == b.leaf_user_id && a.create_time == b.create_time &&
         a.event_id == b.event_id;
}

std::string Show(const PageCursor& c) {
  return absl::StrCat("{", Printable(c.leaf_user_id), ", ", absl::ToUnixMicros(c.create_time), ", ",
                      Printable(c.event_id), "}");
}

void CheckRefusal(const absl::Status& status, absl::string_view token) {
  const std::string text = StatusText(status);
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, text);
  FUZZ_CHECK(GetStatusDetails(status).reason == "INVALID_PAGE_TOKEN", text);
  FUZZ_CHECK(status.message().size() <= 200, Printable(text));
  // The refusal texts have no digits: a token with one that shows up was quoted.
  std::string values(status.message());
  status.ForEachPayload([&](absl::string_view, const absl::Cord& payload) {
    absl::StrAppend(&values, "\n", std::string(payload));
  });
  const bool has_digit = token.find_first_of("0123456789") != absl::string_view::npos;
  FUZZ_CHECK(token.size() < 8 || !has_digit || !absl::StrContains(values, token),
             absl::StrCat("error quotes the token: ", Printable(text)));
}

// An accepted token: for `user`, and its cursor encodes back to the same bytes.
void CheckAccepted(const PageCursor& c, absl::string_view token, absl::string_view user) {
  FUZZ_CHECK(c.leaf_user_id == user,
             absl::StrCat("token for ", Printable(c.leaf_user_id), " accepted for ", user));
  const std::string again = Codec().Encode(c).value();
  absl::StatusOr<PageCursor> back = Codec().Decode(again, user);
  FUZZ_CHECK(back.ok() && Same(*back, c),
             absl::StrCat("re-encoded cursor ", Show(c), " did not decode to itself"));
  FUZZ_CHECK(
      Raw(again) == Raw(token),
      absl::StrCat("cursor ", Show(c), " re-encodes to other bytes than ", Printable(token)));
}

void Decode(absl::string_view token, absl::string_view user) {
  absl::StatusOr<PageCursor> c = Codec().Decode(token, user);
  if (c.ok()) {
    CheckAccepted(*c, token, user);
  } else {
    CheckRefusal(c.status(), token);
  }
}

PageCursor CursorFrom(FuzzedDataProvider& in) {
  PageCursor c;
  c.leaf_user_id = in.ConsumeBool() ? kUser : in.ConsumeRandomLengthString(48);
  c.create_time = absl::FromUnixMicros(in.ConsumeIntegral<int64_t>());
  c.event_id = in.ConsumeRandomLengthString(64);
  return c;
}

void Run(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegral<uint8_t>() % 4) {
    case 0: {
      const std::string token = in.ConsumeRemainingBytesAsString();
      Decode(token, kUser);
      break;
    }
    case 1: {
      const std::string payload = in.ConsumeRemainingBytesAsString();
      const std::string token = SignedToken(payload);
      absl::StatusOr<PageCursor> c = Codec().Decode(token, kUser);
      if (!c.ok()) return CheckRefusal(c.status(), token);
      FUZZ_CHECK(absl::StartsWith(payload, absl::StrCat("v1|", kUser, "|")), Printable(payload));
      FUZZ_CHECK(c->leaf_user_id == kUser, Show(*c));
      const std::string again = Codec().Encode(*c).value();
      absl::StatusOr<PageCursor> back = Codec().Decode(again, kUser);
      FUZZ_CHECK(back.ok() && Same(*back, *c), Show(*c));
      FUZZ_CHECK(!Codec().Decode(token, kOtherUser).ok(), "accepted for another user");
      break;
    }
    case 2: {
      const PageCursor c = CursorFrom(in);
      const std::string token = Codec().Encode(c).value();
      FUZZ_CHECK(!token.empty() &&
                     token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789-_") == std::string::npos,
                 absl::StrCat("token is not base64url: ", Printable(token)));
      absl::StatusOr<PageCursor> back = Codec().Decode(token, c.leaf_user_id);
      if (IsLeafUserId(c.leaf_user_id) && token.size() <= kMaxTokenBytes) {
        FUZZ_CHECK(back.ok() && Same(*back, c),
                   absl::StrCat(Show(c), " -> ", Printable(token), " -> ",
                                back.ok() ? Show(*back) : back.status().ToString()));
        CheckAccepted(*back, token, c.leaf_user_id);
      } else if (back.ok()) {
        CheckAccepted(*back, token, c.leaf_user_id);
      }
      if (IsLeafUserId(c.leaf_user_id) && c.leaf_user_id != kOtherUser) {
        absl::StatusOr<PageCursor> other = Codec().Decode(token, kOtherUser);
        FUZZ_CHECK(!other.ok(), absl::StrCat(Show(c), " accepted for another user"));
        CheckRefusal(other.status(), token);
      }
      break;
    }
    case 3: {
      const PageCursor c = CursorFrom(in);
      const std::string token = Codec().Encode(c).value();
      if (in.ConsumeBool()) {
        absl::StatusOr<PageCursor> other_key =
            PageTokenCodec(in.ConsumeRandomLengthString(32) + "x").Decode(token, c.leaf_user_id);
        FUZZ_CHECK(!other_key.ok(), absl::StrCat(Show(c), " accepted with another key"));
        CheckRefusal(other_key.status(), token);
        break;
      }
      std::string changed = token;
      const int edits = in.ConsumeIntegralInRange<int>(1, 4);
      for (int i = 0; i < edits && !changed.empty(); ++i) {
        const size_t pos = in.ConsumeIntegralInRange<size_t>(0, changed.size() - 1);
        switch (in.ConsumeIntegralInRange<int>(0, 2)) {
          case 0:
            changed[pos] = static_cast<char>(in.ConsumeIntegral<uint8_t>());
            break;
          case 1:
            changed.erase(pos, 1);
            break;
          default:
            changed.insert(pos, 1, static_cast<char>(in.ConsumeIntegral<uint8_t>()));
        }
      }
      absl::StatusOr<PageCursor> back = Codec().Decode(changed, c.leaf_user_id);
      if (Raw(changed) != Raw(token)) {
        FUZZ_CHECK(!back.ok(), absl::StrCat("changed token ", Printable(changed), " accepted as ",
                                            Show(*back)));
        CheckRefusal(back.status(), changed);
      } else if (back.ok()) {
        CheckAccepted(*back, changed, c.leaf_user_id);
      }
      break;
    }
  }
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(data, size);
  return 0;
}
