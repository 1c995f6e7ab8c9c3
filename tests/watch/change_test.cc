#include "server/watch/change.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc::watch {
namespace {

TEST(ObservationTest, CredentialsArePresent) {
  leaf::ProviderCredentials c;
  c.id = "c1";
  c.status = "OK";
  Observation o = Observation::FromResult(c);
  EXPECT_EQ(o.kind, Observation::Kind::kPresent);
  EXPECT_EQ(o.credentials.id, "c1");
  EXPECT_EQ(o.credentials.status, "OK");
  EXPECT_TRUE(o.error.ok());
}

TEST(ObservationTest, CredentialsNotFoundMeansTheUserHasNone) {
  Observation o = Observation::FromResult(MakeError(reasons::kCredentialsNotFound, "none"));
  EXPECT_EQ(o.kind, Observation::Kind::kAbsent);
  EXPECT_TRUE(o.error.ok());
}

// Only that reason: a NOT_FOUND for another reason (the Leaf user does not
// exist) or without one is a failed read, not "no credentials".
TEST(ObservationTest, AnyOtherErrorIsAFailedRead) {
  for (const absl::Status& error :
       {absl::NotFoundError("bare"), MakeError(reasons::kLeafUserNotFound, "no such user"),
        absl::UnavailableError("Leaf is down")}) {
    Observation o = Observation::FromResult(error);
    EXPECT_EQ(o.kind, Observation::Kind::kError) << error;
    EXPECT_EQ(o.error, error);
  }
}

// A history entry's `previous`: reads like std::optional, copies deeply,
// and empty costs one pointer.
TEST(HeapOptionalTest, ReadsLikeAnOptionalAndCopiesDeeply) {
  static_assert(sizeof(HeapOptional<Observation>) == sizeof(void*));
  HeapOptional<Observation> empty = std::nullopt;
  EXPECT_FALSE(empty.has_value());
  EXPECT_FALSE(empty);
  EXPECT_FALSE(empty.ToOptional().has_value());
  Observation o;
  o.kind = Observation::Kind::kPresent;
  o.credentials.id = "c1";
  HeapOptional<Observation> a = std::optional<Observation>(o);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->credentials.id, "c1");
  HeapOptional<Observation> b = a;  // a copy, not a share
  b->credentials.id = "c2";
  EXPECT_EQ(a->credentials.id, "c1");
  EXPECT_EQ((*b).credentials.id, "c2");
  b = std::optional<Observation>();
  EXPECT_FALSE(b.has_value());
  b = o;
  EXPECT_EQ(b.ToOptional()->credentials.id, "c1");
  HeapOptional<Observation> moved = std::move(b);
  EXPECT_TRUE(moved.has_value());
}

TEST(ChangeNamesTest, SourcesAndKindsHaveDistinctLowerCaseNames) {
  EXPECT_EQ(SourceName(Source::kInitial), "initial");
  EXPECT_EQ(SourceName(Source::kPoll), "poll");
  EXPECT_EQ(SourceName(Source::kAlert), "alert");
  std::set<std::string> names;
  for (ChangeKind k : {ChangeKind::kInitial, ChangeKind::kCreated, ChangeKind::kStatusChanged,
                       ChangeKind::kReplaced, ChangeKind::kDeleted, ChangeKind::kError}) {
    names.insert(std::string(ChangeKindName(k)));
  }
  EXPECT_EQ(names, (std::set<std::string>{"initial", "created", "status_changed", "replaced",
                                          "deleted", "error"}));
}

}  // namespace
}  // namespace leafsvc::watch
