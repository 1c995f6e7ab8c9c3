// Caller authentication through the real stack: the Leaf emulator, the
// service (App) with listener security configured, and real channels with
// TLS, client certificates and API keys, all on 127.0.0.1.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/observability/log.h"
#include "server/security/listener_security.h"
#include "tests/integration/harness.h"
#include "tests/security/test_pki.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;
using ::leafsvc::testing::CertAndKey;
using ::leafsvc::testing::Harness;
using ::leafsvc::testing::kUserA;
using ::leafsvc::testing::TestCa;
using ::leafsvc::testing::WriteTempFile;

constexpr char kApiKey[] = "caller-api-key-0123456789abcdef";
constexpr char kOtherKey[] = "caller-api-key-fedcba9876543210";
constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// Files of one throwaway PKI, made once for the whole test binary.
struct Pki {
  TestCa ca{"agleader test CA"};
  TestCa other_ca{"some other CA"};
  CertAndKey server = ca.IssueServer("localhost");
  CertAndKey client = ca.IssueClient("test caller");
  CertAndKey stranger = other_ca.IssueClient("stranger");
  std::string ca_file = WriteTempFile("ca.pem", ca.cert_pem());
  std::string cert_file = WriteTempFile("server.pem", server.cert_pem);
  std::string key_file = WriteTempFile("server.key", server.key_pem);
  std::string keys_file =
      WriteTempFile("api_keys", std::string("# test callers\n") + kApiKey + "\n\n" + kOtherKey);
};

const Pki& TestPki() {
  static const Pki* pki = new Pki;
  return *pki;
}

std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& root_pem,
                                              const CertAndKey* client = nullptr) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = root_pem;
  if (client != nullptr) {
    options.pem_cert_chain = client->cert_pem;
    options.pem_private_key = client->key_pem;
  }
  return grpc::SslCredentials(options);
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& api_key = "") {
  auto ctx = Harness::Context(absl::Seconds(5));
  if (!api_key.empty()) ctx->AddMetadata("authorization", "Bearer " + api_key);
  return ctx;
}

// GetCredentials for kUserA: a call the service always forwards to Leaf.
grpc::Status GetCredentials(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& api_key = "") {
  auto stub = v1::AgLeaderCredentials::NewStub(channel);
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  return stub->GetCredentials(Context(api_key).get(), req, &out);
}

grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& api_key = "") {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status st = stub->Check(Context(api_key).get(), req, &resp);
  if (st.ok()) {
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  return st;
}

// Reflection's ListServices as grpcurl's `list` does it. The service links
// gRPC's reflection library, which embeds the reflection messages, so this
// binary must not compile its own: the request is hand-encoded
// (ServerReflectionRequest{list_services: ""}, field 7) and sent as one
// message on the bidi stream; `services` gets the raw response bytes.
grpc::Status ListServices(const std::shared_ptr<grpc::Channel>& channel, std::string* services,
                          const std::string& api_key = "") {
  static const char kListServices[] = {0x3a, 0x00};
  grpc::Slice slice(kListServices, sizeof(kListServices));
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::GenericStub stub(channel);
  auto ctx = Context(api_key);
  std::promise<grpc::Status> done;
  stub.UnaryCall(ctx.get(), kReflectionMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(s); });
  grpc::Status st = done.get_future().get();
  services->clear();
  std::vector<grpc::Slice> slices;
  if (st.ok() && response.Dump(&slices).ok()) {
    for (const auto& s : slices)
      services->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return st;
}

std::shared_ptr<grpc::Channel> Insecure(Harness& h) {
  return grpc::CreateChannel(h.app().target(), grpc::InsecureChannelCredentials());
}

int LeafCalls(Harness& h) { return h.emulator().CountRequests("", "/ag-leader-credentials"); }

std::unique_ptr<Harness> StartWith(std::function<void(ListenerSecurityOptions&)> tweak) {
  return Harness::Start(nullptr, [&](ServerConfig& c) { tweak(c.security); });
}

void EnableTls(ListenerSecurityOptions& s) {
  s.tls_cert_file = TestPki().cert_file;
  s.tls_key_file = TestPki().key_file;
}

// ---- TLS -------------------------------------------------------------------

TEST(ListenerTlsTest, CallerTrustingTheCaGetsThrough) {
  auto h = StartWith(EnableTls);
  ASSERT_NE(h, nullptr);
  auto channel = grpc::CreateChannel(h->app().target(), Tls(TestPki().ca.cert_pem()));
  // NOT_FOUND: the call reached Leaf, which has no credentials for the user.
  EXPECT_EQ(GetCredentials(channel).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(LeafCalls(*h), 1);
}

TEST(ListenerTlsTest, CallerWithoutTheCaIsUnavailable) {
  auto h = StartWith(EnableTls);
  ASSERT_NE(h, nullptr);
  auto channel = grpc::CreateChannel(h->app().target(), Tls(TestPki().other_ca.cert_pem()));
  EXPECT_EQ(GetCredentials(channel).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(LeafCalls(*h), 0);
}

TEST(ListenerTlsTest, PlaintextCallerIsUnavailable) {
  auto h = StartWith(EnableTls);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(GetCredentials(Insecure(*h)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(LeafCalls(*h), 0);
}

// ---- mutual TLS --------------------------------------------------------------

void EnableMutualTls(ListenerSecurityOptions& s) {
  EnableTls(s);
  s.client_ca_file = TestPki().ca_file;
}

TEST(ListenerMutualTlsTest, CallerWithCertificateFromTheClientCaGetsThrough) {
  auto h = StartWith(EnableMutualTls);
  ASSERT_NE(h, nullptr);
  auto channel =
      grpc::CreateChannel(h->app().target(), Tls(TestPki().ca.cert_pem(), &TestPki().client));
  EXPECT_EQ(GetCredentials(channel).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(LeafCalls(*h), 1);
}

TEST(ListenerMutualTlsTest, CallerWithoutCertificateIsRefused) {
  auto h = StartWith(EnableMutualTls);
  ASSERT_NE(h, nullptr);
  auto channel = grpc::CreateChannel(h->app().target(), Tls(TestPki().ca.cert_pem()));
  EXPECT_EQ(GetCredentials(channel).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(HealthCheck(channel).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(LeafCalls(*h), 0);
}

TEST(ListenerMutualTlsTest, CallerWithCertificateFromAnotherCaIsRefused) {
  auto h = StartWith(EnableMutualTls);
  ASSERT_NE(h, nullptr);
  auto channel =
      grpc::CreateChannel(h->app().target(), Tls(TestPki().ca.cert_pem(), &TestPki().stranger));
  EXPECT_EQ(GetCredentials(channel).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(LeafCalls(*h), 0);
}

// ---- API keys, plaintext and TLS ----------------------------------------------

struct KeyCase {
  const char* name;
  bool tls;
};
void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.name; }

class ListenerApiKeyTest : public ::testing::TestWithParam<KeyCase> {
 protected:
  void Start(bool protect = false) {
    h_ = StartWith([&](ListenerSecurityOptions& s) {
      if (GetParam().tls) EnableTls(s);
      s.api_keys_file = TestPki().keys_file;
      s.protect_health_and_reflection = protect;
    });
    ASSERT_NE(h_, nullptr);
    channel_ = GetParam().tls
                   ? grpc::CreateChannel(h_->app().target(), Tls(TestPki().ca.cert_pem()))
                   : Insecure(*h_);
  }

  std::unique_ptr<Harness> h_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_P(ListenerApiKeyTest, CallWithoutKeyIsUnauthenticatedBeforeAnyHandlerRuns) {
  Start();
  grpc::Status st = GetCredentials(channel_);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_NE(st.error_message().find("authorization: Bearer <your API key>"), std::string::npos)
      << st.error_message();
  EXPECT_EQ(LeafCalls(*h_), 0);
}

TEST_P(ListenerApiKeyTest, CallWithWrongKeyIsUnauthenticatedBeforeAnyHandlerRuns) {
  Start();
  const std::string wrong = "caller-api-key-0123456789abcdeX";
  grpc::Status st = GetCredentials(channel_, wrong);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_EQ(st.error_message().find(wrong), std::string::npos) << st.error_message();
  EXPECT_EQ(LeafCalls(*h_), 0);
}

TEST_P(ListenerApiKeyTest, CallWithEitherKeyFromTheFileGetsThrough) {
  Start();
  EXPECT_EQ(GetCredentials(channel_, kApiKey).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetCredentials(channel_, kOtherKey).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(LeafCalls(*h_), 2);
}

TEST_P(ListenerApiKeyTest, CallersKeyIsNotForwardedToLeaf) {
  Start();
  ASSERT_EQ(GetCredentials(channel_, kApiKey).error_code(), grpc::StatusCode::NOT_FOUND);
  std::vector<leafemu::RecordedRequest> requests = h_->emulator().Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers["authorization"],
            std::string("Bearer ") + ::leafsvc::testing::kStaticToken);
  for (const auto& [name, value] : requests[0].headers) {
    EXPECT_EQ(value.find(kApiKey), std::string::npos) << name;
  }
  EXPECT_EQ(requests[0].body.find(kApiKey), std::string::npos);
}

TEST_P(ListenerApiKeyTest, HealthAndReflectionAnswerWithoutKeyByDefault) {
  Start();
  EXPECT_TRUE(HealthCheck(channel_).ok());
  std::string services;
  grpc::Status st = ListServices(channel_, &services);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(services.find("leaf.agleader.v1.AgLeaderCredentials"), std::string::npos);
}

TEST_P(ListenerApiKeyTest, ProtectedHealthAndReflectionNeedAKey) {
  Start(/*protect=*/true);
  EXPECT_EQ(HealthCheck(channel_).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::string services;
  EXPECT_EQ(ListServices(channel_, &services).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(HealthCheck(channel_, kApiKey).ok());
  grpc::Status st = ListServices(channel_, &services, kApiKey);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(services.find("leaf.agleader.v1.AgLeaderCredentials"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(PlaintextAndTls, ListenerApiKeyTest,
                         ::testing::Values(KeyCase{"Plaintext", false}, KeyCase{"Tls", true}),
                         [](const ::testing::TestParamInfo<KeyCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(ListenerApiKeyListTest, KeysFromTheListWorkLikeKeysFromTheFile) {
  auto h = StartWith([](ListenerSecurityOptions& s) { s.api_keys = Secret(kOtherKey); });
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(GetCredentials(Insecure(*h), kApiKey).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetCredentials(Insecure(*h), kOtherKey).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(ListenerApiKeyAndMutualTlsTest, BothAreRequiredWhenBothAreConfigured) {
  auto h = StartWith([](ListenerSecurityOptions& s) {
    EnableMutualTls(s);
    s.api_keys_file = TestPki().keys_file;
  });
  ASSERT_NE(h, nullptr);
  auto with_cert =
      grpc::CreateChannel(h->app().target(), Tls(TestPki().ca.cert_pem(), &TestPki().client));
  auto without_cert = grpc::CreateChannel(h->app().target(), Tls(TestPki().ca.cert_pem()));
  EXPECT_EQ(GetCredentials(with_cert).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetCredentials(without_cert, kApiKey).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(GetCredentials(with_cert, kApiKey).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(LeafCalls(*h), 1);
}

TEST(ListenerApiKeyLogTest, NoKeyReachesTheLogEvenAtDebugLevel) {
  std::mutex mu;
  std::string logged;
  SetLogSink([&](absl::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    logged.append(line.data(), line.size());
    logged += "\n";
  });
  SetLogLevel(LogLevel::kDebug);
  {
    auto h = StartWith([](ListenerSecurityOptions& s) {
      s.api_keys_file = TestPki().keys_file;
      s.api_keys = Secret("listed-key-0123456789abcdef");
    });
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(GetCredentials(Insecure(*h), kApiKey).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(GetCredentials(Insecure(*h), "guessed-key-0123456789abcdef").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(GetCredentials(Insecure(*h)).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  SetLogLevel(LogLevel::kInfo);
  SetLogSink(nullptr);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(logged.find("listener security"), std::string::npos) << logged;
  EXPECT_NE(logged.find("call refused"), std::string::npos) << logged;
  for (const char* secret :
       {kApiKey, kOtherKey, "listed-key-0123456789abcdef", "guessed-key-0123456789abcdef"}) {
    EXPECT_EQ(logged.find(secret), std::string::npos) << secret;
  }
}

// ---- the mechanism, seen from a handler -----------------------------------------

// A generic service that counts its calls and reports, in the status it
// returns, whether the call still carried `authorization` metadata.
class RecordingService final : public grpc::CallbackGenericService {
 public:
  std::atomic<int> calls{0};

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(bool saw_authorization) {
      Finish(grpc::Status(grpc::StatusCode::ABORTED, saw_authorization
                                                         ? "handler saw authorization"
                                                         : "handler saw no authorization"));
    }
    void OnDone() override { delete this; }
  };

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    ++calls;
    return new Reactor(ctx->client_metadata().count("authorization") > 0);
  }
};

class ListenerCredentialsHandlerTest : public ::testing::TestWithParam<KeyCase> {
 protected:
  void SetUp() override {
    ListenerSecurityOptions options;
    if (GetParam().tls) EnableTls(options);
    options.api_keys = Secret(kApiKey);
    auto creds = BuildServerCredentials(options);
    ASSERT_TRUE(creds.ok()) << creds.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    const std::string target = "127.0.0.1:" + std::to_string(port_);
    channel_ = GetParam().tls ? grpc::CreateChannel(target, Tls(TestPki().ca.cert_pem()))
                              : grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  grpc::Status Call(const std::string& api_key) {
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1), response;
    grpc::GenericStub stub(channel_);
    auto ctx = Context(api_key);
    std::promise<grpc::Status> done;
    stub.UnaryCall(ctx.get(), "/test.Recording/Call", grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status s) { done.set_value(s); });
    return done.get_future().get();
  }

  RecordingService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_P(ListenerCredentialsHandlerTest, RefusedCallNeverReachesTheHandler) {
  EXPECT_EQ(Call("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(kOtherKey).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(service_.calls.load(), 0);
}

TEST_P(ListenerCredentialsHandlerTest, AcceptedCallReachesTheHandlerWithoutTheKey) {
  grpc::Status st = Call(kApiKey);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(st.error_message(), "handler saw no authorization");
  EXPECT_EQ(service_.calls.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(PlaintextAndTls, ListenerCredentialsHandlerTest,
                         ::testing::Values(KeyCase{"Plaintext", false}, KeyCase{"Tls", true}),
                         [](const ::testing::TestParamInfo<KeyCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace leafsvc
