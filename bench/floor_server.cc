// floor_server: the cost of gRPC alone. A gRPC C++ callback server that
// answers every GetCredentials at once with one fixed Credentials (the
// translation of the fast upstream's body), without any HTTP behind it. The
// benchmark adds the direct libcurl client's CPU per request (the cost of
// HTTP alone) to its CPU per request to get the floor a proxy cannot go
// below. WatchCredentials sends one CHANGE_KIND_INITIAL change for the first
// user asked for and holds the stream open until the caller cancels it: the
// memory gRPC alone keeps per idle stream, the floor of the idle watchers'
// RSS per stream.
//   floor_server [--listen=127.0.0.1:0]
// Prints "floor_server listening on HOST:PORT" on stdout; runs until SIGTERM.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <string>

#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/platform/stop_signals.h"

namespace {

namespace v1 = ::leaf::agleader::v1;

// One idle stream: its first change, then nothing until the caller leaves.
class IdleWatch final : public grpc::ServerWriteReactor<v1::CredentialsChange> {
 public:
  IdleWatch(const v1::Credentials& answer, const v1::WatchCredentialsRequest& request) {
    const std::string user = request.leaf_user_ids().empty() ? "" : request.leaf_user_ids(0);
    change_.set_leaf_user_id(user);
    change_.set_kind(v1::CHANGE_KIND_INITIAL);
    *change_.mutable_current() = answer;
    change_.mutable_current()->set_leaf_user_id(user);
    change_.mutable_current()->set_name("users/" + user + "/agLeaderCredentials");
    change_.mutable_observe_time()->set_seconds(1682079387);
    change_.set_source(v1::CHANGE_SOURCE_INITIAL);
    change_.set_resume_token("floor-resume-token-0000000000000000000000000000000000000000");
    StartWrite(&change_);
  }
  void OnWriteDone(bool /*ok*/) override {
    // gRPC is done with the message: keep no copy, as the service does not.
    v1::CredentialsChange().Swap(&change_);
  }
  void OnCancel() override { Finish(grpc::Status::CANCELLED); }
  void OnDone() override { delete this; }

 private:
  v1::CredentialsChange change_;
};

class FloorService final : public v1::AgLeaderCredentials::CallbackService {
 public:
  FloorService() {
    // What the service answers for the fast upstream's credentials body.
    answer_.set_name("users/3fa85f64-5717-4562-b3fc-2c963f66afa6/agLeaderCredentials");
    answer_.set_id("765f6f20-6917-4aed-a072-17bf3bcc3835");
    answer_.set_leaf_user_id("3fa85f64-5717-4562-b3fc-2c963f66afa6");
    answer_.set_status(v1::CREDENTIAL_STATUS_OK);
    answer_.set_leaf_status("OK");
    answer_.mutable_create_time()->set_seconds(1682079387);
    answer_.mutable_create_time()->set_nanos(997586000);
    answer_.set_public_key("bench-public-key-8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f");
    answer_.set_refresh_token_hint("****0001");
    answer_.set_private_key_hint("****0002");
  }

  grpc::ServerUnaryReactor* GetCredentials(grpc::CallbackServerContext* context,
                                           const v1::GetCredentialsRequest* /*request*/,
                                           v1::Credentials* response) override {
    *response = answer_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<v1::CredentialsChange>* WatchCredentials(
      grpc::CallbackServerContext* /*context*/,
      const v1::WatchCredentialsRequest* request) override {
    return new IdleWatch(answer_, *request);
  }

 private:
  v1::Credentials answer_;
};

}  // namespace

int main(int argc, char** argv) {
  const leafsvc::StopSignals stop_signals = leafsvc::StopSignals::Block();
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--listen=", 0) == 0) {
      listen = arg.substr(9);
    } else {
      std::fprintf(stderr, "usage: floor_server [--listen=127.0.0.1:0]\n");
      return 2;
    }
  }

  FloorService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "floor_server: could not listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("floor_server listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  stop_signals.Wait();
  server->Shutdown();
  return 0;
}
