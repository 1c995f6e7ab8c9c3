#include "tests/integration/fleet_harness.h"

#include <httplib.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/alerts/signature.h"

namespace leafsvc::testing {

namespace v1 = ::leaf::agleader::v1;

absl::StatusOr<std::unique_ptr<FleetHarness>> FleetHarness::Start(
    int replicas, std::function<void(int, ServerConfig&)> tweak,
    std::function<void(leafemu::EmulatorOptions&)> tweak_emulator) {
  std::unique_ptr<FleetHarness> f(new FleetHarness);
  if (absl::Status st = f->redis_.Start(); !st.ok()) return st;
  f->tweak_ = std::move(tweak);
  // Each replica's alert port is known once it has started (port 0 asks for
  // any); a restart asks for the same one again.
  f->alert_ports_.assign(replicas, 0);
  f->apps_.resize(replicas);
  f->stubs_.resize(replicas);
  FleetHarness* raw = f.get();
  f->first_ = Harness::Start(std::move(tweak_emulator), [raw](ServerConfig& c) {
    ServerConfig mine = raw->ConfigFor(0);
    mine.leaf_api_url = c.leaf_api_url;
    c = mine;
  });
  if (f->first_ == nullptr) return absl::InternalError("replica 0 did not start");
  f->alert_ports_[0] = f->first_->app().alerts_port();
  f->stubs_[0] = v1::AgLeaderCredentials::NewStub(f->first_->channel());
  for (int i = 1; i < replicas; ++i) {
    if (absl::Status st = f->Restart(i); !st.ok()) return st;
  }
  return f;
}

FleetHarness::~FleetHarness() {
  stubs_.clear();
  apps_.clear();
  first_.reset();
}

ServerConfig FleetHarness::ConfigFor(int i) {
  ServerConfig c =
      Harness::Config(first_ != nullptr ? first_->emulator().base_url() : std::string());
  c.redis_url = Secret(absl::StrCat("redis://127.0.0.1:", redis_.port(), "/0"));
  c.fleet_size_hint = static_cast<int>(alert_ports_.size());
  c.alerts_listen = absl::StrCat("127.0.0.1:", alert_ports_[i]);
  c.alerts_secret = Secret(kFleetAlertSecret);
  c.alerts_min_prompt_interval = absl::ZeroDuration();
  if (tweak_) tweak_(i, c);
  return c;
}

void FleetHarness::Kill(int i) {
  stubs_[i].reset();
  if (i == 0) {
    first_->app().Shutdown(absl::ZeroDuration());
  } else {
    apps_[i].reset();
  }
}

absl::Status FleetHarness::Restart(int i) {
  if (i == 0) return absl::UnimplementedError("replica 0 holds the emulator");
  apps_[i].reset();
  absl::StatusOr<std::unique_ptr<App>> started = App::Start(ConfigFor(i));
  if (!started.ok() && absl::IsUnavailable(started.status())) {
    // Its port was taken meanwhile (the first start, or a restart after a
    // kill): any port will do, and AlertTo follows it.
    alert_ports_[i] = 0;
    started = App::Start(ConfigFor(i));
  }
  if (!started.ok()) return started.status();
  alert_ports_[i] = (*started)->alerts_port();
  apps_[i] = *std::move(started);
  stubs_[i] = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel(apps_[i]->target(), grpc::InsecureChannelCredentials()));
  return absl::OkStatus();
}

bool FleetHarness::AlertTo(int i, const std::string& user, const std::string& status) {
  if (!emulator().SetCredentialStatus(user, status)) return false;
  const std::string body =
      absl::StrCat(R"({"credentialId":")", emulator().GetStored(user)->id, R"(","status":")",
                   status, R"(","type":"credentialsUnauthenticated"})");
  httplib::Client c("127.0.0.1", alert_ports_[i]);
  auto r = c.Post("/leaf/alerts", {{"X-Leaf-Signature", alerts::SignBody(kFleetAlertSecret, body)}},
                  body, "application/json");
  return r && r->status == 200;
}

bool FleetHarness::RedisUp(int i) {
  return app(i).metrics().Text().find("\nagleader_fleet_redis_up 1") != std::string::npos;
}

}  // namespace leafsvc::testing
