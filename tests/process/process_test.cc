// The shipped binaries end to end: the emulator binary, the server binary and
// the sample client, as separate processes talking over loopback; server
// reflection browsed and used the way grpcurl does; clean exit on SIGTERM.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <iterator>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/process/stack.h"
#include "tests/process/subprocess.h"
#include "third_party/grpc_proto/grpc/reflection/v1/reflection.grpc.pb.h"
#include "third_party/grpc_proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace leafsvc::testing {
namespace {

constexpr char kToken[] = "process-test-token";  // == kStackToken
constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kRefreshToken[] = "process-refresh-token-9876";
constexpr char kPrivateKey[] = "process-private-key-5432";

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::Start({"--log_level=debug"});
    ASSERT_NE(stack_, nullptr);
    server_ = &stack_->server();
    target_ = stack_->target();
  }

  CommandResult Client(std::vector<std::string> args, const std::string& stdin_data = "",
                       std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {RunfilePath("client/agleader_client"), "--server=" + target_});
    return RunCommand(args, env, stdin_data);
  }

  std::string ServerLog() { return stack_->ServerLog(); }

  std::unique_ptr<Stack> stack_;
  Subprocess* server_ = nullptr;
  std::string target_;
};

TEST_F(ProcessTest, SampleClientDrivesEveryRpc) {
  // create, secrets on stdin
  CommandResult r = Client(
      {"create", "--leaf_user_id", kUser, "--public_key", "pub-key-1", "--secrets_from_stdin"},
      absl::StrCat("refresh_token=", kRefreshToken, "\nprivate_key=", kPrivateKey, "\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CREDENTIAL_STATUS_OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("****9876"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kRefreshToken), std::string::npos);
  EXPECT_EQ(r.out.find(kPrivateKey), std::string::npos);

  // get, as JSON
  r = Client({"--json", "get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"leafUserId\": \"" + std::string(kUser) + "\""), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"refreshTokenHint\": \"****9876\""), std::string::npos) << r.out;

  // events
  r = Client({"events", "--leaf_user_id", kUser, "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("status code:"), std::string::npos) << r.out;

  // full view is refused by default: gRPC code, message and reason on stderr, exit 1
  r = Client({"get", "--leaf_user_id", kUser, "--view", "full"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("PERMISSION_DENIED"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reason: FULL_VIEW_NOT_ALLOWED"), std::string::npos) << r.err;

  // delete, then NOT_FOUND
  r = Client({"delete", "--leaf_user_id", kUser});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Client({"get", "--leaf_user_id", kUser});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reason: CREDENTIALS_NOT_FOUND"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("leaf_http_status=404"), std::string::npos) << r.err;

  // a bad id is refused by the server with a field violation
  r = Client({"get", "--leaf_user_id", "not-a-uuid"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field leaf_user_id"), std::string::npos) << r.err;

  // Nothing secret reached the server's debug-level log.
  server_->Signal(SIGTERM);
  ASSERT_EQ(server_->Wait(absl::Seconds(15)), std::optional<int>(0));
  const std::string log = ServerLog();
  EXPECT_NE(log.find("\"msg\":\"serving\""), std::string::npos) << log;
  EXPECT_EQ(log.find(kRefreshToken), std::string::npos);
  EXPECT_EQ(log.find(kPrivateKey), std::string::npos);
  EXPECT_EQ(log.find(kToken), std::string::npos);
}

// A stop signal can arrive at any moment after start, and the kernel gives a
// process-directed signal to any thread that does not block it: one such
// thread (the log writer, started by the first log line) and SIGTERM kills
// the process instead of shutting it down. Every thread but the one that
// waits for the signals blocks them, in the server and in the emulator.
TEST_F(ProcessTest, EveryThreadButTheWaiterBlocksTheStopSignals) {
  for (Subprocess* p : {server_, &stack_->emulator()}) {
    for (int signo : {SIGTERM, SIGINT}) {
      const std::vector<pid_t> open = p->ThreadsNotBlocking(signo);
      EXPECT_TRUE(open.empty()) << "pid " << p->pid() << ": " << open.size()
                                << " threads would die of signal " << signo;
    }
  }
}

std::string ReadProcFile(pid_t pid, const char* name) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/", name), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The token came in the environment, the page token key on the command
// line: neither stays readable in /proc/PID/environ or /proc/PID/cmdline of
// the running server, and the server still uses both.
TEST(ProcessSecretsTest, SecretsLeaveTheServersEnvironmentAndCommandLine) {
  constexpr char kPageKey[] = "process-page-token-key-4711-at-least-32-bytes";
  auto stack = Stack::Start({"--page_token_key", kPageKey});
  ASSERT_NE(stack, nullptr);
  const pid_t pid = stack->server().pid();
  const std::string environ_block = ReadProcFile(pid, "environ");
  const std::string cmdline = ReadProcFile(pid, "cmdline");
  EXPECT_NE(environ_block.find("AGLEADER_LEAF_TOKEN="), std::string::npos);
  EXPECT_EQ(environ_block.find(kStackToken), std::string::npos);
  EXPECT_NE(cmdline.find("--page_token_key"), std::string::npos);
  EXPECT_EQ(cmdline.find(kPageKey), std::string::npos);
  // Still authenticated to Leaf with the token: a Get reaches the emulator,
  // which answers NOT_FOUND (not UNAUTHENTICATED).
  CommandResult r = RunCommand({RunfilePath("client/agleader_client"),
                                "--server=" + stack->target(), "get", "--leaf_user_id", kUser});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("CREDENTIALS_NOT_FOUND"), std::string::npos) << r.err;
}

TEST_F(ProcessTest, ServerExitsZeroOnSigintToo) {
  server_->Signal(SIGINT);
  EXPECT_EQ(server_->Wait(absl::Seconds(15)), std::optional<int>(0));
}

TEST_F(ProcessTest, ServerRefusesToStartWithoutLeafCredentials) {
  CommandResult r =
      RunCommand({RunfilePath("server/agleader_credentials_server"), "--listen=127.0.0.1:0"},
                 {{"AGLEADER_LEAF_TOKEN", ""}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no Leaf credentials"), std::string::npos) << r.err;

  r = RunCommand({RunfilePath("server/agleader_credentials_server"), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("AGLEADER_LEAF_API_URL"), std::string::npos) << r.out;
}

// The two reflection versions grpcurl may speak (v1 first, then v1alpha).
struct V1 {
  using ServerReflection = ::grpc::reflection::v1::ServerReflection;
  using ServerReflectionRequest = ::grpc::reflection::v1::ServerReflectionRequest;
  using ServerReflectionResponse = ::grpc::reflection::v1::ServerReflectionResponse;
};
struct V1Alpha {
  using ServerReflection = ::grpc::reflection::v1alpha::ServerReflection;
  using ServerReflectionRequest = ::grpc::reflection::v1alpha::ServerReflectionRequest;
  using ServerReflectionResponse = ::grpc::reflection::v1alpha::ServerReflectionResponse;
};

// A minimal grpcurl: discovers everything through reflection, builds requests
// from JSON with dynamic messages, and calls methods by name.
template <typename refl>
class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel)
      : channel_(channel), stub_(refl::ServerReflection::NewStub(channel)) {}

  std::vector<std::string> ListServices() {
    typename refl::ServerReflectionRequest req;
    req.set_list_services("");
    std::vector<std::string> out;
    const typename refl::ServerReflectionResponse resp = Ask(req);
    for (const auto& s : resp.list_services_response().service()) out.push_back(s.name());
    return out;
  }

  // Loads the file defining `symbol` and its dependencies into the pool.
  const google::protobuf::ServiceDescriptor* DescribeService(const std::string& symbol) {
    typename refl::ServerReflectionRequest req;
    req.set_file_containing_symbol(symbol);
    Load(Ask(req));
    return pool_.FindServiceByName(symbol);
  }

  // Calls /service/method with a JSON request; returns the status and JSON response.
  grpc::Status CallJson(const google::protobuf::MethodDescriptor* method,
                        const std::string& json_request, std::string* json_response) {
    std::unique_ptr<google::protobuf::Message> request(
        factory_.GetPrototype(method->input_type())->New());
    auto parsed = google::protobuf::util::JsonStringToMessage(json_request, request.get());
    if (!parsed.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "bad test JSON");
    grpc::Slice slice(request->SerializeAsString());
    grpc::ByteBuffer send(&slice, 1), recv;
    grpc::GenericStub stub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, absl::StrCat("/", method->service()->full_name(), "/", method->name()),
                   grpc::StubOptions(), &send, &recv,
                   [&done](grpc::Status s) { done.set_value(s); });
    grpc::Status status = done.get_future().get();
    if (!status.ok()) return status;
    std::vector<grpc::Slice> slices;
    recv.Dump(&slices);
    std::string bytes;
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    std::unique_ptr<google::protobuf::Message> response(
        factory_.GetPrototype(method->output_type())->New());
    response->ParseFromString(bytes);
    json_response->clear();
    (void)google::protobuf::util::MessageToJsonString(*response, json_response);
    return status;
  }

 private:
  typename refl::ServerReflectionResponse Ask(const typename refl::ServerReflectionRequest& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub_->ServerReflectionInfo(&ctx);
    typename refl::ServerReflectionResponse resp;
    stream->Write(req);
    stream->WritesDone();
    stream->Read(&resp);
    while (stream->Read(&scratch_)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
    return resp;
  }

  void Load(const typename refl::ServerReflectionResponse& resp) {
    // Dependency order is not guaranteed: build in rounds until all are in.
    std::vector<google::protobuf::FileDescriptorProto> files;
    for (const std::string& bytes : resp.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto f;
      f.ParseFromString(bytes);
      files.push_back(f);
    }
    for (int round = 0; round < 10 && !files.empty(); ++round) {
      std::vector<google::protobuf::FileDescriptorProto> left;
      for (const auto& f : files) {
        if (pool_.FindFileByName(f.name()) != nullptr) continue;
        bool deps_ready = true;
        for (const auto& dep : f.dependency()) {
          if (pool_.FindFileByName(dep) == nullptr) deps_ready = false;
        }
        if (!deps_ready || pool_.BuildFile(f) == nullptr) left.push_back(f);
      }
      files = left;
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<typename refl::ServerReflection::Stub> stub_;
  typename refl::ServerReflectionResponse scratch_;
  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_{&pool_};
};

template <typename Version>
void DriveLikeGrpcurl(const std::string& target) {
  ReflectionClient<Version> grpcurl(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  std::vector<std::string> services = grpcurl.ListServices();
  auto has = [&](const std::string& s) {
    return std::find(services.begin(), services.end(), s) != services.end();
  };
  EXPECT_TRUE(has("leaf.agleader.v1.AgLeaderCredentials"));
  EXPECT_TRUE(has("grpc.health.v1.Health"));
  EXPECT_TRUE(has("grpc.reflection.v1alpha.ServerReflection"));
  EXPECT_TRUE(has("grpc.reflection.v1.ServerReflection"));

  const google::protobuf::ServiceDescriptor* service =
      grpcurl.DescribeService("leaf.agleader.v1.AgLeaderCredentials");
  ASSERT_NE(service, nullptr);
  for (const char* m :
       {"GetCredentials", "CreateCredentials", "DeleteCredentials", "ListCredentialEvents"}) {
    EXPECT_NE(service->FindMethodByName(m), nullptr) << m;
  }
  // What `grpcurl describe` prints: the proto's comments and JSON names.
  google::protobuf::SourceLocation where;
  ASSERT_TRUE(service->GetSourceLocation(&where));
  EXPECT_TRUE(absl::StrContains(where.leading_comments, "Manages the AgLeader credentials"));
  ASSERT_TRUE(service->FindMethodByName("GetCredentials")->GetSourceLocation(&where));
  EXPECT_TRUE(
      absl::StrContains(where.leading_comments, "NOT_FOUND (reason CREDENTIALS_NOT_FOUND)"));
  const google::protobuf::FieldDescriptor* user_field =
      service->FindMethodByName("GetCredentials")->output_type()->FindFieldByName("leaf_user_id");
  ASSERT_NE(user_field, nullptr);
  EXPECT_TRUE(user_field->has_json_name());
  EXPECT_EQ(user_field->json_name(), "leafUserId");

  std::string out;
  const std::string user = absl::StrCat("\"leafUserId\": \"", kUser, "\"");
  grpc::Status st = grpcurl.CallJson(
      service->FindMethodByName("CreateCredentials"),
      absl::StrCat("{", user, R"(, "refreshToken": "rt-123456789012", "publicKey": "pk",)",
                   R"( "privateKey": "sk-123456789012"})"),
      &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(out.find("\"status\":\"CREDENTIAL_STATUS_OK\""), std::string::npos) << out;

  st = grpcurl.CallJson(service->FindMethodByName("GetCredentials"), absl::StrCat("{", user, "}"),
                        &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(out.find("\"privateKeyHint\":\"****9012\""), std::string::npos) << out;

  st = grpcurl.CallJson(service->FindMethodByName("ListCredentialEvents"),
                        absl::StrCat("{", user, R"(, "pageSize": 10})"), &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(out.find("\"events\""), std::string::npos) << out;

  st = grpcurl.CallJson(service->FindMethodByName("DeleteCredentials"),
                        absl::StrCat("{", user, "}"), &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out, "{}");

  // The health service can be described and called too (grpcurl ... Health/Check).
  const google::protobuf::ServiceDescriptor* health =
      grpcurl.DescribeService("grpc.health.v1.Health");
  ASSERT_NE(health, nullptr);
  st = grpcurl.CallJson(health->FindMethodByName("Check"),
                        R"({"service": "leaf.agleader.v1.AgLeaderCredentials"})", &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out, R"({"status":"SERVING"})");
}

TEST_F(ProcessTest, ReflectionV1ListsDescribesAndDrivesTheServiceLikeGrpcurl) {
  DriveLikeGrpcurl<V1>(target_);
}

TEST_F(ProcessTest, ReflectionV1AlphaListsDescribesAndDrivesTheServiceLikeGrpcurl) {
  DriveLikeGrpcurl<V1Alpha>(target_);
}

}  // namespace
}  // namespace leafsvc::testing
