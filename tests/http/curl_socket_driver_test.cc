// CurlSocketDriver against a local httplib server, with no event-loop
// thread: the request leaves on the thread that adds the transfer
// (RunDueTimers), only the answer needs a Wait; Wake ends a Wait at once.
#include "server/http/curl_socket_driver.h"

#include <curl/curl.h>
#include <httplib.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/http/http_test_util.h"

namespace leafsvc::http {
namespace {

using ::leafsvc::http::testing::kWait;
using ::leafsvc::http::testing::Notification;
using ::leafsvc::http::testing::TestServer;

size_t Append(char* data, size_t size, size_t n, void* body) {
  static_cast<std::string*>(body)->append(data, size * n);
  return size * n;
}

class CurlSocketDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().Get("/hello", [this](const httplib::Request&, httplib::Response& res) {
      arrived_.Notify();
      // The answer waits until the test has seen the request arrive.
      answer_.WaitForNotificationWithTimeout(kWait);
      res.set_content("hi", "text/plain");
    });
    server_.server().Get("/warm", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("warm", "text/plain");
    });
    ASSERT_TRUE(server_.Start());
    multi_ = curl_multi_init();
    ASSERT_NE(multi_, nullptr);
    driver_ = std::make_unique<CurlSocketDriver>();
    ASSERT_TRUE(driver_->Attach(multi_).ok());
  }

  void TearDown() override {
    answer_.Notify();
    if (easy_ != nullptr) {
      curl_multi_remove_handle(multi_, easy_);  // No-op when already removed.
      curl_easy_cleanup(easy_);
    }
    curl_multi_cleanup(multi_);
    driver_.reset();  // After the multi handle: it may report sockets to remove.
    server_.Stop();
  }

  void AddGet(const char* path = "/hello") {
    if (easy_ == nullptr) easy_ = curl_easy_init();
    curl_easy_setopt(easy_, CURLOPT_URL,
                     absl::StrCat("http://127.0.0.1:", server_.port(), path).c_str());
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &body_);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    ASSERT_EQ(curl_multi_add_handle(multi_, easy_), CURLM_OK);
  }

  // Waits and dispatches, as the loop would, until the transfer is done.
  CURLcode RunToCompletion() {
    const absl::Time give_up = absl::Now() + kWait;
    while (absl::Now() < give_up) {
      driver_->RunDueTimers();
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        const CURLcode result = msg->data.result;
        curl_multi_remove_handle(multi_, easy_);
        return result;
      }
      driver_->Wait(100);
      driver_->Dispatch();
    }
    return CURLE_OPERATION_TIMEDOUT;
  }

  TestServer<httplib::Server> server_;
  Notification arrived_;
  Notification answer_;
  CURLM* multi_ = nullptr;
  CURL* easy_ = nullptr;
  std::string body_;
  std::unique_ptr<CurlSocketDriver> driver_;
};

TEST_F(CurlSocketDriverTest, NoTimerBeforeAnyTransfer) {
  EXPECT_EQ(driver_->TimerDeadline(), absl::InfiniteFuture());
}

// A first transfer leaves a kept-alive connection in curl's cache (a new
// connection needs the loop: its connect completes asynchronously).
TEST_F(CurlSocketDriverTest, TheRequestLeavesOnTheThreadThatAddsIt) {
  AddGet("/warm");
  ASSERT_EQ(RunToCompletion(), CURLE_OK);
  body_.clear();
  AddGet();
  // curl asks for its timer to run at once; nobody waits on the sockets.
  EXPECT_LE(driver_->TimerDeadline(), absl::Now());
  driver_->RunDueTimers();
  // The request reached the server before any Wait or Dispatch.
  ASSERT_TRUE(arrived_.WaitForNotificationWithTimeout(kWait));
  answer_.Notify();
  EXPECT_EQ(RunToCompletion(), CURLE_OK);
  EXPECT_EQ(body_, "hi");
}

TEST_F(CurlSocketDriverTest, WithoutRunningTheTimerNothingLeaves) {
  AddGet("/warm");
  ASSERT_EQ(RunToCompletion(), CURLE_OK);
  AddGet();
  EXPECT_FALSE(arrived_.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  driver_->RunDueTimers();
  EXPECT_TRUE(arrived_.WaitForNotificationWithTimeout(kWait));
}

TEST_F(CurlSocketDriverTest, WakeEndsAWaitAtOnce) {
  std::promise<void> returned;
  std::thread waiter([&] {
    driver_->Wait(60 * 1000);
    returned.set_value();
  });
  absl::SleepFor(absl::Milliseconds(50));
  driver_->Wake();
  EXPECT_EQ(returned.get_future().wait_for(absl::ToChronoMilliseconds(kWait)),
            std::future_status::ready);
  waiter.join();
  // The wake-up is drained by Dispatch: the next Wait sleeps again.
  driver_->Dispatch();
  const absl::Time start = absl::Now();
  driver_->Wait(100);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

}  // namespace
}  // namespace leafsvc::http
