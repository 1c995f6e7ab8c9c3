// ListCredentials and BatchGetCredentials through the real stack: emulator
// seeded with users in mixed states, libcurl, gRPC.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kMissingUser[] = "11111111-2222-4333-8444-555555555555";

// Seeded users by status (NONE: no credentials).
std::map<std::string, std::set<std::string>> ByStatus(const leafemu::SeedResult& seeded) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [id, status] : seeded.users) out[status].insert(id);
  return out;
}

google::rpc::ErrorInfo InfoOf(const v1::ErrorStatus& error) {
  // ErrorStatus is wire-compatible with google.rpc.Status.
  google::rpc::Status status;
  EXPECT_TRUE(status.ParseFromString(error.SerializeAsString()));
  google::rpc::ErrorInfo info;
  for (const auto& any : status.details()) {
    if (any.UnpackTo(&info)) return info;
  }
  return info;
}

std::vector<v1::Credentials> ListAll(Harness& h, v1::ListCredentialsRequest request,
                                     int* calls = nullptr, int64_t* total = nullptr) {
  std::vector<v1::Credentials> out;
  for (int i = 0; i < 1000; ++i) {
    v1::ListCredentialsResponse response;
    grpc::Status st = h.stub().ListCredentials(Harness::Context().get(), request, &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (!st.ok()) break;
    if (calls) ++*calls;
    if (total) *total = response.total_size();
    out.insert(out.end(), response.credentials().begin(), response.credentials().end());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return out;
}

TEST(ListCredentials, EveryUserWithCredentialsOnceInBasicView) {
  auto h = Harness::Start();
  leafemu::SeedSpec spec;
  spec.users = 250;
  spec.seed = 7;
  auto by_status = ByStatus(h->emulator().Seed(spec));
  h->emulator().ClearRequests();

  v1::ListCredentialsRequest request;
  request.set_page_size(40);
  int calls = 0;
  int64_t total = 0;
  std::vector<v1::Credentials> listed = ListAll(*h, request, &calls, &total);
  EXPECT_EQ(total, 250);
  const size_t with_credentials = 250 - by_status["NONE"].size();
  ASSERT_EQ(listed.size(), with_credentials);
  EXPECT_EQ(calls, static_cast<int>((with_credentials + 39) / 40));
  std::set<std::string> seen;
  for (const v1::Credentials& c : listed) {
    EXPECT_TRUE(seen.insert(c.leaf_user_id()).second) << "listed twice: " << c.leaf_user_id();
    EXPECT_EQ(by_status[c.leaf_status()].count(c.leaf_user_id()), 1u) << c.leaf_user_id();
    EXPECT_EQ(c.name(), "users/" + c.leaf_user_id() + "/agLeaderCredentials");
    EXPECT_TRUE(c.refresh_token().empty());
    EXPECT_TRUE(c.private_key().empty());
    EXPECT_EQ(c.refresh_token_hint().substr(0, 4), "****");
    EXPECT_TRUE(c.has_create_time());
  }
  EXPECT_EQ(by_status["NONE"].count(listed.front().leaf_user_id()), 0u);
  // 250 users in Leaf pages of 100: three pages, plus at most one re-read
  // per call of the page it resumes in; no per-user GET.
  const int pages = h->emulator().CountRequests("GET", "/api/users");
  EXPECT_GE(pages, 3);
  EXPECT_LE(pages, 3 + calls - 1);
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
}

TEST(ListCredentials, FiltersByStatus) {
  auto h = Harness::Start();
  leafemu::SeedSpec spec;
  spec.users = 120;
  auto by_status = ByStatus(h->emulator().Seed(spec));
  v1::ListCredentialsRequest request;
  request.add_statuses(v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
  request.add_statuses(v1::CREDENTIAL_STATUS_MISSING_PERMISSION);
  std::vector<v1::Credentials> listed = ListAll(*h, request);
  EXPECT_EQ(listed.size(),
            by_status["UNAUTHENTICATED"].size() + by_status["MISSING_PERMISSION"].size());
  for (const v1::Credentials& c : listed) {
    EXPECT_TRUE(c.status() == v1::CREDENTIAL_STATUS_UNAUTHENTICATED ||
                c.status() == v1::CREDENTIAL_STATUS_MISSING_PERMISSION);
  }
}

TEST(ListCredentials, RefusesChangedOrForeignTokens) {
  auto h = Harness::Start();
  leafemu::SeedSpec spec;
  spec.users = 30;
  h->emulator().Seed(spec);
  v1::ListCredentialsRequest request;
  request.set_page_size(5);
  v1::ListCredentialsResponse first;
  ASSERT_TRUE(h->stub().ListCredentials(Harness::Context().get(), request, &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());

  std::string tampered = first.next_page_token();
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  v1::ListCredentialsRequest bad = request;
  bad.set_page_token(tampered);
  v1::ListCredentialsResponse response;
  grpc::Status st = h->stub().ListCredentials(Harness::Context().get(), bad, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "INVALID_PAGE_TOKEN");

  // The same token with another status filter.
  bad.set_page_token(first.next_page_token());
  bad.add_statuses(v1::CREDENTIAL_STATUS_OK);
  st = h->stub().ListCredentials(Harness::Context().get(), bad, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "INVALID_PAGE_TOKEN");

  // A ListCredentialEvents-shaped token is not a listing token.
  bad.clear_statuses();
  bad.set_page_token("not-a-token");
  st = h->stub().ListCredentials(Harness::Context().get(), bad, &response);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "INVALID_PAGE_TOKEN");
}

TEST(ListCredentials, FullViewNeedsTheFlagAndShowsSecretsWithIt) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.allow_full_view = true; });
  leafemu::SeedSpec spec;
  spec.users = 3;
  spec.mix = {{"OK", 1}};
  h->emulator().Seed(spec);
  v1::ListCredentialsRequest request;
  request.set_view(v1::CREDENTIALS_VIEW_FULL);
  std::vector<v1::Credentials> listed = ListAll(*h, request);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].refresh_token().rfind("seeded-refresh-", 0), 0u);

  auto basic_only = Harness::Start();
  v1::ListCredentialsResponse response;
  grpc::Status st =
      basic_only->stub().ListCredentials(Harness::Context().get(), request, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST(ListCredentials, LeafFailureFailsTheCall) {
  auto h = Harness::Start();
  leafemu::Fault fault;
  fault.kind = leafemu::Fault::Kind::kStatus;
  fault.status = 403;
  fault.path_contains = "/api/users";
  h->emulator().InjectFault(fault);
  v1::ListCredentialsResponse response;
  grpc::Status st = h->stub().ListCredentials(Harness::Context().get(),
                                              v1::ListCredentialsRequest(), &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_PERMISSION_DENIED");
}

TEST(BatchGetCredentials, OneResultPerIdInOrderWithPerUserErrors) {
  auto h = Harness::Start();
  leafemu::SeedSpec spec;
  spec.users = 6;
  spec.mix = {{"OK", 1}, {"UNAUTHENTICATED", 1}};
  leafemu::SeedResult seeded = h->emulator().Seed(spec);
  const std::string failing = seeded.users[2].first;
  leafemu::Fault fault;
  fault.kind = leafemu::Fault::Kind::kStatus;
  fault.status = 403;
  fault.path_contains = failing;
  fault.times = -1;
  h->emulator().InjectFault(fault);
  h->emulator().ClearRequests();

  v1::BatchGetCredentialsRequest request;
  for (const auto& [id, status] : seeded.users) request.add_leaf_user_ids(id);
  request.add_leaf_user_ids(kMissingUser);
  // A repeat (in upper case) is answered again but fetched once.
  std::string repeat = seeded.users[0].first;
  for (char& ch : repeat) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  request.add_leaf_user_ids(repeat);

  v1::BatchGetCredentialsResponse response;
  grpc::Status st = h->stub().BatchGetCredentials(Harness::Context().get(), request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(response.results_size(), 8);
  for (int i = 0; i < 6; ++i) {
    const auto& r = response.results(i);
    EXPECT_EQ(r.leaf_user_id(), seeded.users[i].first);
    if (seeded.users[i].first == failing) {
      ASSERT_TRUE(r.has_error());
      EXPECT_EQ(r.error().code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
      EXPECT_EQ(InfoOf(r.error()).reason(), "LEAF_PERMISSION_DENIED");
      EXPECT_EQ(InfoOf(r.error()).metadata().at("leaf_user_id"), failing);
      continue;
    }
    ASSERT_TRUE(r.has_credentials()) << r.error().message();
    EXPECT_EQ(r.credentials().leaf_status(), seeded.users[i].second);
    EXPECT_TRUE(r.credentials().refresh_token().empty());
  }
  ASSERT_TRUE(response.results(6).has_error());
  EXPECT_EQ(response.results(6).error().code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(InfoOf(response.results(6).error()).reason(), "CREDENTIALS_NOT_FOUND");
  // Answered in the one spelling of every RPC (lower case), like GetCredentials.
  EXPECT_EQ(response.results(7).leaf_user_id(), seeded.users[0].first);
  EXPECT_EQ(response.results(7).credentials().id(), response.results(0).credentials().id());
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 7);
}

TEST(BatchGetCredentials, OnlyAnInvalidRequestFailsTheCall) {
  auto h = Harness::Start();
  v1::BatchGetCredentialsResponse response;
  v1::BatchGetCredentialsRequest empty;
  grpc::Status st = h->stub().BatchGetCredentials(Harness::Context().get(), empty, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::BatchGetCredentialsRequest too_many;
  for (int i = 0; i < 501; ++i) too_many.add_leaf_user_ids(kUserA);
  st = h->stub().BatchGetCredentials(Harness::Context().get(), too_many, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::BatchGetCredentialsRequest bad_id;
  bad_id.add_leaf_user_ids(kUserA);
  bad_id.add_leaf_user_ids("not-a-uuid");
  st = h->stub().BatchGetCredentials(Harness::Context().get(), bad_id, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(BadRequestOf(st).field_violations_size(), 1);
  EXPECT_EQ(BadRequestOf(st).field_violations(0).field(), "leaf_user_ids[1]");
  EXPECT_EQ(h->emulator().CountRequests("", "ag-leader-credentials"), 0);
}

// docs/api.md: ListCredentials answers by half its time. A Leaf that drips
// its first page used to hold the call past the caller's deadline (the
// caller saw gRPC's own DEADLINE_EXCEEDED, no ErrorInfo).
TEST(ListCredentials, AnswersByHalfItsDeadlineWhenLeafDripsTheFirstPage) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.upstream_timeout = absl::Seconds(30); });
  leafemu::SeedSpec spec;
  spec.users = 5;
  spec.mix = {{"OK", 1}};
  h->emulator().Seed(spec);
  leafemu::Fault drip;
  drip.kind = leafemu::Fault::Kind::kSlowDrip;
  drip.method = "GET";
  drip.path_contains = "/api/users";
  drip.drip_interval = absl::Milliseconds(300);
  drip.times = -1;
  h->emulator().InjectFault(drip);
  v1::ListCredentialsResponse response;
  const absl::Time start = absl::Now();
  grpc::Status st = h->stub().ListCredentials(Harness::Context(absl::Seconds(4)).get(),
                                              v1::ListCredentialsRequest(), &response);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The service's answer (Leaf's timeout, with ErrorInfo), not gRPC's.
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_TIMEOUT") << st.error_message();
  EXPECT_GE(took, absl::Milliseconds(1900));
  EXPECT_LT(took, absl::Milliseconds(3500));
}

leafemu::Fault SlowGets(absl::Duration latency) {
  leafemu::Fault f;
  f.kind = leafemu::Fault::Kind::kLatencyOnly;
  f.method = "GET";
  f.path_contains = "ag-leader-credentials";
  f.latency = latency;
  f.times = -1;
  return f;
}

v1::BatchGetCredentialsRequest BatchOf(const leafemu::SeedResult& seeded) {
  v1::BatchGetCredentialsRequest request;
  for (const auto& [id, status] : seeded.users) request.add_leaf_user_ids(id);
  return request;
}

TEST(BatchGetCredentials, FanOutIsBounded) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.batch_fan_out = 4; });
  leafemu::SeedSpec spec;
  spec.users = 16;
  spec.mix = {{"OK", 1}};
  auto request = BatchOf(h->emulator().Seed(spec));
  h->emulator().InjectFault(SlowGets(absl::Milliseconds(200)));
  v1::BatchGetCredentialsResponse response;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(h->stub().BatchGetCredentials(Harness::Context().get(), request, &response).ok());
  // 16 users, 4 at a time, 200 ms each: at least four rounds.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(780));
  for (const auto& r : response.results()) EXPECT_TRUE(r.has_credentials());
}

TEST(BatchGetCredentials, DeadlineReportsUsersNotReached) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.batch_fan_out = 2; });
  leafemu::SeedSpec spec;
  spec.users = 20;
  spec.mix = {{"OK", 1}};
  auto request = BatchOf(h->emulator().Seed(spec));
  h->emulator().InjectFault(SlowGets(absl::Milliseconds(400)));
  v1::BatchGetCredentialsResponse response;
  grpc::Status st =
      h->stub().BatchGetCredentials(Harness::Context(absl::Seconds(2)).get(), request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(response.results_size(), 20);
  int ok = 0, not_reached = 0;
  for (const auto& r : response.results()) {
    if (r.has_credentials()) {
      ++ok;
      continue;
    }
    EXPECT_EQ(r.error().code(), static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED));
    if (InfoOf(r.error()).reason() == "BATCH_DEADLINE_EXCEEDED") ++not_reached;
  }
  EXPECT_GE(ok, 2);
  EXPECT_GE(not_reached, 8);
  EXPECT_LT(h->emulator().CountRequests("GET", "ag-leader-credentials"), 20);
}

TEST(BatchGetCredentials, CancelStopsTheFanOut) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.batch_fan_out = 2; });
  leafemu::SeedSpec spec;
  spec.users = 40;
  spec.mix = {{"OK", 1}};
  auto request = BatchOf(h->emulator().Seed(spec));
  h->emulator().InjectFault(SlowGets(absl::Milliseconds(300)));
  auto context = Harness::Context();
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(500));
    context->TryCancel();
  });
  v1::BatchGetCredentialsResponse response;
  grpc::Status st = h->stub().BatchGetCredentials(context.get(), request, &response);
  canceller.join();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  absl::SleepFor(absl::Milliseconds(800));
  const int sent = h->emulator().CountRequests("GET", "ag-leader-credentials");
  EXPECT_LE(sent, 8) << "the batch went on after the cancel";
  // The server is done with the call (nothing left in flight).
  EXPECT_EQ(h->app().active_calls(), 0);
}

}  // namespace
}  // namespace leafsvc::testing
