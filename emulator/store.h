// What the emulator knows about Leaf's users: each user's credentials (of
// the one provider served) and their event history, plus what a POST over
// existing credentials does. Thread-safe behind its own lock; user ids compare
// case-insensitively, as Leaf's UUIDs do.
#ifndef EMULATOR_STORE_H_
#define EMULATOR_STORE_H_

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "emulator/types.h"

namespace leafemu {

class Store {
 public:
  enum class CreateOutcome {
    kCreated,
    kRefusedBadRequest,  // the user has credentials and the mode is kBadRequest
    kRefusedConflict,    // ... and the mode is kConflict
  };

  // `default_mode` is the duplicate mode at start and after Reset().
  explicit Store(DuplicateCreateMode default_mode);

  // Stores `c` for `user` with `first_event` starting a new history (old
  // events go), unless the user already has credentials and the duplicate
  // mode refuses. Checked and stored atomically.
  CreateOutcome Create(const std::string& user, const StoredCredentials& c,
                       StoredEvent first_event);
  std::optional<StoredCredentials> Get(const std::string& user) const;
  // Newest first; nullopt when the user has no credentials.
  std::optional<std::vector<StoredEvent>> Events(const std::string& user) const;
  // Forgets the credentials and their events; false if there were none.
  bool Erase(const std::string& user);

  // Test controls.
  // Sets the status and records the exchange that led to it
  // (StatusChangeEvent); false if the user has no credentials.
  bool SetStatus(const std::string& user, const std::string& status);
  // Appends `event` (an empty id or date is filled in); false if the user
  // has no credentials.
  bool AddEvent(const std::string& user, StoredEvent event);
  // Stores `c` as is, keeping the user's events; an empty id, status or
  // created time is filled in. Returns what is now stored.
  StoredCredentials Put(const std::string& user, StoredCredentials c);
  // Makes `user` a Leaf user of the API owner (listed by GET /users) without
  // credentials; no-op for a listed user.
  void AddUser(const std::string& user);
  // Leaf's users list (GET /users): every user ever given credentials or
  // added, in id order (lower-cased), whether or not it holds credentials
  // now (deleting credentials does not delete the user). The `limit` users
  // from `offset`; `total` gets the list's length.
  std::vector<std::pair<std::string, std::optional<StoredCredentials>>> ListUsers(
      size_t offset, size_t limit, size_t* total) const;
  void SetDuplicateMode(DuplicateCreateMode mode);
  DuplicateCreateMode duplicate_mode() const;
  // Forgets every user; the duplicate mode goes back to the default.
  void Reset();

 private:
  struct UserRecord {
    StoredCredentials credentials;
    std::vector<StoredEvent> events;  // oldest first
  };

  const DuplicateCreateMode default_mode_;
  mutable std::mutex mu_;
  DuplicateCreateMode mode_;
  std::map<std::string, UserRecord> users_;  // key: lower-cased user id
  std::set<std::string> listed_;             // lower-cased ids GET /users lists
};

}  // namespace leafemu

#endif  // EMULATOR_STORE_H_
