// Every line the server process writes to stderr is one JSON object, also
// what gRPC core, protobuf and the start-up path write: provoked with gRPC's
// debug verbosity, a malformed request message, bytes that are not HTTP/2
// and a bad flag.
#include <arpa/inet.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/process/stack.h"

namespace leafsvc::testing {
namespace {

// Non-empty lines that are not a JSON object, and the "source" of those that are.
struct Lines {
  std::vector<std::string> not_json;
  std::vector<std::string> sources;
  int total = 0;
};

Lines Classify(const std::string& text) {
  Lines out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++out.total;
    google::protobuf::Struct obj;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &obj).ok()) {
      out.not_json.emplace_back(line);
      continue;
    }
    auto it = obj.fields().find("source");
    if (it != obj.fields().end()) out.sources.push_back(it->second.string_value());
  }
  return out;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Sends bytes that are not an HTTP/2 connection preface.
void SendGarbage(const std::string& target) {
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(target.substr(target.rfind(':') + 1), &port));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02\xff";
  ASSERT_GT(write(fd, garbage, sizeof garbage), 0);
  char buf[256];
  (void)!read(fd, buf, sizeof buf);  // until the server closes it
  close(fd);
}

TEST(StderrJsonTest, GrpcAndProtobufLinesAreJsonToo) {
  auto stack = Stack::Start({"--log_level=debug"}, {}, {{"GRPC_VERBOSITY", "DEBUG"}});
  ASSERT_NE(stack, nullptr);
  auto channel = grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials());

  // GetCredentialsRequest{leaf_user_id = "\xff\xfe"}: invalid UTF-8 in a
  // proto3 string, which protobuf's parser logs before refusing it.
  grpc::GenericStub generic(channel);
  const char raw[] = {0x0a, 0x02, static_cast<char>(0xff), static_cast<char>(0xfe)};
  grpc::Slice slice(raw, sizeof raw);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/leaf.agleader.v1.AgLeaderCredentials/GetCredentials",
                    grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status s) { done.set_value(s); });
  const grpc::Status st = done.get_future().get();
  EXPECT_FALSE(st.ok());

  SendGarbage(stack->target());

  stack->server().Signal(SIGTERM);
  ASSERT_EQ(stack->server().Wait(absl::Seconds(15)), std::optional<int>(0));
  const std::string log = stack->ServerLog();
  const Lines lines = Classify(log);
  EXPECT_GT(lines.total, 3);
  EXPECT_TRUE(lines.not_json.empty()) << "first non-JSON line: " << lines.not_json.front();
  EXPECT_TRUE(Has(lines.sources, "grpc")) << log;
  EXPECT_TRUE(Has(lines.sources, "protobuf")) << log;
}

TEST(StderrJsonTest, StartUpErrorsAreJson) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--no_such_flag=1"}, std::vector<std::string>{"--listen=x"},
        std::vector<std::string>{"--fd_reserve=-1"}}) {
    std::vector<std::string> argv = {RunfilePath("server/agleader_credentials_server")};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = RunCommand(argv, {{"AGLEADER_LEAF_TOKEN", "t"}});
    EXPECT_NE(r.exit_code, 0) << args[0];
    const Lines lines = Classify(r.err);
    EXPECT_GE(lines.total, 1) << args[0];
    EXPECT_TRUE(lines.not_json.empty()) << lines.not_json.front();
  }
}

}  // namespace
}  // namespace leafsvc::testing
