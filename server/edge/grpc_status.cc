#include "server/edge/grpc_status.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc {

grpc::Status ToGrpcStatus(const absl::Status& raw, const Redactor& redactor) {
  if (raw.ok()) return grpc::Status::OK;
  const absl::Status status = ExitStatus(raw, redactor);
  StatusDetails details = GetStatusDetails(status);

  google::rpc::Status proto;
  proto.set_code(static_cast<int>(status.code()));
  proto.set_message(std::string(status.message()));

  google::rpc::ErrorInfo info;
  // A status without a reason still gets one: the code's name.
  info.set_reason(details.reason.empty()
                      ? absl::AsciiStrToUpper(absl::StatusCodeToString(status.code()))
                      : details.reason);
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [key, value] : details.metadata) {
    (*info.mutable_metadata())[key] = value;
  }
  proto.add_details()->PackFrom(info);

  if (!details.field_violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (const FieldViolation& v : details.field_violations) {
      auto* fv = bad_request.add_field_violations();
      fv->set_field(v.field);
      fv->set_description(v.description);
    }
    proto.add_details()->PackFrom(bad_request);
  }
  if (details.retry_delay.has_value()) {
    google::rpc::RetryInfo retry;
    int64_t ms = absl::ToInt64Milliseconds(*details.retry_delay);
    retry.mutable_retry_delay()->set_seconds(ms / 1000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
    proto.add_details()->PackFrom(retry);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      proto.SerializeAsString());
}

}  // namespace leafsvc
