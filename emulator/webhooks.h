// Leaf's alerts service state: the API owner's webhooks. Leaf allows one
// webhook per event (a second gets 400 eventRegisteredTwice) and no update
// (delete and re-create). Thread-safe.
#ifndef EMULATOR_WEBHOOKS_H_
#define EMULATOR_WEBHOOKS_H_

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace leafemu {

struct Webhook {
  std::string id;
  std::string name;
  std::string url;
  std::string secret;
  std::vector<std::string> events;
};

class WebhookStore {
 public:
  // Stores `hook` with a new id; nullopt (eventRegisteredTwice) when one of
  // its events already has a webhook, with that event in `taken`.
  std::optional<Webhook> Create(Webhook hook, std::string* taken);
  std::vector<Webhook> List() const;
  std::optional<Webhook> Get(const std::string& id) const;
  bool Delete(const std::string& id);
  // The webhooks that carry `event`.
  std::vector<Webhook> ForEvent(const std::string& event) const;
  void Reset();

 private:
  mutable std::mutex mu_;
  int next_id_ = 0;
  std::vector<Webhook> hooks_;
};

// The event an alert about a credential now in `status` belongs to, or
// nullopt (Leaf sends none for OK or TEMPORARILY_UNAVAILABLE).
std::optional<std::string> AlertEventForStatus(const std::string& status);

}  // namespace leafemu

#endif  // EMULATOR_WEBHOOKS_H_
