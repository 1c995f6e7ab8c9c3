#include "server/http/http_client.h"

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace leafsvc::http {

absl::string_view HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

bool MaybeSent(const absl::Status& status) {
  if (status.ok()) return false;
  auto payload = status.GetPayload(kMaybeSentPayload);
  return payload.has_value() && *payload == "true";
}

}  // namespace leafsvc::http
