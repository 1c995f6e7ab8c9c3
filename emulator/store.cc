#include "emulator/store.h"

#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "emulator/agleader_events.h"
#include "emulator/ids.h"

namespace leafemu {
namespace {
std::string Key(const std::string& user) { return absl::AsciiStrToLower(user); }
}  // namespace

Store::Store(DuplicateCreateMode default_mode) : default_mode_(default_mode), mode_(default_mode) {}

Store::CreateOutcome Store::Create(const std::string& user, const StoredCredentials& c,
                                   StoredEvent first_event) {
  std::lock_guard<std::mutex> l(mu_);
  if (users_.count(Key(user)) > 0) {
    if (mode_ == DuplicateCreateMode::kBadRequest) return CreateOutcome::kRefusedBadRequest;
    if (mode_ == DuplicateCreateMode::kConflict) return CreateOutcome::kRefusedConflict;
  }
  UserRecord& record = users_[Key(user)];
  listed_.insert(Key(user));
  record.credentials = c;
  record.events.clear();  // a new credential starts a new history
  record.events.push_back(std::move(first_event));
  return CreateOutcome::kCreated;
}

std::optional<StoredCredentials> Store::Get(const std::string& user) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = users_.find(Key(user));
  if (it == users_.end()) return std::nullopt;
  return it->second.credentials;
}

std::optional<std::vector<StoredEvent>> Store::Events(const std::string& user) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = users_.find(Key(user));
  if (it == users_.end()) return std::nullopt;
  const std::vector<StoredEvent>& events = it->second.events;
  return std::vector<StoredEvent>(events.rbegin(), events.rend());
}

bool Store::Erase(const std::string& user) {
  std::lock_guard<std::mutex> l(mu_);
  return users_.erase(Key(user)) > 0;
}

bool Store::SetStatus(const std::string& user, const std::string& status) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = users_.find(Key(user));
  if (it == users_.end()) return false;
  it->second.credentials.status = status;
  it->second.events.push_back(StatusChangeEvent(status));
  return true;
}

bool Store::AddEvent(const std::string& user, StoredEvent event) {
  if (event.id.empty()) event.id = NewUuidV4();
  if (event.created_date.empty()) event.created_date = NowTimestamp();
  std::lock_guard<std::mutex> l(mu_);
  auto it = users_.find(Key(user));
  if (it == users_.end()) return false;
  it->second.events.push_back(std::move(event));
  return true;
}

StoredCredentials Store::Put(const std::string& user, StoredCredentials c) {
  if (c.id.empty()) c.id = NewUuidV4();
  if (c.status.empty()) c.status = "OK";
  if (c.created_time.empty()) c.created_time = NowTimestamp();
  std::lock_guard<std::mutex> l(mu_);
  users_[Key(user)].credentials = c;
  listed_.insert(Key(user));
  return c;
}

void Store::AddUser(const std::string& user) {
  std::lock_guard<std::mutex> l(mu_);
  listed_.insert(Key(user));
}

std::vector<std::pair<std::string, std::optional<StoredCredentials>>> Store::ListUsers(
    size_t offset, size_t limit, size_t* total) const {
  std::lock_guard<std::mutex> l(mu_);
  *total = listed_.size();
  std::vector<std::pair<std::string, std::optional<StoredCredentials>>> out;
  if (offset >= listed_.size()) return out;
  auto it = std::next(listed_.begin(), static_cast<std::ptrdiff_t>(offset));
  for (; it != listed_.end() && out.size() < limit; ++it) {
    auto record = users_.find(*it);
    out.emplace_back(*it, record == users_.end()
                              ? std::nullopt
                              : std::optional<StoredCredentials>(record->second.credentials));
  }
  return out;
}

void Store::SetDuplicateMode(DuplicateCreateMode mode) {
  std::lock_guard<std::mutex> l(mu_);
  mode_ = mode;
}

DuplicateCreateMode Store::duplicate_mode() const {
  std::lock_guard<std::mutex> l(mu_);
  return mode_;
}

void Store::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  users_.clear();
  listed_.clear();
  mode_ = default_mode_;
}

}  // namespace leafemu
