// The connect flow's callbacks that must change nothing (replayed,
// tampered, foreign-browser or expired states, expired or connected links,
// racing attempts) and Leaf's answers to the attach (already exists:
// DELETE then POST once; failing: the link FAILED with Leaf's reason),
// against the fakes of connect_service_fixture.h.
#include "tests/connect/connect_service_fixture.h"

namespace leafsvc::connect {
namespace service_test {
namespace {

TEST_F(ConnectServiceTest, ReplayedStateIsRefusedAndChangesNothing) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  CallbackParams p = Callback(*a, "");
  p.error = "access_denied";
  Complete(p);
  ASSERT_EQ(Result()->state, LinkState::kDenied);
  // The same callback again, this time with a code.
  p.error.clear();
  p.code = kCode;
  Complete(p);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetStatusDetails(r.status()).reason, "CONNECT_STATE_INVALID");
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kDenied);
}

TEST_F(ConnectServiceTest, TamperedOrHostileStatesAreRefused) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  CallbackParams good = Callback(*a);
  for (std::string state :
       {good.state.substr(0, 42) + (good.state[42] == 'A' ? "B" : "A"), good.state + "A",
        good.state.substr(1), std::string(""), std::string(100000, 'a'), good.state + "\n",
        std::string("../../etc/passwd"), HashToken(good.state)}) {
    CallbackParams p = good;
    p.state = state;
    Complete(p);
    EXPECT_EQ(GetStatusDetails(Result().status()).reason, "CONNECT_STATE_INVALID");
  }
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kPending);
  // The genuine callback still completes.
  Complete(good);
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));
  EXPECT_EQ(Result()->state, LinkState::kConnected);
}

TEST_F(ConnectServiceTest, AStateFromAnotherBrowserIsRefused) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  absl::StatusOr<AttemptStart> other = Start(l.id);
  for (std::string binding : {other->browser_binding, std::string(""), std::string(1 << 20, 'a'),
                              a->browser_binding + "x", HashToken(a->browser_binding)}) {
    absl::StatusOr<AttemptStart> fresh = Start(l.id);
    CallbackParams p = Callback(*fresh);
    p.browser_binding = binding;
    Complete(p);
    EXPECT_EQ(GetStatusDetails(Result().status()).reason, "CONNECT_STATE_INVALID");
  }
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kPending);
}

TEST_F(ConnectServiceTest, AnExpiredAttemptIsRefused) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  clock_.Advance(absl::Minutes(15));
  Complete(Callback(*a));
  EXPECT_EQ(GetStatusDetails(Result().status()).reason, "CONNECT_STATE_INVALID");
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kPending);
}

TEST_F(ConnectServiceTest, AnExpiredLinkTakesNoAttemptAndNoCallback) {
  const ConnectLink l = NewLink(absl::Minutes(5));
  absl::StatusOr<AttemptStart> a = Start(l.id);
  ASSERT_TRUE(a.ok());
  clock_.Advance(absl::Minutes(6));  // the attempt's 15 minutes are not over
  EXPECT_EQ(GetStatusDetails(Start(l.id).status()).reason, "CONNECT_LINK_EXPIRED");
  Complete(Callback(*a));
  absl::StatusOr<ConnectLink> r = Result();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetStatusDetails(r.status()).reason, "CONNECT_LINK_EXPIRED");
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->StateAt(clock_.Now()), LinkState::kExpired);
}

TEST_F(ConnectServiceTest, AConnectedLinkIsNeverChangedByALateAttempt) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> late = Start(l.id);
  ASSERT_TRUE(Connect(l.id).ok());
  EXPECT_EQ(GetStatusDetails(Start(l.id).status()).reason, "CONNECT_LINK_ALREADY_USED");
  // A late deny and a late code: the link stays connected, nothing is sent.
  CallbackParams p = Callback(*late);
  p.error = "access_denied";
  Complete(p);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, LinkState::kConnected);
  EXPECT_EQ(r->credentials_id, "cred-1");
  EXPECT_EQ(agfiniti_.requests().size(), 1u);
  EXPECT_EQ(leaf_http_.requests().size(), 1u);
  EXPECT_EQ(connected_.size(), 1u);
}

TEST_F(ConnectServiceTest, RacingAttemptsConnectOnce) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  absl::StatusOr<AttemptStart> b = Start(l.id);
  std::optional<absl::StatusOr<ConnectLink>> ra;
  std::optional<absl::StatusOr<ConnectLink>> rb;
  service_->Complete(Callback(*a), [&](auto r) { ra = std::move(r); });
  service_->Complete(Callback(*b), [&](auto r) { rb = std::move(r); });
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));
  ASSERT_TRUE(leaf_http_.Respond(201, R"({"id":"cred-2","status":"OK"})"));
  ASSERT_TRUE(ra.has_value() && rb.has_value());
  EXPECT_EQ((*ra)->credentials_id, "cred-1");
  EXPECT_EQ((*rb)->credentials_id, "cred-1");  // the link as it is: the first one won
  EXPECT_EQ(connected_.size(), 1u);
}

TEST_F(ConnectServiceTest, LeafAlreadyHavingCredentialsIsReplaced) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  Complete(Callback(*a));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(409, R"({"title":"Conflict","status":409})"));
  ASSERT_EQ(leaf_http_.requests().size(), 2u);
  EXPECT_EQ(leaf_http_.requests()[1].method, "DELETE");
  ASSERT_TRUE(leaf_http_.Respond(204));
  ASSERT_EQ(leaf_http_.requests().size(), 3u);
  EXPECT_EQ(leaf_http_.requests()[2].method, "POST");
  EXPECT_TRUE(absl::StrContains(leaf_http_.requests()[2].body, kRefresh));
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, LinkState::kConnected);
  EXPECT_EQ(connected_.size(), 1u);
}

TEST_F(ConnectServiceTest, ASecondAlreadyExistsIsNotLooped) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  Complete(Callback(*a));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(409, "{}"));
  ASSERT_TRUE(leaf_http_.Respond(204));
  ASSERT_TRUE(leaf_http_.Respond(409, "{}"));
  EXPECT_EQ(leaf_http_.pending(), 0u);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, LinkState::kFailed);
  EXPECT_EQ(r->error_reason, "CREDENTIALS_ALREADY_EXIST");
}

TEST_F(ConnectServiceTest, LeafFailingFailsTheLinkWithLeafsReason) {
  const ConnectLink l = NewLink();
  const std::vector<std::pair<int, std::string>> cases = {
      {500, "LEAF_UNAVAILABLE"}, {400, "LEAF_REJECTED_REQUEST"}, {403, "LEAF_PERMISSION_DENIED"}};
  for (const auto& [status, reason] : cases) {
    absl::StatusOr<AttemptStart> a = Start(l.id);
    Complete(Callback(*a));
    ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
    // Leaf quoting the refresh token back must not leak it.
    ASSERT_TRUE(leaf_http_.Respond(
        status, std::string(R"({"title":"refused refresh token )") + kRefresh + R"("})"));
    absl::StatusOr<ConnectLink> r = Result();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->state, LinkState::kFailed);
    EXPECT_EQ(r->error_reason, reason);
  }
  // The delete failing while replacing.
  absl::StatusOr<AttemptStart> a = Start(l.id);
  Complete(Callback(*a));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(409, "{}"));
  ASSERT_TRUE(leaf_http_.Respond(503, "{}"));
  EXPECT_EQ(Result()->error_reason, "LEAF_UNAVAILABLE");
  EXPECT_TRUE(connected_.empty());
}

}  // namespace
}  // namespace service_test
}  // namespace leafsvc::connect
