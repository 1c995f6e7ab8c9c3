// Injected misbehaviour: the plan of faults waiting for matching requests,
// and how each kind of fault answers (or fails to answer) a request.
#ifndef EMULATOR_FAULTS_H_
#define EMULATOR_FAULTS_H_

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "emulator/http_server.h"
#include "emulator/types.h"

namespace leafemu {

// "latency_only", "status", ... as the control API spells them.
const char* FaultKindName(Fault::Kind kind);
std::optional<Fault::Kind> FaultKindFromName(absl::string_view name);

// The faults waiting for requests, first injected first. Thread-safe.
class FaultPlan {
 public:
  void Inject(Fault fault);
  void Clear();
  // The first fault that matches (method, path) and whose probability draw
  // hits; its `times` is counted down and it is dropped when used up.
  std::optional<Fault> Take(const std::string& method, const std::string& path);

 private:
  struct ActiveFault {
    Fault fault;
    int remaining;  // -1: forever
  };
  std::mutex mu_;
  std::vector<ActiveFault> faults_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// What applying a fault needs from its surroundings.
struct FaultContext {
  HttpServer* server;  // sleeps that end at Stop(), cutting connections
  // The normal answer, for faults that delay, cut or drip it.
  std::function<void(const httplib::Request&, httplib::Response&)> serve;
  // Records what the client got (0: the connection was cut); may be called
  // after ApplyFault returns, while a body is still being sent.
  std::function<void(int status)> record_status;
};

// Answers `req` as `fault` says (see Fault::Kind).
void ApplyFault(const Fault& fault, const FaultContext& ctx, const httplib::Request& req,
                httplib::Response& res);

// The body served by kHugeBody: {"data":"xxxx...."} padded to exactly `n`
// bytes (tiny sizes degrade to "{}" plus spaces), produced piecewise.
class HugeBody {
 public:
  explicit HugeBody(size_t n);
  // Fills `out` with bytes [offset, offset + len).
  void Fill(size_t offset, size_t len, std::string& out) const;

 private:
  char At(size_t i) const;
  size_t n_;
  absl::string_view prefix_;
  absl::string_view suffix_;
};

// The HTML error page of Leaf's nginx gateway for `status`.
std::string GatewayHtml(int status);
// application/json, text/html or text/plain, by the body's first character.
std::string GuessContentType(const std::string& body);

}  // namespace leafemu

#endif  // EMULATOR_FAULTS_H_
