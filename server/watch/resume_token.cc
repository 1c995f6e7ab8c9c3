#include "server/watch/resume_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace leafsvc::watch {
namespace {

constexpr absl::string_view kVersion = "v1|";
constexpr absl::string_view kPartial = "|p";

}  // namespace

std::string EncodeResumeToken(const ResumePoint& point) {
  return absl::WebSafeBase64Escape(absl::StrCat(
      kVersion, point.log_id, "|", point.position.ToString(), point.partial ? kPartial : ""));
}

std::optional<ResumePoint> DecodeResumeToken(absl::string_view token) {
  if (token.empty() || token.size() > kMaxResumeTokenSize) return std::nullopt;
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text)) return std::nullopt;
  absl::string_view rest = text;
  if (!absl::ConsumePrefix(&rest, kVersion)) return std::nullopt;
  const size_t bar = rest.find('|');
  if (bar == absl::string_view::npos || bar == 0) return std::nullopt;
  ResumePoint point;
  point.log_id = std::string(rest.substr(0, bar));
  for (char c : point.log_id) {
    // What a log id is made of (see HubOptions::log_id): printable ASCII.
    if (c < 0x21 || c > 0x7e) return std::nullopt;
  }
  rest.remove_prefix(bar + 1);
  point.partial = absl::ConsumeSuffix(&rest, kPartial);
  std::optional<ChangePosition> position = ChangePosition::Parse(rest);
  if (!position) return std::nullopt;
  point.position = *position;
  return point;
}

}  // namespace leafsvc::watch
