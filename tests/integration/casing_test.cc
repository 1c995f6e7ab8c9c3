// One spelling of a Leaf user id (CanonicalLeafUserId: lower case) for every
// RPC, both in what reaches Leaf and in the names and ids returned. An id
// sent in upper case used to reach Leaf upper case through
// BatchGetCredentials, and came back as sent from BatchGetCredentials and
// WatchCredentials while GetCredentials lower-cased it.
#include <cctype>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

const std::string kName = std::string("users/") + kUserA + "/agLeaderCredentials";

class CasingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = Harness::Start(nullptr, [](ServerConfig& c) {
      c.watch_poll_interval = absl::Hours(1);  // only the initial read
      c.watch_poll_jitter = absl::ZeroDuration();
    });
    ASSERT_NE(h_, nullptr);
    ASSERT_NE(kUserA, upper_);
    created_ = h_->Create(upper_);
    h_->emulator().ClearRequests();
  }

  // Leaf saw `user` only in the canonical spelling.
  void ExpectLeafSawOnlyLowerCase() {
    EXPECT_GE(h_->emulator().CountRequests("", kUserA), 1);
    EXPECT_EQ(h_->emulator().CountRequests("", upper_), 0);
  }

  std::unique_ptr<Harness> h_;
  const std::string upper_ = Upper(kUserA);
  v1::Credentials created_;
};

TEST_F(CasingTest, CreateAndGetAnswerInLowerCase) {
  EXPECT_EQ(created_.name(), kName);
  EXPECT_EQ(created_.leaf_user_id(), kUserA);
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(upper_);
  v1::Credentials got;
  grpc::Status st = h_->stub().GetCredentials(Harness::Context().get(), req, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(got.name(), kName);
  EXPECT_EQ(got.leaf_user_id(), kUserA);
  ExpectLeafSawOnlyLowerCase();
}

TEST_F(CasingTest, BatchGetSendsAndAnswersLowerCaseLikeGet) {
  v1::BatchGetCredentialsRequest req;
  req.add_leaf_user_ids(upper_);
  req.add_leaf_user_ids(kUserA);  // the same user: fetched once
  v1::BatchGetCredentialsResponse resp;
  grpc::Status st = h_->stub().BatchGetCredentials(Harness::Context().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), 2);
  for (const v1::BatchGetCredentialsResult& r : resp.results()) {
    EXPECT_EQ(r.leaf_user_id(), kUserA);
    ASSERT_TRUE(r.has_credentials()) << r.error().message();
    EXPECT_EQ(r.credentials().name(), kName);
    EXPECT_EQ(r.credentials().leaf_user_id(), kUserA);
    EXPECT_EQ(r.credentials().id(), created_.id());
  }
  EXPECT_EQ(h_->emulator().CountRequests("GET", "ag-leader-credentials"), 1);
  ExpectLeafSawOnlyLowerCase();
}

TEST_F(CasingTest, WatchSendsAndAnswersLowerCaseLikeGet) {
  WatchStream s(h_->stub(), {upper_});
  std::optional<v1::CredentialsChange> c = s.Next();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_INITIAL);
  EXPECT_EQ(c->leaf_user_id(), kUserA);
  ASSERT_TRUE(c->has_current());
  EXPECT_EQ(c->current().name(), kName);
  EXPECT_EQ(c->current().leaf_user_id(), kUserA);
  EXPECT_EQ(c->current().id(), created_.id());
  s.Cancel();
  s.Ended();
  ExpectLeafSawOnlyLowerCase();
}

TEST_F(CasingTest, ListAndEventsAndDeleteUseTheSameNames) {
  v1::ListCredentialsRequest list;
  v1::ListCredentialsResponse listed;
  grpc::Status st = h_->stub().ListCredentials(Harness::Context().get(), list, &listed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(listed.credentials_size(), 1);
  EXPECT_EQ(listed.credentials(0).name(), kName);
  EXPECT_EQ(listed.credentials(0).leaf_user_id(), kUserA);

  v1::ListCredentialEventsRequest events;
  events.set_leaf_user_id(upper_);
  v1::ListCredentialEventsResponse got;
  st = h_->stub().ListCredentialEvents(Harness::Context().get(), events, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (const v1::CredentialEvent& e : got.events()) {
    EXPECT_EQ(e.name().rfind(kName + "/events/", 0), 0u) << e.name();
  }

  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(upper_);
  google::protobuf::Empty empty;
  st = h_->stub().DeleteCredentials(Harness::Context().get(), del, &empty);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ExpectLeafSawOnlyLowerCase();
}

}  // namespace
}  // namespace leafsvc::testing
