// The "direct" load generator: what a caller talking to Leaf itself would
// do, with the least client overhead libcurl allows (easy handles configured
// once and reused, connections kept alive, one event-loop thread).
#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/load.h"

namespace bench {
namespace {

struct Slot {
  CURL* easy = nullptr;
  std::string body;
  Clock::time_point start;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* userp) {
  static_cast<Slot*>(userp)->body.append(data, size * n);
  return size * n;
}

}  // namespace

LoadResult RunDirect(const std::string& url, const std::string& bearer_token,
                     const LoadOptions& options) {
  LoadResult result;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  const long c = options.concurrency;
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, c);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, c + 4);

  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  const std::string auth = "Authorization: Bearer " + bearer_token;
  headers = curl_slist_append(headers, auth.c_str());

  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < options.concurrency; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->easy = curl_easy_init();
    slot->body.reserve(4096);
    curl_easy_setopt(slot->easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(slot->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(slot->easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(slot->easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(slot->easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(slot->easy, CURLOPT_WRITEDATA, static_cast<void*>(slot.get()));
    curl_easy_setopt(slot->easy, CURLOPT_PRIVATE, static_cast<void*>(slot.get()));
    slots.push_back(std::move(slot));
  }
  result.latencies_ns.reserve(1 << 20);

  MeasureWindow window(options, &result);
  int in_flight = 0;
  auto start = [&](Slot* s) {
    s->body.clear();
    s->start = Clock::now();
    curl_multi_add_handle(multi, s->easy);
    ++in_flight;
  };
  for (auto& s : slots) start(s.get());

  while (in_flight > 0) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      const Clock::time_point now = Clock::now();
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      Slot* s = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&s));
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      curl_multi_remove_handle(multi, easy);
      --in_flight;
      window.Complete(now, s->start, code == CURLE_OK && status == 200, [&] {
        return code != CURLE_OK ? std::string(curl_easy_strerror(code))
                                : "HTTP " + std::to_string(status);
      });
      if (!window.stopping()) start(s);
    }
    if (in_flight > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }

  for (auto& s : slots) curl_easy_cleanup(s->easy);
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
  return result;
}

}  // namespace bench
