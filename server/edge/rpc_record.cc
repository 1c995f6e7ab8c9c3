#include "server/edge/rpc_record.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/edge/grpc_status.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/observability/log.h"
#include "server/secrets/redact.h"

namespace leafsvc {
namespace {

constexpr size_t kMaxRequestIdBytes = 128;

bool AcceptableRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (unsigned char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

LogLevel LevelFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return LogLevel::kError;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:
      return LogLevel::kWarning;
    default:
      return LogLevel::kInfo;
  }
}

// A stream's end: the caller leaving, or this server draining, is routine.
LogLevel StreamLevelFor(absl::StatusCode code) {
  return code == absl::StatusCode::kCancelled || code == absl::StatusCode::kOk ||
                 code == absl::StatusCode::kUnavailable
             ? LogLevel::kInfo
             : LogLevel::kWarning;
}

}  // namespace

std::string RequestIdFrom(const ClientMetadata& metadata) {
  std::optional<absl::string_view> id = metadata.First(kRequestIdKey);
  if (id && AcceptableRequestId(*id)) return std::string(*id);
  // An id only has to be unique, not unguessable: a per-thread generator
  // (seeded from the OS once) instead of OpenSSL's locked DRBG per call.
  thread_local absl::BitGen gen;
  const std::uint64_t words[2] = {absl::Uniform<std::uint64_t>(gen),
                                  absl::Uniform<std::uint64_t>(gen)};
  char bytes[sizeof words];
  std::memcpy(bytes, words, sizeof words);
  return absl::BytesToHexString(absl::string_view(bytes, sizeof bytes));
}

RpcRecord::RpcRecord(grpc::CallbackServerContext* context, absl::string_view method,
                     absl::string_view leaf_user_id, Metrics* metrics, RpcKind kind)
    : RpcRecord(
          CallbackClientMetadata(*context),
          [context](const std::string& key, const std::string& value) {
            context->AddTrailingMetadata(key, value);
          },
          method, leaf_user_id, metrics, kind) {}

RpcRecord::RpcRecord(const ClientMetadata& metadata, AddTrailer add_trailer,
                     absl::string_view method, absl::string_view leaf_user_id, Metrics* metrics,
                     RpcKind kind)
    : add_trailer_(std::move(add_trailer)),
      method_(method),
      kind_(kind),
      leaf_user_id_(leaf_user_id),
      metrics_(metrics),
      start_(absl::Now()),
      request_id_(RequestIdFrom(metadata)),
      request_id_from_caller_(metadata.First(kRequestIdKey).has_value()) {
  if (metrics_ != nullptr) {
    metrics_->RpcStarted(method_);
    if (kind_ == RpcKind::kUnary) metrics_->CallsInFlight(1);
  }
  for (const char* key : {"x-leaf-token", "authorization"}) {
    metadata.ForEach(key, [this](absl::string_view value) {
      AddCallSecret(value);
      if (absl::ConsumePrefix(&value, "Bearer ")) AddCallSecret(value);
    });
  }
}

void RpcRecord::AddCallSecret(absl::string_view secret) {
  if (secret.size() >= kMinSecretBytes) call_secrets_.emplace_back(std::string(secret));
}

grpc::Status RpcRecord::End(const absl::Status& status) { return Finish(status, nullptr); }

grpc::Status RpcRecord::EndStream(const absl::Status& status, int users, int changes_sent) {
  const StreamSummary stream{users, changes_sent};
  return Finish(status, &stream);
}

grpc::Status RpcRecord::Finish(const absl::Status& status, const StreamSummary* stream) {
  const absl::Duration latency = absl::Now() - start_;
  absl::Status annotated = status;
  SetStatusMetadata(annotated, "request_id", request_id_);
  // Only a well-formed id is worth repeating; anything else may be garbage.
  if (IsLeafUserId(leaf_user_id_)) {
    SetStatusMetadata(annotated, "leaf_user_id", leaf_user_id_);
  }
  add_trailer_(kRequestIdKey, request_id_);

  std::vector<absl::string_view> secrets;
  secrets.reserve(call_secrets_.size());
  for (const Secret& s : call_secrets_) secrets.push_back(s.Reveal());
  const Redactor redactor(secrets);
  // The one exit: redacted (call and process secrets) and shortened here.
  grpc::Status exit = ToGrpcStatus(annotated, redactor);

  const StatusDetails details = GetStatusDetails(annotated);
  if (!status.ok() && stats_.attempts > 0 && details.reason != "SHUTTING_DOWN") {
    // Leaf was asked, under this server's own retry policy: a client
    // retrying on top (the shipped service config retries UNAVAILABLE)
    // would multiply the requests Leaf sees. A negative pushback tells
    // gRPC clients not to retry this call.
    add_trailer_(kRetryPushbackKey, "-1");
  }
  if (metrics_ != nullptr) {
    if (kind_ == RpcKind::kUnary) metrics_->CallsInFlight(-1);
    metrics_->RpcHandled(method_, status.code(), latency);
    if (stream == nullptr && !status.ok() && stats_.attempts == 0 && !details.reason.empty() &&
        details.reason != "LEAF_LOGIN_FAILED" && details.reason != "CANCELLED" &&
        details.reason != "LEAF_UNREACHABLE" && details.reason != "LEAF_TIMEOUT") {
      metrics_->CallRejected(details.reason);
    }
  }
  const LogLevel level =
      stream == nullptr ? LevelFor(status.code()) : StreamLevelFor(status.code());
  if (stream != nullptr && LogEnabled(level)) {
    const std::string request_id =
        request_id_from_caller_ ? redactor.Redact(request_id_) : request_id_;
    Log(level, "watch stream ended",
        {{"method", LogValue::Redacted(method_)},
         {"code", LogValue::Redacted(absl::StatusCodeToString(status.code()))},
         {"request_id", LogValue::Redacted(request_id)},
         {"users", stream->users},
         {"changes_sent", stream->changes_sent},
         {"duration_ms", absl::ToDoubleMilliseconds(latency)},
         {"reason", LogValue::Redacted(details.reason)},
         {"error", LogValue::Redacted(exit.error_message())}});
  } else if (LogEnabled(level)) {
    const std::string code = absl::StatusCodeToString(status.code());
    const std::string leaf_user = IsLeafUserId(leaf_user_id_) ? leaf_user_id_ : "";
    const std::string& message = exit.error_message();
    // A request id we generated is hex; one a caller sent could be anything.
    const std::string request_id =
        request_id_from_caller_ ? redactor.Redact(request_id_) : request_id_;
    // Every string below is a constant, a validated id, or text that just
    // went through `redactor` (the exit status): no second redaction pass.
    Log(level, "rpc",
        {{"method", LogValue::Redacted(method_)},
         {"code", LogValue::Redacted(code)},
         {"latency_ms", absl::ToDoubleMilliseconds(latency)},
         {"leaf_status", stats_.last_http_status},
         {"attempts", stats_.attempts},
         {"request_id", LogValue::Redacted(request_id)},
         {"leaf_user_id", LogValue::Redacted(leaf_user)},
         {"reason", LogValue::Redacted(details.reason)},
         {"error", LogValue::Redacted(message)}});
  }
  return exit;
}

}  // namespace leafsvc
