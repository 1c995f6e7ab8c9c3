#include "emulator/webhooks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace leafemu {

std::optional<Webhook> WebhookStore::Create(Webhook hook, std::string* taken) {
  std::lock_guard<std::mutex> l(mu_);
  for (const std::string& event : hook.events) {
    for (const Webhook& h : hooks_) {
      if (std::find(h.events.begin(), h.events.end(), event) != h.events.end()) {
        if (taken != nullptr) *taken = event;
        return std::nullopt;
      }
    }
  }
  hook.id = absl::StrCat("webhook-", ++next_id_);
  hooks_.push_back(hook);
  return hook;
}

std::vector<Webhook> WebhookStore::List() const {
  std::lock_guard<std::mutex> l(mu_);
  return hooks_;
}

std::optional<Webhook> WebhookStore::Get(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const Webhook& h : hooks_) {
    if (h.id == id) return h;
  }
  return std::nullopt;
}

bool WebhookStore::Delete(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it =
      std::find_if(hooks_.begin(), hooks_.end(), [&](const Webhook& h) { return h.id == id; });
  if (it == hooks_.end()) return false;
  hooks_.erase(it);
  return true;
}

std::vector<Webhook> WebhookStore::ForEvent(const std::string& event) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Webhook> out;
  for (const Webhook& h : hooks_) {
    if (std::find(h.events.begin(), h.events.end(), event) != h.events.end()) out.push_back(h);
  }
  return out;
}

void WebhookStore::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  hooks_.clear();
}

std::optional<std::string> AlertEventForStatus(const std::string& status) {
  if (status == "UNAUTHENTICATED") return "credentialsUnauthenticated";
  if (status == "MISSING_PERMISSION") return "credentialsLimitedPermission";
  return std::nullopt;
}

}  // namespace leafemu
