// The audit benchmark of issue 15: how long, and how many requests to Leaf,
// it takes to learn the credential state of N emulated growers
//   (a) by ListCredentials (pages of 500), and
//   (b) by BatchGetCredentials (chunks of 500 ids),
// through the real stack in one process (emulator, App with libcurl, gRPC).
//
//   bazel run -c opt //bench:audit_bench -- [USERS] [BATCH_FAN_OUT]
//
// Prints one row per method: users, credentials seen, calls, Leaf requests,
// wall time.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "emulator/leaf_emulator.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/app.h"
#include "server/config/config.h"

namespace {

namespace v1 = ::leaf::agleader::v1;
constexpr char kToken[] = "bench-token";

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  return context;
}

void Row(const char* method, int users, int credentials, int calls, int leaf_requests,
         absl::Duration took) {
  std::printf("%-20s %7d users %7d credentials %5d calls %7d Leaf requests %9.1f ms\n", method,
              users, credentials, calls, leaf_requests, absl::ToDoubleMilliseconds(took));
}

}  // namespace

int main(int argc, char** argv) {
  const int users = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int fan_out = argc > 2 ? std::atoi(argv[2]) : 8;
  leafemu::EmulatorOptions eo;
  eo.static_tokens = {kToken};
  auto emulator = leafemu::LeafEmulator::Start(eo);
  if (!emulator.ok()) return 1;
  leafemu::SeedSpec spec;
  spec.users = users;
  const leafemu::SeedResult seeded = (*emulator)->Seed(spec);

  leafsvc::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.leaf_api_url = (*emulator)->base_url();
  config.leaf_token = leafsvc::Secret(kToken);
  config.page_token_key = "bench";
  config.batch_fan_out = fan_out;
  config.log_level = leafsvc::LogLevel::kWarning;
  auto app = leafsvc::App::Start(config);
  if (!app.ok()) return 1;
  auto stub = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel((*app)->target(), grpc::InsecureChannelCredentials()));

  // (a) ListCredentials.
  (*emulator)->ClearRequests();
  absl::Time start = absl::Now();
  v1::ListCredentialsRequest list;
  list.set_page_size(500);
  int calls = 0, seen = 0;
  while (true) {
    v1::ListCredentialsResponse page;
    grpc::Status st = stub->ListCredentials(Context().get(), list, &page);
    if (!st.ok()) return std::fprintf(stderr, "%s\n", st.error_message().c_str()), 1;
    ++calls;
    seen += page.credentials_size();
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  Row("ListCredentials", users, seen, calls, (*emulator)->CountRequests("GET", ""),
      absl::Now() - start);

  // (b) BatchGetCredentials.
  (*emulator)->ClearRequests();
  start = absl::Now();
  calls = seen = 0;
  for (size_t i = 0; i < seeded.users.size(); i += 500) {
    v1::BatchGetCredentialsRequest batch;
    for (size_t j = i; j < seeded.users.size() && j < i + 500; ++j) {
      batch.add_leaf_user_ids(seeded.users[j].first);
    }
    v1::BatchGetCredentialsResponse response;
    grpc::Status st = stub->BatchGetCredentials(Context().get(), batch, &response);
    if (!st.ok()) return std::fprintf(stderr, "%s\n", st.error_message().c_str()), 1;
    ++calls;
    for (const auto& r : response.results()) seen += r.has_credentials();
  }
  Row("BatchGetCredentials", users, seen, calls, (*emulator)->CountRequests("GET", ""),
      absl::Now() - start);
  (*app)->Shutdown(absl::ZeroDuration());
  return 0;
}
