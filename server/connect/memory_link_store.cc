#include "server/connect/memory_link_store.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"

namespace leafsvc::connect {

MemoryLinkStore::MemoryLinkStore(MemoryLinkStoreOptions options) : options_(std::move(options)) {}

absl::Time MemoryLinkStore::Now() const { return options_.clock ? options_.clock() : absl::Now(); }

void MemoryLinkStore::DropExpiredLinks(absl::Time now) {
  for (auto it = links_.begin(); it != links_.end();) {
    if (it->second.expire_time + kLinkRetention <= now) {
      links_.erase(it++);
    } else {
      ++it;
    }
  }
}

void MemoryLinkStore::DropExpiredAttempts(absl::Time now) {
  for (auto it = attempts_.begin(); it != attempts_.end();) {
    if (it->second.expire_time <= now) {
      attempts_.erase(it++);
    } else {
      ++it;
    }
  }
}

void MemoryLinkStore::CreateLink(const ConnectLink& link, StatusDone done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (links_.contains(link.id)) {
      status = absl::AlreadyExistsError("a connect link with this id exists");
    } else {
      if (links_.size() >= options_.max_links) DropExpiredLinks(Now());
      if (links_.size() >= options_.max_links) {
        status = absl::ResourceExhaustedError("too many connect links in memory");
      } else {
        links_.emplace(link.id, link);
      }
    }
  }
  done(status);
}

void MemoryLinkStore::GetLink(const std::string& id, LinkDone done) {
  std::optional<ConnectLink> found;
  {
    absl::MutexLock lock(&mu_);
    auto it = links_.find(id);
    if (it != links_.end() && it->second.expire_time + kLinkRetention > Now()) found = it->second;
  }
  if (!found) return done(absl::NotFoundError("no such connect link"));
  done(*std::move(found));
}

void MemoryLinkStore::UpdateLink(const std::string& id, const LinkUpdate& update, LinkDone done) {
  absl::StatusOr<ConnectLink> result = absl::NotFoundError("no such connect link");
  {
    absl::MutexLock lock(&mu_);
    auto it = links_.find(id);
    if (it != links_.end()) {
      ConnectLink& link = it->second;
      if (link.state == LinkState::kConnected) {
        result = absl::FailedPreconditionError("the connect link is already connected");
      } else {
        link.state = update.state;
        link.update_time = update.update_time;
        link.error_reason = update.error_reason;
        link.error_message = update.error_message;
        link.credentials_id = update.credentials_id;
        result = link;
      }
    }
  }
  done(std::move(result));
}

void MemoryLinkStore::PutAttempt(const Attempt& attempt, StatusDone done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (attempts_.contains(attempt.state_hash)) {
      status = absl::AlreadyExistsError("an attempt with this state exists");
    } else {
      if (attempts_.size() >= options_.max_attempts) DropExpiredAttempts(Now());
      if (attempts_.size() >= options_.max_attempts) {
        status = absl::ResourceExhaustedError("too many connect attempts in memory");
      } else {
        attempts_.emplace(attempt.state_hash, attempt);
      }
    }
  }
  done(status);
}

void MemoryLinkStore::TakeAttempt(const std::string& state_hash, AttemptDone done) {
  std::optional<Attempt> taken;
  {
    absl::MutexLock lock(&mu_);
    auto it = attempts_.find(state_hash);
    if (it != attempts_.end()) {
      if (it->second.expire_time > Now()) taken = std::move(it->second);
      attempts_.erase(it);
    }
  }
  if (!taken) return done(absl::NotFoundError("no such attempt"));
  done(*std::move(taken));
}

size_t MemoryLinkStore::link_count() const {
  absl::MutexLock lock(&mu_);
  return links_.size();
}

size_t MemoryLinkStore::attempt_count() const {
  absl::MutexLock lock(&mu_);
  return attempts_.size();
}

}  // namespace leafsvc::connect
