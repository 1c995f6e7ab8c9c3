// The service torn down (App::~App, as on SIGTERM) while every kind of work
// that calls back later is in flight: a Leaf login (with the webhook
// registrar waiting on it), a read prompted by a Leaf alert, and large bodies
// (past the completion pool's threshold) both on the wire and being
// completed. Nothing may crash, and nothing may run after its object is gone:
// scripts/asan.sh runs this test under AddressSanitizer, which reports any
// use after free.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"
#include "tests/support/free_port.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kUsername[] = "ops@example.com";
// Random-looking: any 8-byte run of a secret is redacted from every log line.
constexpr char kPassword[] = "pw-7Qx2-Lk9v-Zr4m-Tb8n-Wc3p-Hy6j";
constexpr char kSecret[] = "ws-4Fd8-Jq2s-Nv7k-Pb5x-Rm9t-Gz3c-Ye6h";
// Leaf answers 401 for this one: its call starts a new login.
constexpr char kUserRefused[] = "5a1b2c3d-0000-4000-8000-000000000001";
// Its large events list is read over and over while the service stops.
constexpr char kUserBusy[] = "5a1b2c3d-0000-4000-8000-000000000002";

// Events enough for a list body past the completion pool's threshold.
void AddLargeEvents(Harness& h, const std::string& user) {
  for (int i = 0; i < 40; ++i) {
    leafemu::StoredEvent e;
    e.id = absl::StrCat("event-", i);
    e.created_date = "2024-01-01T00:00:00Z";
    e.body = std::string(4096, 'e');
    ASSERT_TRUE(h.emulator().AddEvent(user, e));
  }
}

leafemu::Fault Delay(const std::string& method, const std::string& path, absl::Duration d) {
  leafemu::Fault f;
  f.kind = leafemu::Fault::Kind::kLatencyOnly;
  f.method = method;
  f.path_contains = path;
  f.latency = d;
  f.times = -1;
  return f;
}

TEST(ShutdownLifetimesTest, NothingRunsAfterItsObjectWithALoginAPromptAndLargeBodiesInFlight) {
  const int alerts_port = FreePort();
  const std::string alerts_url = absl::StrCat("http://127.0.0.1:", alerts_port, "/leaf/alerts");
  auto h = Harness::Start(
      [](leafemu::EmulatorOptions& o) {
        o.static_tokens.clear();
        o.accounts[kUsername] = kPassword;
        o.alert_retry_scale = 0.0001;
      },
      [&](ServerConfig& c) {
        c.leaf_token = Secret("");
        c.leaf_username = kUsername;
        c.leaf_password = Secret(kPassword);
        c.watch_poll_interval = absl::Hours(1);
        c.watch_poll_jitter = absl::ZeroDuration();
        c.max_attempts = 1;
        c.alerts_listen = absl::StrCat("127.0.0.1:", alerts_port);
        c.alerts_public_url = alerts_url;
        c.alerts_secret = Secret(kSecret);
        c.alerts_min_prompt_interval = absl::Milliseconds(1);  // the alert prompts at once
      });
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(WaitFor([&] { return h->app().webhook_registrar()->done(); }));
  h->Create(kUserA);
  h->Create(kUserB);
  h->Create(kUserBusy);
  AddLargeEvents(*h, kUserB);
  AddLargeEvents(*h, kUserBusy);

  auto watch = std::make_unique<WatchStream>(h->stub(), std::vector<std::string>{kUserA});
  ASSERT_TRUE(watch->Next().has_value());  // the initial state

  // From here Leaf holds every answer that matters for 5 s: the service is
  // gone before any arrives.
  const absl::Duration hold = absl::Seconds(5);
  const absl::Time held_from = absl::Now();
  h->emulator().InjectFault(Delay("POST", "/api/authenticate", hold));
  h->emulator().InjectFault(Delay("GET", absl::StrCat(kUserA, "/ag-leader-credentials"), hold));
  h->emulator().InjectFault(
      Delay("GET", absl::StrCat(kUserB, "/ag-leader-credentials/events"), hold));
  leafemu::Fault refused;
  refused.kind = leafemu::Fault::Kind::kStatus;
  refused.status = 401;
  refused.method = "GET";
  refused.path_contains = kUserRefused;
  refused.times = -1;
  h->emulator().InjectFault(refused);

  std::vector<std::thread> callers;
  std::atomic<bool> stop{false};
  // Joins the callers however the test ends (an ASSERT included).
  struct JoinAll {
    std::vector<std::thread>& threads;
    std::atomic<bool>& stop;
    ~JoinAll() {
      stop = true;
      for (std::thread& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_all{callers, stop};
  // Large bodies arriving all the time: some are being completed (or wait
  // for a completion thread) when the service stops.
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&] {
      while (!stop.load()) {
        v1::ListCredentialEventsRequest req;
        req.set_leaf_user_id(kUserBusy);
        v1::ListCredentialEventsResponse out;
        grpc::Status st = h->stub().ListCredentialEvents(Harness::Context().get(), req, &out);
        if (!st.ok()) absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }
  // A large body on the wire.
  callers.emplace_back([&] {
    v1::ListCredentialEventsRequest req;
    req.set_leaf_user_id(kUserB);
    v1::ListCredentialEventsResponse out;
    (void)h->stub().ListCredentialEvents(Harness::Context().get(), req, &out);
  });
  // A read prompted by Leaf's alert (the emulator signs and delivers it).
  {
    httplib::Client c(h->emulator().base_url());
    auto r = c.Post(absl::StrCat("/_emulator/users/", kUserA, "/status").c_str(),
                    R"({"status":"UNAUTHENTICATED"})", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  const std::string prompt_path = absl::StrCat(kUserA, "/ag-leader-credentials");
  ASSERT_TRUE(WaitFor([&] { return h->emulator().CountRequests("GET", prompt_path) >= 2; }))
      << "the alert never prompted a read";
  // A login: Leaf refuses this user's resource, the fresh token is dropped
  // and a new login starts (held by Leaf).
  const int logins_before = h->emulator().CountRequests("POST", "/api/authenticate");
  callers.emplace_back([&] {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(kUserRefused);
    v1::Credentials out;
    (void)h->stub().GetCredentials(Harness::Context().get(), req, &out);
  });

  ASSERT_TRUE(WaitFor([&] {
    return h->emulator().CountRequests("POST", "/api/authenticate") > logins_before;
  })) << "the login never started";
  ASSERT_TRUE(WaitFor([&] {
    return h->emulator().CountRequests("GET",
                                       absl::StrCat(kUserB, "/ag-leader-credentials/events")) >= 1;
  }));
  // The registrar now also waits on the login in flight.
  h->app().webhook_registrar()->Start();
  absl::SleepFor(absl::Milliseconds(100));
  // Still held by Leaf: in flight when the service stops.
  ASSERT_LT(absl::Now() - held_from, hold - absl::Seconds(1));

  const absl::Time stopping = absl::Now();
  h->app().Shutdown(absl::ZeroDuration());
  stop = true;
  for (std::thread& t : callers) t.join();
  watch.reset();
  h.reset();  // App::~App, then the emulator (which waits out its held answers)
  // Shutdown did not wait for Leaf's held answers.
  EXPECT_LT(absl::Now() - stopping, hold + absl::Seconds(3));
}

}  // namespace
}  // namespace leafsvc::testing
