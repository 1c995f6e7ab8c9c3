#include "server/http/http_client.h"

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "server/secrets/secret.h"

namespace leafsvc::http {

absl::string_view HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

void WipeRequest(HttpRequest& request) {
  WipeString(request.url);
  for (auto& [name, value] : request.headers) {
    WipeString(name);
    WipeString(value);
  }
  request.headers.clear();
  WipeString(request.body);
}

bool MaybeSent(const absl::Status& status) {
  if (status.ok()) return false;
  auto payload = status.GetPayload(kMaybeSentPayload);
  return payload.has_value() && *payload == "true";
}

}  // namespace leafsvc::http
