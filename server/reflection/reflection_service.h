// grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection
// (what grpcurl, buf curl and Postman ask) answered from a DescriptorSet, on
// gRPC's callback API. Each ServerReflectionInfo stream answers its requests
// one at a time, in order; a request never blocks a thread.
#ifndef SERVER_REFLECTION_REFLECTION_SERVICE_H_
#define SERVER_REFLECTION_REFLECTION_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <set>
#include <string>

#include "server/reflection/descriptor_set.h"
#include "third_party/grpc_proto/grpc/reflection/v1/reflection.grpc.pb.h"
#include "third_party/grpc_proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace leafsvc::reflection {

// The answer to one request of a stream. `sent` holds the files this stream
// already returned: a file's dependencies are sent once per stream (as
// grpc-go does), the requested file itself every time. Errors are
// error_response messages (NOT_FOUND for an unknown file, symbol, type or
// extension; UNIMPLEMENTED for an unknown request kind), never a failed stream.
void Answer(const DescriptorSet& set, const grpc::reflection::v1::ServerReflectionRequest& request,
            std::set<std::string>* sent, grpc::reflection::v1::ServerReflectionResponse* response);

namespace internal {

// One ServerReflectionInfo stream: read a request, write its answer, repeat
// until the client half-closes. Request and Response are those of v1 or
// v1alpha; the two versions' messages are identical on the wire, so v1alpha
// is answered through the v1 messages.
template <typename Request, typename Response>
class ReflectionReactor : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit ReflectionReactor(const DescriptorSet* set) : set_(set) { this->StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client is done asking
      this->Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    if constexpr (std::is_same_v<Request, grpc::reflection::v1::ServerReflectionRequest>) {
      Answer(*set_, request_, &sent_, &response_);
    } else {
      grpc::reflection::v1::ServerReflectionRequest request;
      grpc::reflection::v1::ServerReflectionResponse response;
      request.ParseFromString(request_.SerializeAsString());
      Answer(*set_, request, &sent_, &response);
      response_.ParseFromString(response.SerializeAsString());
    }
    this->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the stream broke; nobody reads this status
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "reflection stream closed"));
      return;
    }
    this->StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const DescriptorSet* set_;
  std::set<std::string> sent_;
  Request request_;
  Response response_;
};

template <typename Service, typename Request, typename Response>
class ReflectionService : public Service::CallbackService {
 public:
  // `set` must outlive the service.
  explicit ReflectionService(const DescriptorSet* set) : set_(set) {}

  grpc::ServerBidiReactor<Request, Response>* ServerReflectionInfo(
      grpc::CallbackServerContext* /*context*/) override {
    return new ReflectionReactor<Request, Response>(set_);
  }

 private:
  const DescriptorSet* set_;
};

}  // namespace internal

using ReflectionServiceV1 =
    internal::ReflectionService<grpc::reflection::v1::ServerReflection,
                                grpc::reflection::v1::ServerReflectionRequest,
                                grpc::reflection::v1::ServerReflectionResponse>;
using ReflectionServiceV1Alpha =
    internal::ReflectionService<grpc::reflection::v1alpha::ServerReflection,
                                grpc::reflection::v1alpha::ServerReflectionRequest,
                                grpc::reflection::v1alpha::ServerReflectionResponse>;

// Both versions over one descriptor set, for one server: gRPC services can
// be registered on a single server only. Must outlive that server.
class ServerReflection {
 public:
  // Answering from the set compiled into the binary.
  static absl::StatusOr<std::unique_ptr<ServerReflection>> FromEmbedded();

  // `set` must outlive this.
  explicit ServerReflection(const DescriptorSet* set) : v1_(set), v1alpha_(set) {}

  void RegisterOn(grpc::ServerBuilder* builder);

 private:
  ReflectionServiceV1 v1_;
  ReflectionServiceV1Alpha v1alpha_;
};

}  // namespace leafsvc::reflection

#endif  // SERVER_REFLECTION_REFLECTION_SERVICE_H_
