// Unit tests of the Store (store.h): credentials, events and duplicate modes.
#include "emulator/store.h"

#include <string>
#include <vector>

#include "emulator/agleader_events.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

constexpr char kUser[] = "5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
constexpr char kUserUpper[] = "5A0F2B7E-1C3D-4E5F-8A9B-0C1D2E3F4A5B";

StoredCredentials Creds(const std::string& refresh_token) {
  StoredCredentials c;
  c.id = "id-" + refresh_token;
  c.status = "OK";
  c.fields["refreshToken"] = refresh_token;
  return c;
}

TEST(StoreTest, CreateThenGetEventsAndEraseIgnoringIdCase) {
  Store store(DuplicateCreateMode::kReplace);
  EXPECT_FALSE(store.Get(kUser));
  EXPECT_FALSE(store.Events(kUser));
  EXPECT_EQ(store.Create(kUser, Creds("rt"), OkEvent()), Store::CreateOutcome::kCreated);
  ASSERT_TRUE(store.Get(kUserUpper));
  EXPECT_EQ(store.Get(kUserUpper)->Field("refreshToken"), "rt");
  ASSERT_TRUE(store.Events(kUser));
  ASSERT_EQ(store.Events(kUser)->size(), 1u);
  EXPECT_EQ((*store.Events(kUser))[0].status_code, 200);
  EXPECT_TRUE(store.Erase(kUserUpper));
  EXPECT_FALSE(store.Get(kUser));
  EXPECT_FALSE(store.Events(kUser));
  EXPECT_FALSE(store.Erase(kUser));
}

TEST(StoreTest, ReplaceStartsANewHistory) {
  Store store(DuplicateCreateMode::kReplace);
  store.Create(kUser, Creds("rt-1"), OkEvent());
  ASSERT_TRUE(store.SetStatus(kUser, "UNAUTHENTICATED"));
  EXPECT_EQ(store.Events(kUser)->size(), 2u);
  EXPECT_EQ(store.Create(kUser, Creds("rt-2"), UnauthenticatedEvent()),
            Store::CreateOutcome::kCreated);
  EXPECT_EQ(store.Get(kUser)->Field("refreshToken"), "rt-2");
  ASSERT_EQ(store.Events(kUser)->size(), 1u);
  EXPECT_EQ((*store.Events(kUser))[0].status_code, 401);
}

TEST(StoreTest, DuplicateModesRefuseWithoutTouchingTheStoredCredentials) {
  Store store(DuplicateCreateMode::kBadRequest);
  store.Create(kUser, Creds("rt-1"), OkEvent());
  EXPECT_EQ(store.Create(kUserUpper, Creds("rt-2"), OkEvent()),
            Store::CreateOutcome::kRefusedBadRequest);
  store.SetDuplicateMode(DuplicateCreateMode::kConflict);
  EXPECT_EQ(store.duplicate_mode(), DuplicateCreateMode::kConflict);
  EXPECT_EQ(store.Create(kUser, Creds("rt-3"), OkEvent()), Store::CreateOutcome::kRefusedConflict);
  EXPECT_EQ(store.Get(kUser)->Field("refreshToken"), "rt-1");
  // A user without credentials is created whatever the mode.
  EXPECT_EQ(store.Create("11111111-2222-3333-4444-555555555555", Creds("x"), OkEvent()),
            Store::CreateOutcome::kCreated);
}

TEST(StoreTest, EventsAreNewestFirstAndAddEventFillsIdAndDate) {
  Store store(DuplicateCreateMode::kReplace);
  StoredEvent later;
  later.status_code = 503;
  EXPECT_FALSE(store.AddEvent(kUser, later));  // no credentials
  store.Create(kUser, Creds("rt"), OkEvent());
  ASSERT_TRUE(store.AddEvent(kUser, later));
  std::vector<StoredEvent> events = *store.Events(kUser);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].status_code, 503);
  EXPECT_FALSE(events[0].id.empty());
  EXPECT_FALSE(events[0].created_date.empty());
  EXPECT_EQ(events[1].status_code, 200);
}

TEST(StoreTest, SetStatusRecordsTheMatchingExchange) {
  Store store(DuplicateCreateMode::kReplace);
  EXPECT_FALSE(store.SetStatus(kUser, "OK"));
  store.Create(kUser, Creds("rt"), OkEvent());
  ASSERT_TRUE(store.SetStatus(kUser, "MISSING_PERMISSION"));
  EXPECT_EQ(store.Get(kUser)->status, "MISSING_PERMISSION");
  EXPECT_EQ((*store.Events(kUser))[0].status_code, 403);
}

TEST(StoreTest, PutFillsDefaultsAndKeepsEvents) {
  Store store(DuplicateCreateMode::kReplace);
  store.Create(kUser, Creds("rt"), OkEvent());
  StoredCredentials bare;
  bare.fields["refreshToken"] = "put";
  StoredCredentials stored = store.Put(kUser, bare);
  EXPECT_FALSE(stored.id.empty());
  EXPECT_EQ(stored.status, "OK");
  EXPECT_FALSE(stored.created_time.empty());
  EXPECT_EQ(store.Get(kUser)->id, stored.id);
  EXPECT_EQ(store.Events(kUser)->size(), 1u);
  // Put on a new user gives it credentials without events.
  store.Put("11111111-2222-3333-4444-555555555555", bare);
  EXPECT_TRUE(store.Events("11111111-2222-3333-4444-555555555555")->empty());
}

TEST(StoreTest, ResetForgetsUsersAndRestoresTheDefaultMode) {
  Store store(DuplicateCreateMode::kConflict);
  store.Create(kUser, Creds("rt"), OkEvent());
  store.SetDuplicateMode(DuplicateCreateMode::kReplace);
  store.Reset();
  EXPECT_FALSE(store.Get(kUser));
  EXPECT_EQ(store.duplicate_mode(), DuplicateCreateMode::kConflict);
}

}  // namespace
}  // namespace leafemu
