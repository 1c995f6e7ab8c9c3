// Talking to the benchmark's upstream over plain HTTP: one-off requests and
// the test controls of fast_upstream or the Leaf emulator.
#ifndef BENCH_UPSTREAM_CONTROL_H_
#define BENCH_UPSTREAM_CONTROL_H_

#include <cstdint>
#include <string>
#include <utility>

namespace bench {

// One request on a fresh connection (closed afterwards), with `token` as
// Bearer; returns the body, empty on a transport failure.
std::string HttpCall(const std::string& method, const std::string& url, const std::string& token,
                     const std::string& request_body = "");

// The upstream's controls: fast_upstream's /_bench/ endpoints, or the
// emulator's /_emulator/ ones (which have no connection counters).
class UpstreamControl {
 public:
  UpstreamControl(std::string kind, std::string url, std::string token)
      : kind_(std::move(kind)), url_(std::move(url)), token_(std::move(token)) {}
  bool fast() const { return kind_ == "fast"; }
  void SetDelayMs(int ms) {
    if (fast()) {
      Get(url_ + "/_bench/delay?ms=" + std::to_string(ms));
    } else if (ms > 0) {
      HttpCall("POST", url_ + "/_emulator/faults", token_,
               "{\"kind\":\"latency_only\",\"path_contains\":\"ag-leader\",\"times\":-1,"
               "\"latency_ms\":" +
                   std::to_string(ms) + "}");
    } else {
      HttpCall("DELETE", url_ + "/_emulator/faults", token_);
    }
  }
  void ResetStats() {
    if (fast()) Get(url_ + "/_bench/reset_stats");
  }
  std::string Stats() { return fast() ? Get(url_ + "/_bench/stats") : ""; }

 private:
  std::string Get(const std::string& url) { return HttpCall("GET", url, token_); }

  std::string kind_, url_, token_;
};

// The integer after "key": in a flat JSON object; -1 when absent.
std::int64_t JsonInt(const std::string& json, const std::string& key);

}  // namespace bench

#endif  // BENCH_UPSTREAM_CONTROL_H_
