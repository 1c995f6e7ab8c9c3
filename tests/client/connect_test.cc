// agleader_client connect, get-link and audit --links, run as a user would
// (RunCommandLine, over 127.0.0.1) against a fake AgLeaderCredentials
// server: what reaches the server (user, return URL, ttl, name), what is
// printed as text, JSON and QR code, errors with their reason, and audit's
// links per row (created, or the row's own failure), in the table, CSV and
// JSON lines. The real server's end-to-end test can reuse these cases by
// pointing --server at the integration harness instead of FakeServer.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kReauthUser[] = "00000000-0000-4000-8000-000000000001";
constexpr char kDeniedUser[] = "00000000-0000-4000-8000-000000000002";
constexpr char kOkUser[] = "00000000-0000-4000-8000-000000000003";

grpc::Status Refusal(grpc::StatusCode code, const std::string& reason) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(absl::StrCat("refused: ", reason));
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain("leaf.agleader.v1");
  status.add_details()->PackFrom(info);
  return grpc::Status(code, status.message(), status.SerializeAsString());
}

class FakeServer final : public v1::AgLeaderCredentials::Service {
 public:
  // Users whose CreateConnectLink fails with this reason.
  std::string refuse_user;
  std::string link_url_suffix;  // appended to the URL (hostile answers)

  grpc::Status CreateConnectLink(grpc::ServerContext* context,
                                 const v1::CreateConnectLinkRequest* request,
                                 v1::ConnectLink* link) override {
    absl::MutexLock lock(&mu_);
    creates_.push_back(*request);
    auto auth = context->client_metadata().find("authorization");
    if (auth != context->client_metadata().end()) {
      authorization_ = std::string(auth->second.data(), auth->second.size());
    }
    if (request->leaf_user_id() == refuse_user) {
      return Refusal(grpc::StatusCode::FAILED_PRECONDITION, "CONNECT_NOT_CONFIGURED");
    }
    const std::string id = absl::StrCat("L", creates_.size());
    link->set_name(absl::StrCat("connectLinks/", id));
    link->set_leaf_user_id(request->leaf_user_id());
    link->set_url(absl::StrCat("https://connect.example.com/connect/", id, link_url_suffix));
    link->set_state(v1::ConnectLink::PENDING);
    link->set_return_url(request->return_url());
    link->mutable_create_time()->set_seconds(1796601600);
    link->mutable_expire_time()->set_seconds(1796601600 + 7 * 86400);
    return grpc::Status::OK;
  }

  grpc::Status GetConnectLink(grpc::ServerContext*, const v1::GetConnectLinkRequest* request,
                              v1::ConnectLink* link) override {
    if (request->name() != "connectLinks/L1") {
      return Refusal(grpc::StatusCode::NOT_FOUND, "CONNECT_LINK_NOT_FOUND");
    }
    link->set_name(request->name());
    link->set_url("https://connect.example.com/connect/L1");
    link->set_state(v1::ConnectLink::CONNECTED);
    link->set_credentials_id("cred-7");
    return grpc::Status::OK;
  }

  grpc::Status BatchGetCredentials(grpc::ServerContext*,
                                   const v1::BatchGetCredentialsRequest* request,
                                   v1::BatchGetCredentialsResponse* response) override {
    for (const std::string& id : request->leaf_user_ids()) {
      v1::BatchGetCredentialsResult* r = response->add_results();
      r->set_leaf_user_id(id);
      v1::Credentials* c = r->mutable_credentials();
      c->set_leaf_user_id(id);
      c->set_status(id == kOkUser       ? v1::CREDENTIAL_STATUS_OK
                    : id == kDeniedUser ? v1::CREDENTIAL_STATUS_MISSING_PERMISSION
                                        : v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
    }
    return grpc::Status::OK;
  }

  std::vector<v1::CreateConnectLinkRequest> creates() {
    absl::MutexLock lock(&mu_);
    return creates_;
  }
  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::CreateConnectLinkRequest> creates_;
  std::string authorization_;
};

class ConnectTest : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    server_flag_ = absl::StrCat("--server=127.0.0.1:", port);
  }
  void TearDown() override {
    server_->Shutdown();
    ClientTest::TearDown();
  }

  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin() + 1, server_flag_);
    return RunCli(std::move(args));
  }

  FakeServer fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string server_flag_;
};

TEST_F(ConnectTest, ConnectPrintsTheLinkAndSendsTheRequest) {
  CliResult r = Cli({"connect", std::string("--leaf_user_id=") + kUser,
                     "--return_url=https://app.example.com/done", "--ttl=2d"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("url:            https://connect.example.com/connect/L1\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("name:           connectLinks/L1\n"), std::string::npos);
  EXPECT_NE(r.out.find("state:          PENDING\n"), std::string::npos);
  EXPECT_NE(r.out.find("expires:        2026-12-14T00:00:00Z\n"), std::string::npos);
  EXPECT_EQ(r.out.find("\u2588"), std::string::npos) << "no QR code without --qr";
  ASSERT_EQ(fake_.creates().size(), 1u);
  const v1::CreateConnectLinkRequest sent = fake_.creates()[0];
  EXPECT_EQ(sent.leaf_user_id(), kUser);
  EXPECT_EQ(sent.return_url(), "https://app.example.com/done");
  EXPECT_EQ(sent.ttl().seconds(), 2 * 86400);
}

TEST_F(ConnectTest, WithoutTtlTheServerDecides) {
  CliResult r = Cli({"connect", std::string("--leaf_user_id=") + kUser});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(fake_.creates().size(), 1u);
  EXPECT_FALSE(fake_.creates()[0].has_ttl());
  EXPECT_TRUE(fake_.creates()[0].return_url().empty());
}

TEST_F(ConnectTest, JsonIsTheLinkAndTheQrCodeGoesToStderr) {
  CliResult r = Cli({"connect", "--json", "--qr", std::string("--leaf_user_id=") + kUser});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  v1::ConnectLink parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out;
  EXPECT_EQ(parsed.name(), "connectLinks/L1");
  EXPECT_EQ(parsed.state(), v1::ConnectLink::PENDING);
  EXPECT_NE(r.out.find("\"expireTime\": \"2026-12-14T00:00:00Z\""), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("\u2588"), std::string::npos) << "the QR code, on stderr";
  EXPECT_EQ(r.out.find("\u2588"), std::string::npos);
}

TEST_F(ConnectTest, QrCodeFollowsTheTextOutput) {
  CliResult r = Cli({"connect", "--qr", std::string("--leaf_user_id=") + kUser});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t url = r.out.find("url:");
  const size_t qr = r.out.find("\u2588\u2588\u2588\u2588");
  ASSERT_NE(qr, std::string::npos) << r.out;
  EXPECT_LT(url, qr);
  EXPECT_NE(r.out.find("scan to open https://connect.example.com/connect/L1\n"), std::string::npos);
}

TEST_F(ConnectTest, ServerErrorsAreReportedWithTheirReason) {
  fake_.refuse_user = kUser;
  CliResult r = Cli({"connect", std::string("--leaf_user_id=") + kUser});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("FAILED_PRECONDITION"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reason: CONNECT_NOT_CONFIGURED"), std::string::npos) << r.err;
}

TEST_F(ConnectTest, GetLinkShowsTheState) {
  CliResult r = Cli({"get-link", "--name=connectLinks/L1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("state:          CONNECTED\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("credentials id: cred-7\n"), std::string::npos) << r.out;

  r = Cli({"get-link", "--name=connectLinks/nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("reason: CONNECT_LINK_NOT_FOUND"), std::string::npos) << r.err;
}

TEST_F(ConnectTest, HostileUrlIsEscapedAndTheApiKeyNeverPrinted) {
  fake_.link_url_suffix = std::string("\x1b[2J") + kApiKey;
  CliResult r = Cli({"connect", "--qr", std::string("--api_key=") + kApiKey,
                     std::string("--leaf_user_id=") + kUser});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fake_.authorization(), std::string("Bearer ") + kApiKey);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.out.find(kApiKey), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(kApiKey), std::string::npos) << r.err;
}

TEST_F(ConnectTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"connect"}, "missing required flag --leaf_user_id"},
      {{"connect", std::string("--leaf_user_id=") + kUser, "--ttl=31d"}, "out of range"},
      {{"connect", std::string("--leaf_user_id=") + kUser, "--ttl=30s"}, "out of range"},
      {{"connect", std::string("--leaf_user_id=") + kUser, "--ttl=soon"}, "not a duration"},
      {{"connect", std::string("--leaf_user_id=") + kUser, "--ttl=-1d"}, "not a duration"},
      {{"connect", std::string("--leaf_user_id=") + kUser, "--name=connectLinks/x"},
       "unknown flag"},
      {{"get-link"}, "missing required flag --name"},
      {{"get-link", "--name=L1"}, "connectLinks/ID"},
      {{"get-link", "--name=connectLinks/"}, "connectLinks/ID"},
      {{"audit", "--ttl=7d"}, "need --links"},
  };
  for (const Case& c : cases) {
    CliResult r = Cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_TRUE(fake_.creates().empty());
}

TEST_F(ConnectTest, TtlInHoursAndMinutes) {
  ParseResult p = Parse({"connect", std::string("--leaf_user_id=") + kUser, "--ttl=90m"});
  ASSERT_EQ(p.outcome, ParseResult::Outcome::kRun) << p.message;
  EXPECT_EQ(p.invocation.connect_request.ttl().seconds(), 90 * 60);
  p = Parse({"connect", std::string("--leaf_user_id=") + kUser, "--ttl=30d"});
  ASSERT_EQ(p.outcome, ParseResult::Outcome::kRun) << p.message;
  EXPECT_EQ(p.invocation.connect_request.ttl().seconds(), 30 * 86400);
}

class AuditLinksTest : public ConnectTest {
 protected:
  CliResult Audit(std::vector<std::string> extra) {
    const std::string users = WriteFile(
        "links_users.txt", absl::StrCat(kReauthUser, "\n", kDeniedUser, "\n", kOkUser, "\n"));
    std::vector<std::string> args = {"audit", "--links", "--progress=none", "--users=" + users};
    args.insert(args.end(), extra.begin(), extra.end());
    return Cli(args);
  }
};

TEST_F(AuditLinksTest, TableHasALinkOrTheRowsFailure) {
  fake_.refuse_user = kDeniedUser;
  CliResult r = Audit({"--ttl=3d", "--return_url=https://app.example.com/back"});
  EXPECT_EQ(r.exit_code, 3) << "a link failure is not fatal: " << r.err;
  const std::vector<std::string> lines = absl::StrSplit(r.out, '\n');
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_NE(lines[0].find("CONNECT LINK"), std::string::npos) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[1], kReauthUser)) << r.out;
  EXPECT_TRUE(absl::EndsWith(lines[1], "https://connect.example.com/connect/L1")) << lines[1];
  EXPECT_TRUE(absl::StartsWith(lines[2], kDeniedUser)) << r.out;
  EXPECT_TRUE(absl::EndsWith(lines[2], "error: CONNECT_NOT_CONFIGURED")) << lines[2];
  EXPECT_TRUE(absl::StartsWith(lines[3], kOkUser)) << r.out;
  EXPECT_TRUE(absl::EndsWith(lines[3], "-")) << lines[3];
  EXPECT_NE(r.out.find("1 connect links created, 1 could not be created"), std::string::npos);
  // Only the users who must re-authorize, with the flags' options.
  std::vector<v1::CreateConnectLinkRequest> creates = fake_.creates();
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[0].leaf_user_id(), kReauthUser);
  EXPECT_EQ(creates[1].leaf_user_id(), kDeniedUser);
  EXPECT_EQ(creates[0].ttl().seconds(), 3 * 86400);
  EXPECT_EQ(creates[0].return_url(), "https://app.example.com/back");
}

TEST_F(AuditLinksTest, CsvColumns) {
  fake_.refuse_user = kDeniedUser;
  CliResult r = Audit({"--csv"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const std::vector<std::string> lines = absl::StrSplit(r.out, '\n');
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_TRUE(absl::EndsWith(lines[0], ",connect_link,connect_link_name,connect_link_error"));
  EXPECT_TRUE(absl::EndsWith(lines[1], ",https://connect.example.com/connect/L1,connectLinks/L1,"))
      << lines[1];
  EXPECT_TRUE(absl::EndsWith(lines[2], ",,,CONNECT_NOT_CONFIGURED")) << lines[2];
  EXPECT_TRUE(absl::EndsWith(lines[3], ",,,")) << lines[3];
}

TEST_F(AuditLinksTest, JsonLinesFields) {
  fake_.refuse_user = kDeniedUser;
  CliResult r = Audit({"--json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_NE(lines[0].find("\"connectLink\":\"https://connect.example.com/connect/L1\","
                          "\"connectLinkName\":\"connectLinks/L1\",\"connectLinkError\":\"\""),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("\"connectLink\":\"\",\"connectLinkName\":\"\","
                          "\"connectLinkError\":\"CONNECT_NOT_CONFIGURED\""),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find("\"connectLink\":\"\""), std::string::npos) << lines[2];
}

TEST_F(AuditLinksTest, WithoutLinksNothingChanges) {
  const std::string users = WriteFile("plain_users.txt", absl::StrCat(kReauthUser, "\n"));
  CliResult r = Cli({"audit", "--csv", "--progress=none", "--users=" + users});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out.find("connect_link"), std::string::npos) << r.out;
  EXPECT_TRUE(fake_.creates().empty());
}

TEST_F(AuditLinksTest, HostileLinkUrlCannotBreakTheCsv) {
  fake_.link_url_suffix = "\",=cmd\n";
  CliResult r = Audit({"--csv"});
  const std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 4u) << r.out;  // header + 3 rows: no injected line
}

}  // namespace
}  // namespace leafsvc::client
