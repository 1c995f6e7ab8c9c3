#include "emulator/agleader_events.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "emulator/ids.h"
#include "emulator/json.h"

namespace leafemu {

StoredEvent MakeEvent(int status_code, std::string headers, std::string body) {
  StoredEvent e;
  e.id = NewUuidV4();
  e.created_date = NowTimestamp();
  e.status_code = status_code;
  e.headers = std::move(headers);
  e.body = std::move(body);
  return e;
}

StoredEvent OkEvent() {
  return MakeEvent(200, "Content-Type: application/json",
                   absl::StrCat("{\"access_token\":\"", HexEncode(RandomBytes(16)),
                                "\",\"token_type\":\"bearer\",\"expires_in\":3600}"));
}

StoredEvent UnauthenticatedEvent() {
  return MakeEvent(401, "Content-Type: application/json",
                   "{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"The refresh token is invalid or has been revoked\"}");
}

StoredEvent StatusChangeEvent(const std::string& status) {
  if (status == "OK") return OkEvent();
  if (status == "UNAUTHENTICATED") return UnauthenticatedEvent();
  int code = status == "MISSING_PERMISSION" ? 403 : status == "TEMPORARILY_UNAVAILABLE" ? 503 : 400;
  return MakeEvent(code, "Content-Type: application/json",
                   absl::StrCat("{\"error\":", JsonQuote(status), "}"));
}

}  // namespace leafemu
