// The messages of one unary call that the service receives as raw bytes.
//
// gRPC 1.51's callback API answers a request it cannot parse (truncated
// bytes, invalid UTF-8 in a proto3 string) with UNIMPLEMENTED and an empty
// message, before any handler runs, so no log line, metric or ErrorInfo is
// possible. The service's methods are therefore registered raw: gRPC hands
// over the bytes, RawUnary parses them (strictly, as gRPC would have) and a
// failure becomes INVALID_ARGUMENT MALFORMED_REQUEST through the same exit as
// every other error. The response is serialized into gRPC's buffer just
// before the call finishes with OK.
#ifndef SERVER_EDGE_RAW_UNARY_H_
#define SERVER_EDGE_RAW_UNARY_H_

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc {

// Parses `in` into `request` strictly, as gRPC would have; an error says
// why, for the caller (INVALID_ARGUMENT, MALFORMED_REQUEST).
template <typename Request>
absl::Status ParseRawRequest(const grpc::ByteBuffer* in, Request* request) {
  bool ok = in != nullptr;
  if (ok) {
    grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(in));
    ok = request->ParseFromZeroCopyStream(&reader) && reader.status().ok();
  }
  if (ok) return absl::OkStatus();
  return MakeError(
      reasons::kMalformedRequest,
      absl::StrCat("the request could not be parsed as a ", Request::descriptor()->full_name(),
                   " (truncated or invalid protobuf bytes, or a string field that is not valid "
                   "UTF-8); send a well-formed message"));
}

// What a reactor keeps of a raw call until it ends.
class RawResponse {
 public:
  virtual ~RawResponse() = default;
  // Serializes the response message into the buffer gRPC sends.
  virtual void Write() = 0;
};

template <typename Request, typename Response>
class RawUnary final : public RawResponse {
 public:
  explicit RawUnary(grpc::ByteBuffer* out) : out_(out) {}

  absl::Status Parse(const grpc::ByteBuffer* in) { return ParseRawRequest(in, &request); }

  void Write() override {
    bool own_buffer = false;
    (void)grpc::GenericSerialize<grpc::ProtoBufferWriter, Response>(response, out_, &own_buffer);
  }

  Request request;
  Response response;

 private:
  grpc::ByteBuffer* const out_;
};

}  // namespace leafsvc

#endif  // SERVER_EDGE_RAW_UNARY_H_
