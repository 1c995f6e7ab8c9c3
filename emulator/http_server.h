// The emulator's HTTP(S) server and its lifecycle: binds (port 0 picks one),
// serves every method of every path through one handler on a worker pool,
// reports ready once it answers, and stops promptly even with slow answers
// or idle keep-alive connections outstanding. Knows nothing of Leaf.
#ifndef EMULATOR_HTTP_SERVER_H_
#define EMULATOR_HTTP_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "emulator/types.h"

namespace leafemu {

class HttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Uses the host, port, TLS, thread pool and keep-alive fields of
  // `options`. Start() waits until GET `probe_path` answers 200.
  HttpServer(const EmulatorOptions& options, std::string probe_path, Handler handler);
  ~HttpServer();  // stops

  absl::Status Start();
  void Stop();
  int port() const { return port_; }
  std::string base_url() const;  // "http(s)://HOST:PORT"

  // For answers that take their time: sleeps up to `d`, false as soon as
  // the server starts stopping.
  bool SleepUnlessStopping(absl::Duration d);
  bool stopping() const { return stopping_; }
  // Ends the connection of `req` without an answer.
  void CutConnection(const httplib::Request& req, httplib::Response& res);

 private:
  const EmulatorOptions options_;
  const std::string probe_path_;
  const Handler handler_;

  // Plain HTTP, or HTTPS when options_.tls_cert_file is set.
  std::unique_ptr<httplib::Server> server_;
  std::function<void(int)> enlarge_backlog_;
  std::thread thread_;
  int port_ = 0;
  bool started_ = false;

  std::atomic<bool> listen_returned_{false};
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::mutex lifecycle_mu_;
};

}  // namespace leafemu

#endif  // EMULATOR_HTTP_SERVER_H_
