#include "emulator/alert_sender.h"

#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/json.h"
#include "server/alerts/signature.h"

namespace leafemu {

std::vector<absl::Duration> AlertSender::RetrySchedule(double scale) {
  return {absl::Minutes(1) * scale, absl::Minutes(30) * scale, absl::Minutes(60) * scale,
          absl::Minutes(240) * scale};
}

AlertSender::AlertSender(double retry_scale)
    : schedule_(RetrySchedule(retry_scale)), thread_([this] { Loop(); }) {}

AlertSender::~AlertSender() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string AlertSender::AlertBody(const std::string& event, const std::string& credential_id,
                                   const std::string& status,
                                   const ::leafsvc::providers::ProviderSpec& provider) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "credential");
  WriteString(w, provider.resource_type);
  WriteKey(w, "provider");
  WriteString(w, provider.name);
  WriteKey(w, "credentialId");
  WriteString(w, credential_id);
  WriteKey(w, "message");
  WriteString(w, event == "credentialsUnauthenticated" ? "Credentials no longer authenticated"
                                                       : "Credentials with limited permissions");
  WriteKey(w, "status");
  WriteString(w, status);
  WriteKey(w, "type");
  WriteString(w, event);
  WriteKey(w, "timestamp");
  WriteString(w, absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()));
  w.EndObject();
  return buf.GetString();
}

std::string AlertSender::ConfirmationBody() {
  return R"({"message":"confirmation of webhook upon registration"})";
}

void AlertSender::Send(const Webhook& hook, std::string body) {
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_.emplace(absl::Now(), Pending{hook, std::move(body), 1});
  }
  cv_.notify_all();
}

int AlertSender::Post(const Pending& p) const {
  // url: http://host:port/path (https needs a client certificate store the
  // emulator does not have; tests deliver over loopback HTTP).
  absl::string_view url = p.hook.url;
  absl::string_view rest = url;
  if (absl::StartsWith(rest, "http://")) rest.remove_prefix(7);
  const size_t slash = rest.find('/');
  const std::string origin =
      std::string(url.substr(0, url.size() - rest.size())) + std::string(rest.substr(0, slash));
  const std::string path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  httplib::Client client(origin);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  httplib::Headers headers = {
      {leafsvc::alerts::kSignatureHeader, leafsvc::alerts::SignBody(p.hook.secret, p.body)}};
  httplib::Result r = client.Post(path.c_str(), headers, p.body, "application/json");
  return r ? r->status : 0;
}

void AlertSender::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (pending_.empty()) {
      cv_.wait(l);
      continue;
    }
    auto next = pending_.begin();
    const absl::Time due = next->first;
    if (due > absl::Now()) {
      cv_.wait_for(l, absl::ToChronoNanoseconds(due - absl::Now()));
      continue;
    }
    Pending p = std::move(next->second);
    pending_.erase(next);
    l.unlock();
    const int status = Post(p);
    l.lock();
    record_.push_back({p.hook.id, p.hook.url, p.body, p.attempt, status});
    if (status >= 200 && status < 300) continue;
    if (p.attempt - 1 < static_cast<int>(schedule_.size())) {
      const absl::Duration delay = schedule_[p.attempt - 1];
      ++p.attempt;
      pending_.emplace(absl::Now() + delay, std::move(p));
    }
  }
}

std::vector<AlertDelivery> AlertSender::Deliveries() const {
  std::lock_guard<std::mutex> l(mu_);
  return record_;
}

void AlertSender::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  pending_.clear();
  record_.clear();
}

}  // namespace leafemu
