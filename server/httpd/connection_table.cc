#include "server/httpd/connection_table.h"

namespace leafsvc::httpd {

const char* ConnectionTable::Admit(absl::string_view ip) const {
  if (size() >= limits_.max_connections) return kRefusedTooManyConnections;
  if (from(ip) >= limits_.max_connections_per_ip) return kRefusedTooManyConnectionsPerIp;
  return nullptr;
}

void ConnectionTable::Opened(const void* key, int fd, absl::string_view ip, absl::Time now) {
  auto [it, inserted] = connections_.try_emplace(key);
  if (!inserted) return;  // reported twice: count it once
  it->second.fd = fd;
  it->second.ip = std::string(ip);
  it->second.deadline = now + limits_.request_timeout;
  ++per_ip_[it->second.ip];
}

void ConnectionTable::RequestDone(const void* key, absl::Time now) {
  auto it = connections_.find(key);
  if (it == connections_.end() || it->second.overdue) return;
  it->second.deadline = now + limits_.request_timeout;
}

void ConnectionTable::Closed(const void* key) {
  auto it = connections_.find(key);
  if (it == connections_.end()) return;
  auto ip = per_ip_.find(it->second.ip);
  if (ip != per_ip_.end() && --ip->second <= 0) per_ip_.erase(ip);
  connections_.erase(it);
}

absl::Time ConnectionTable::Hold(const void* key) {
  auto it = connections_.find(key);
  if (it == connections_.end()) return absl::InfinitePast();
  it->second.held = true;
  return it->second.deadline;
}

void ConnectionTable::Release(const void* key, absl::Time now) {
  auto it = connections_.find(key);
  if (it == connections_.end() || !it->second.held) return;
  it->second.held = false;
  it->second.deadline = now + limits_.request_timeout;
}

std::vector<int> ConnectionTable::TakeOverdue(absl::Time now) {
  std::vector<int> fds;
  for (auto& [key, e] : connections_) {
    if (!e.overdue && !e.held && e.deadline <= now) {
      e.overdue = true;
      fds.push_back(e.fd);
    }
  }
  return fds;
}

absl::Time ConnectionTable::NextDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [key, e] : connections_) {
    if (!e.overdue && !e.held && e.deadline < next) next = e.deadline;
  }
  return next;
}

int ConnectionTable::from(absl::string_view ip) const {
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace leafsvc::httpd
