// Resuming a WatchCredentials stream through the real stack (emulator, App,
// a real channel): the changes missed while the stream was gone, exactly
// once; RESYNC snapshots when the token cannot be honoured; never silence.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

void FastPolls(ServerConfig& c) {
  c.watch_poll_interval = absl::Milliseconds(150);
  c.watch_poll_jitter = absl::ZeroDuration();
  c.watch_max_backoff = absl::Milliseconds(300);
  c.max_attempts = 1;
}

// A stream that may resume: like WatchStream, with the request's token.
class Stream {
 public:
  Stream(v1::AgLeaderCredentials::Stub& stub, const std::vector<std::string>& users,
         const std::string& resume_token) {
    v1::WatchCredentialsRequest req;
    for (const std::string& u : users) req.add_leaf_user_ids(u);
    req.set_resume_token(resume_token);
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    reader_ = stub.WatchCredentials(&context_, req);
    thread_ = std::thread([this] {
      v1::CredentialsChange change;
      while (reader_->Read(&change)) {
        absl::MutexLock lock(&mu_);
        changes_.push_back(change);
      }
      (void)reader_->Finish();
      absl::MutexLock lock(&mu_);
      ended_ = true;
    });
  }
  ~Stream() {
    context_.TryCancel();
    thread_.join();
  }
  std::optional<v1::CredentialsChange> Next(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Stream* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                               return !s->changes_.empty() || s->ended_;
                             },
                             this),
                         timeout);
    if (changes_.empty()) return std::nullopt;
    v1::CredentialsChange c = changes_.front();
    changes_.pop_front();
    return c;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::CredentialsChange>> reader_;
  absl::Mutex mu_;
  std::deque<v1::CredentialsChange> changes_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// The next change, which must be `kind` for `user`.
v1::CredentialsChange Expect(Stream& s, const std::string& user, v1::ChangeKind kind) {
  std::optional<v1::CredentialsChange> c = s.Next();
  EXPECT_TRUE(c.has_value()) << "expected " << v1::ChangeKind_Name(kind) << " for " << user;
  if (!c) return {};
  EXPECT_EQ(c->leaf_user_id(), user) << c->DebugString();
  EXPECT_EQ(c->kind(), kind) << c->DebugString();
  EXPECT_FALSE(c->resume_token().empty());
  return *c;
}

// Reads `s`'s first change of each of `users` (any order), the last token.
std::string FirstOfEach(Stream& s, int users, v1::ChangeKind kind) {
  std::string token;
  for (int i = 0; i < users; ++i) {
    std::optional<v1::CredentialsChange> c = s.Next();
    EXPECT_TRUE(c.has_value());
    if (!c) return token;
    EXPECT_EQ(c->kind(), kind) << c->DebugString();
    token = c->resume_token();
  }
  return token;
}

void Delete(Harness& h, const std::string& user) {
  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(user);
  google::protobuf::Empty empty;
  ASSERT_TRUE(h.stub().DeleteCredentials(Harness::Context().get(), del, &empty).ok());
}

TEST(WatchResumeTest, ResumeGetsExactlyTheMissedChanges) {
  auto h = Harness::Start(nullptr, FastPolls);
  h->Create(kUserA);
  // Another stream keeps both users watched (and read) while ours is gone.
  Stream keeper(h->stub(), {kUserA, kUserB}, "");
  FirstOfEach(keeper, 2, v1::CHANGE_KIND_INITIAL);
  std::string token;
  {
    Stream first(h->stub(), {kUserA, kUserB}, "");
    token = FirstOfEach(first, 2, v1::CHANGE_KIND_INITIAL);
  }  // dropped
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, "UNAUTHENTICATED"));
  v1::CredentialsChange status = Expect(keeper, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
  Delete(*h, kUserA);
  v1::CredentialsChange deleted = Expect(keeper, kUserA, v1::CHANGE_KIND_DELETED);

  Stream resumed(h->stub(), {kUserA, kUserB}, token);
  v1::CredentialsChange c = Expect(resumed, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(c.current().status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
  EXPECT_EQ(c.resume_token(), status.resume_token());
  c = Expect(resumed, kUserA, v1::CHANGE_KIND_DELETED);
  EXPECT_EQ(c.resume_token(), deleted.resume_token());
  // Nothing else came in between (no INITIAL for either user): the next
  // change of each user is the next one made.
  h->Create(kUserB);
  Expect(resumed, kUserB, v1::CHANGE_KIND_CREATED);
  h->Create(kUserA);
  Expect(resumed, kUserA, v1::CHANGE_KIND_CREATED);
}

// On a new stream a user's first message overtakes changes of others held
// back until it came: its token must not let a resume skip them.
TEST(WatchResumeTest, AFirstMessageSentAheadDoesNotSkipHeldChanges) {
  auto h = Harness::Start(nullptr, FastPolls);
  h->Create(kUserA);
  leafemu::Fault slow;  // B's first read lands well after A's change
  slow.kind = leafemu::Fault::Kind::kLatencyOnly;
  slow.method = "GET";
  slow.path_contains = kUserB;
  slow.latency = absl::Seconds(3);
  slow.times = 1;
  h->emulator().InjectFault(slow);
  Stream s(h->stub(), {kUserA, kUserB}, "");
  v1::CredentialsChange a = Expect(s, kUserA, v1::CHANGE_KIND_INITIAL);
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, "UNAUTHENTICATED"));
  // A's change is found within a few polls but held back behind B's first.
  v1::CredentialsChange b = Expect(s, kUserB, v1::CHANGE_KIND_INITIAL);
  v1::CredentialsChange held = Expect(s, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(b.resume_token(), a.resume_token());
  EXPECT_NE(held.resume_token(), a.resume_token());
  // A stream that ended right after B's first message does not skip A's
  // change: its token predates it (and was sent before the stream knew
  // every user, so the resume starts over with RESYNC snapshots).
  Stream resumed(h->stub(), {kUserA, kUserB}, b.resume_token());
  std::map<std::string, v1::CredentialsChange> first;
  for (int i = 0; i < 2; ++i) {
    std::optional<v1::CredentialsChange> c = resumed.Next();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->kind(), v1::CHANGE_KIND_RESYNC) << c->DebugString();
    first[c->leaf_user_id()] = *c;
  }
  EXPECT_EQ(first[kUserA].current().status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
}

TEST(WatchResumeTest, ResumeAfterNobodyWatchedReportsTheRealChange) {
  auto h = Harness::Start(nullptr, FastPolls);
  h->Create(kUserA);
  std::string token;
  {
    Stream first(h->stub(), {kUserA}, "");
    token = FirstOfEach(first, 1, v1::CHANGE_KIND_INITIAL);
  }
  // Nobody watches A now: its last state lingers, unread.
  ASSERT_TRUE(WaitFor([&] { return h->app().watch_hub().users() == 0; }));
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, "UNAUTHENTICATED"));
  Stream resumed(h->stub(), {kUserA}, token);
  v1::CredentialsChange c = Expect(resumed, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(c.previous().status(), v1::CREDENTIAL_STATUS_OK);
  EXPECT_EQ(c.current().status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
  Delete(*h, kUserA);
  Expect(resumed, kUserA, v1::CHANGE_KIND_DELETED);
}

TEST(WatchResumeTest, GarbageTokensResyncEveryUser) {
  auto h = Harness::Start(nullptr, FastPolls);
  v1::Credentials a = h->Create(kUserA);
  for (const std::string& token : {std::string("garbage"), std::string(4096, 'x'),
                                   std::string("djF8cHwwLTE")}) {  // "v1|p|0-1": another log
    Stream s(h->stub(), {kUserA, kUserB}, token);
    std::map<std::string, v1::CredentialsChange> first;
    for (int i = 0; i < 2; ++i) {
      std::optional<v1::CredentialsChange> c = s.Next();
      ASSERT_TRUE(c.has_value()) << token;
      EXPECT_EQ(c->kind(), v1::CHANGE_KIND_RESYNC) << c->DebugString();
      first[c->leaf_user_id()] = *c;
    }
    EXPECT_EQ(first[kUserA].current().id(), a.id());
    EXPECT_TRUE(first.count(kUserB) > 0 && !first[kUserB].has_current());
  }
}

TEST(WatchResumeTest, ATokenOfAnotherServerResyncs) {
  auto other = Harness::Start(nullptr, FastPolls);
  other->Create(kUserA);
  std::string token;
  {
    Stream s(other->stub(), {kUserA}, "");
    token = FirstOfEach(s, 1, v1::CHANGE_KIND_INITIAL);
  }
  auto h = Harness::Start(nullptr, FastPolls);
  v1::Credentials a = h->Create(kUserA);
  Stream s(h->stub(), {kUserA}, token);
  v1::CredentialsChange c = Expect(s, kUserA, v1::CHANGE_KIND_RESYNC);
  EXPECT_EQ(c.current().id(), a.id());
  // And it goes on like any stream.
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, "UNAUTHENTICATED"));
  Expect(s, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
}

TEST(WatchResumeTest, ATokenOlderThanTheHistoryResyncs) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    FastPolls(c);
    c.watch_resume_history = 2;
  });
  h->Create(kUserA);
  Stream keeper(h->stub(), {kUserA, kUserB}, "");
  FirstOfEach(keeper, 2, v1::CHANGE_KIND_INITIAL);
  std::string token;
  {
    Stream first(h->stub(), {kUserA, kUserB}, "");
    token = FirstOfEach(first, 2, v1::CHANGE_KIND_INITIAL);
  }
  for (const char* status : {"UNAUTHENTICATED", "OK", "UNAUTHENTICATED"}) {
    ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, status));
    Expect(keeper, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
  }
  Stream resumed(h->stub(), {kUserA, kUserB}, token);
  std::map<std::string, v1::CredentialsChange> first;
  for (int i = 0; i < 2; ++i) {
    std::optional<v1::CredentialsChange> c = resumed.Next();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->kind(), v1::CHANGE_KIND_RESYNC) << c->DebugString();
    first[c->leaf_user_id()] = *c;
  }
  EXPECT_EQ(first[kUserA].current().status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
  // A token from within the history still resumes exactly.
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, "OK"));
  v1::CredentialsChange recent = Expect(keeper, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
  Expect(resumed, kUserA, v1::CHANGE_KIND_STATUS_CHANGED);
  Stream again(h->stub(), {kUserA, kUserB}, recent.resume_token());
  h->Create(kUserB);
  Expect(again, kUserB, v1::CHANGE_KIND_CREATED);  // first: nothing was missed
}

}  // namespace
}  // namespace leafsvc::testing
