#include "server/edge/service.h"

#include <utility>

#include "server/edge/method_table.h"

namespace leafsvc {
namespace {

MethodEnv EnvFor(leaf::LeafClient* leaf, const ServiceOptions& options,
                 const PageTokenCodec* page_tokens) {
  MethodEnv env;
  env.leaf = leaf;
  env.options = options.methods;
  env.validation.allow_full_view = options.allow_full_view;
  env.page_tokens = page_tokens;
  env.budget = options.budget;
  env.connect = options.connect;
  return env;
}

}  // namespace

AgLeaderCredentialsService::AgLeaderCredentialsService(leaf::LeafClient* leaf,
                                                       ServiceOptions options, Metrics* metrics)
    : metrics_(metrics),
      page_tokens_(options.page_token_key),
      pipeline_(EnvFor(leaf, options, &page_tokens_), options.allow_caller_leaf_token, metrics) {}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::GetCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::GetCredentials(), context, request, response);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::CreateCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::CreateCredentials(), context, request, response);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::DeleteCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::DeleteCredentials(), context, request, response);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::ListCredentialEvents(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::ListCredentialEvents(), context, request, response);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::ListCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::ListCredentials(), context, request, response);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::BatchGetCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::BatchGetCredentials(), context, request, response);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::CreateConnectLink(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::CreateConnectLink(), context, request, response);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::GetConnectLink(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return pipeline_.Run(methods::GetConnectLink(), context, request, response);
}

}  // namespace leafsvc
