// Links and attempts in this process's memory: for a server without
// --redis_url. A restart forgets every link (GetConnectLink then answers
// CONNECT_LINK_NOT_FOUND) and every attempt in progress. Bounded: when full,
// what has expired is dropped first; if nothing has, new links or attempts
// are refused (RESOURCE_EXHAUSTED) rather than dropping live ones.
// Thread-safe; callbacks run inline, outside the lock.
#ifndef SERVER_CONNECT_MEMORY_LINK_STORE_H_
#define SERVER_CONNECT_MEMORY_LINK_STORE_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/connect/link_store.h"

namespace leafsvc::connect {

struct MemoryLinkStoreOptions {
  size_t max_links = 100000;
  size_t max_attempts = 100000;
  std::function<absl::Time()> clock;  // absl::Now when empty
};

class MemoryLinkStore final : public LinkStore {
 public:
  explicit MemoryLinkStore(MemoryLinkStoreOptions options = {});

  void CreateLink(const ConnectLink& link, StatusDone done) override;
  void GetLink(const std::string& id, LinkDone done) override;
  void UpdateLink(const std::string& id, const LinkUpdate& update, LinkDone done) override;
  void PutAttempt(const Attempt& attempt, StatusDone done) override;
  void TakeAttempt(const std::string& state_hash, AttemptDone done) override;

  size_t link_count() const;
  size_t attempt_count() const;

 private:
  absl::Time Now() const;
  void DropExpiredLinks(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropExpiredAttempts(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const MemoryLinkStoreOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ConnectLink> links_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Attempt> attempts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_MEMORY_LINK_STORE_H_
