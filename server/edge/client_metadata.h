// The caller's metadata of one call, whichever gRPC API serves it: the
// callback API's CallbackServerContext (the unary methods) or a core
// grpc_metadata_array (WatchCredentials, server/edge/core_streaming_method.h). The
// call record and admission read the request id, the caller's Leaf token and
// the authorization values through it.
#ifndef SERVER_EDGE_CLIENT_METADATA_H_
#define SERVER_EDGE_CLIENT_METADATA_H_

#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>

#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace leafsvc {

class ClientMetadata {
 public:
  virtual ~ClientMetadata() = default;
  // Calls `f` with each value of `key` (lowercase), in the order sent.
  virtual void ForEach(absl::string_view key,
                       absl::FunctionRef<void(absl::string_view)> f) const = 0;
  // The first value of `key`, if any.
  std::optional<absl::string_view> First(absl::string_view key) const;
};

class CallbackClientMetadata final : public ClientMetadata {
 public:
  explicit CallbackClientMetadata(const grpc::CallbackServerContext& context) : context_(context) {}
  void ForEach(absl::string_view key, absl::FunctionRef<void(absl::string_view)> f) const override;

 private:
  const grpc::CallbackServerContext& context_;
};

class CoreClientMetadata final : public ClientMetadata {
 public:
  explicit CoreClientMetadata(const grpc_metadata_array& array) : array_(array) {}
  void ForEach(absl::string_view key, absl::FunctionRef<void(absl::string_view)> f) const override;

 private:
  const grpc_metadata_array& array_;
};

}  // namespace leafsvc

#endif  // SERVER_EDGE_CLIENT_METADATA_H_
