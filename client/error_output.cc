#include "client/error_output.h"

#include <cstdlib>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/text_output.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leafsvc::client {
namespace {

std::string FormatRetryDelay(const google::protobuf::Duration& delay) {
  if (delay.nanos() == 0) return absl::StrCat(delay.seconds(), "s");
  std::string text = absl::StrFormat("%d.%09d", delay.seconds(), std::abs(delay.nanos()));
  while (absl::EndsWith(text, "0")) text.pop_back();
  return absl::StrCat(text, "s");
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      break;
  }
  return absl::StrCat("CODE_", static_cast<int>(code));
}

std::string FormatError(const grpc::Status& status) {
  std::string message =
      status.error_message().empty() ? "(no message)" : Printable(status.error_message());
  std::string out = absl::StrFormat("error: %s (%d): %s\n", StatusCodeName(status.error_code()),
                                    static_cast<int>(status.error_code()), message);
  if (status.error_details().empty()) return out;

  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) {
    absl::StrAppend(&out, "details: (unreadable)\n");
    return out;
  }
  std::string reasons, violations, retry;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    google::rpc::RetryInfo retry_info;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      absl::StrAppend(&reasons, "reason: ", Printable(info.reason()), "\n");
      if (!info.metadata().empty()) {
        std::map<std::string, std::string> sorted(info.metadata().begin(), info.metadata().end());
        std::vector<std::string> pairs;
        for (const auto& [key, value] : sorted) {
          pairs.push_back(absl::StrCat(Printable(key), "=", Printable(value)));
        }
        absl::StrAppend(&reasons, "metadata: ", absl::StrJoin(pairs, ", "), "\n");
      }
    } else if (any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        absl::StrAppend(&violations, "  field ", Printable(v.field()), ": ",
                        Printable(v.description()), "\n");
      }
    } else if (any.Is<google::rpc::RetryInfo>() && any.UnpackTo(&retry_info)) {
      absl::StrAppend(&retry, "retry after: ", FormatRetryDelay(retry_info.retry_delay()), "\n");
    }
  }
  absl::StrAppend(&out, reasons, violations, retry);
  return out;
}

std::string FormatHint(const grpc::Status& status, const ClientOptions& options) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && options.tls.enabled) {
    return "hint: over TLS this is often a failed handshake: --ca_file must "
           "hold the CA that signed\n"
           "  the server's certificate, which must name the host of --server "
           "(or --server_name);\n"
           "  a server that requires client certificates also needs "
           "--cert_file and --key_file\n";
  }
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED && status.error_details().empty()) {
    if (options.api_key.empty()) {
      return "hint: give the API key with --api_key_file PATH, --api_key or "
             "AGLEADER_CLIENT_API_KEY\n";
    }
    return "hint: the server refused the API key given (--api_key, "
           "--api_key_file or AGLEADER_CLIENT_API_KEY)\n";
  }
  return "";
}

}  // namespace leafsvc::client
