#include "bench/upstream_control.h"

#include <curl/curl.h>

#include <cstdlib>

namespace bench {

namespace {

std::size_t AppendBody(char* data, std::size_t size, std::size_t n, void* userp) {
  static_cast<std::string*>(userp)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string HttpCall(const std::string& method, const std::string& url, const std::string& token,
                     const std::string& request_body) {
  std::string body;
  CURL* easy = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string auth = "Authorization: Bearer " + token;
  headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!request_body.empty()) curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request_body.c_str());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, static_cast<void*>(&body));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(easy) != CURLE_OK) body.clear();
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  return body;
}

std::int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + key.size() + 3);
}

}  // namespace bench
