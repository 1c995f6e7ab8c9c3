#include "emulator/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "emulator/json.h"

namespace leafemu {

std::string Base64UrlEncode(absl::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    uint32_t v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(absl::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string HmacSha512(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string MintJwt(absl::string_view key, absl::string_view subject, absl::Time now,
                    absl::Duration lifetime) {
  absl::Time exp_time = now + lifetime;
  int64_t exp = absl::ToUnixSeconds(exp_time);  // floors
  if (lifetime > absl::ZeroDuration() && absl::FromUnixSeconds(exp) < exp_time) ++exp;
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "sub");
  WriteString(w, subject);
  WriteKey(w, "auth");
  WriteString(w, "ROLE_USER");
  WriteKey(w, "exp");
  w.Int64(exp);
  w.EndObject();
  std::string signing_input = absl::StrCat(Base64UrlEncode(R"({"alg":"HS512","typ":"JWT"})"), ".",
                                           Base64UrlEncode(buf.GetString()));
  return absl::StrCat(signing_input, ".", Base64UrlEncode(HmacSha512(key, signing_input)));
}

absl::Status VerifyJwt(absl::string_view key, absl::string_view token, absl::Time now) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
    return absl::UnauthenticatedError("Malformed bearer token: not a JWT");
  }
  auto header_json = Base64UrlDecode(parts[0]);
  auto payload_json = Base64UrlDecode(parts[1]);
  auto signature = Base64UrlDecode(parts[2]);
  if (!header_json || !payload_json || !signature) {
    return absl::UnauthenticatedError("Malformed bearer token: bad base64url");
  }
  rapidjson::Document hdr, payload;
  if (!ParseObject(*header_json, hdr) || !ParseObject(*payload_json, payload)) {
    return absl::UnauthenticatedError("Malformed bearer token: bad JSON");
  }
  if (StringMember(hdr, "alg").value_or("") != "HS512") {
    return absl::UnauthenticatedError("Malformed bearer token: unsupported algorithm");
  }
  std::string expected = HmacSha512(key, token.substr(0, parts[0].size() + 1 + parts[1].size()));
  if (expected.size() != signature->size() ||
      CRYPTO_memcmp(expected.data(), signature->data(), expected.size()) != 0) {
    return absl::UnauthenticatedError(
        "Invalid bearer token: bad signature (revoked or not issued by this server)");
  }
  auto exp = IntMember(payload, "exp");
  if (!exp) return absl::UnauthenticatedError("Malformed bearer token: no exp claim");
  if (now >= absl::FromUnixSeconds(*exp)) {
    return absl::UnauthenticatedError("Expired bearer token: the JWT has expired");
  }
  return absl::OkStatus();
}

}  // namespace leafemu
