// agleader_client's --json output: proto3 JSON like grpcurl prints it.
#ifndef CLIENT_JSON_OUTPUT_H_
#define CLIENT_JSON_OUTPUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace leafsvc::client {

// The message as JSON with lowerCamelCase field names (like grpcurl),
// indented, with a trailing newline.
absl::StatusOr<std::string> FormatJson(const google::protobuf::Message& message);

}  // namespace leafsvc::client

#endif  // CLIENT_JSON_OUTPUT_H_
