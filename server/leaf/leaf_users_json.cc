#include "server/leaf/leaf_users_json.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/json/untrusted_json.h"
#include "server/leaf/leaf_json.h"
#include "server/text/utf8.h"

namespace leafsvc::leaf {
namespace {

using rapidjson::Document;
using rapidjson::Value;

constexpr absl::string_view kWhat = "Leaf's users response";

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kWhat, ": ", why));
}

// The embedded credentials go through DecodeCredentials so that a listed
// credential obeys exactly the rules of GET .../{provider}-credentials; the
// object is re-serialized for it (a few hundred bytes per user).
absl::StatusOr<std::optional<ProviderCredentials>> DecodeEmbedded(
    const Value& v, size_t index, const providers::ProviderSpec& provider) {
  const std::string& member = provider.user_member;
  const Value* obj = &v;
  if (v.IsNull()) return std::nullopt;
  if (v.IsArray()) {
    if (v.Empty()) return std::nullopt;
    if (v.Size() > 1) {
      return Malformed(
          absl::StrCat("element ", index, ": more than one ", member, " (Leaf holds one)"));
    }
    obj = &v[0];
  }
  if (!obj->IsObject()) {
    return Malformed(absl::StrCat("element ", index, ": ", member, " is not an object"));
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  obj->Accept(writer);
  absl::StatusOr<ProviderCredentials> c =
      DecodeCredentials(absl::string_view(buffer.GetString(), buffer.GetSize()), provider);
  if (!c.ok()) {
    return Malformed(absl::StrCat("element ", index, ": ", c.status().message()));
  }
  return *std::move(c);
}

absl::StatusOr<LeafUser> DecodeUser(const Value& v, size_t index,
                                    const providers::ProviderSpec& provider) {
  if (!v.IsObject()) return Malformed(absl::StrCat("element ", index, " is not a JSON object"));
  LeafUser user;
  auto id = v.FindMember("id");
  if (id == v.MemberEnd() || !id->value.IsString() || id->value.GetStringLength() == 0) {
    return Malformed(absl::StrCat("element ", index, ": field \"id\" is missing or not a string"));
  }
  user.id = ValidUtf8(absl::string_view(id->value.GetString(), id->value.GetStringLength()));
  auto creds = v.FindMember(provider.user_member.c_str());
  if (creds != v.MemberEnd()) {
    absl::StatusOr<std::optional<ProviderCredentials>> c =
        DecodeEmbedded(creds->value, index, provider);
    if (!c.ok()) return c.status();
    user.credentials = *std::move(c);
    user.credentials_null = !user.credentials.has_value();
  }
  return user;
}

}  // namespace

absl::StatusOr<std::vector<LeafUser>> DecodeUsers(absl::string_view json,
                                                  const providers::ProviderSpec& provider) {
  Document doc;
  // From outside: no RapidJSON number arithmetic, nesting capped, UTF-8.
  if (absl::Status st = json::ParseUntrusted(json, doc); !st.ok()) return Malformed(st.message());
  const Value* array = &doc;
  if (doc.IsObject()) {
    auto content = doc.FindMember("content");
    if (content != doc.MemberEnd()) array = &content->value;
  }
  if (!array->IsArray()) return Malformed("not a JSON array");
  std::vector<LeafUser> users;
  users.reserve(array->Size());
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    absl::StatusOr<LeafUser> user = DecodeUser((*array)[i], i, provider);
    if (!user.ok()) return user.status();
    users.push_back(*std::move(user));
  }
  return users;
}

std::optional<long long> ParseTotalCount(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  for (char c : value) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  long long n = 0;
  if (!absl::SimpleAtoi(value, &n)) return std::nullopt;
  return n;
}

}  // namespace leafsvc::leaf
