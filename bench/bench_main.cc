// bench: runs the fast upstream and the service as child processes on
// loopback, drives each with its load generator at every concurrency, holds
// many calls in flight for the memory check, and reports (see bench/run.sh).
//
//   bench --upstream_bin=PATH --server_bin=PATH [--out_dir=bench/out]
//         [--upstream=fast|emulator --emulator_bin=PATH]
//         [--concurrency=1,16,64] [--modes=direct,through] [--warmup_ms=1000]
//         [--duration_ms=4000] [--pool=64] [--hold_calls=1000]
//         [--hold_delay_ms=2000] [--upstream_threads=1] [--upstream_delay_ms=0]
//         [--perf_record=FILE] [--perf_args="-e cpu-clock -F 1999 -g"]
//         [--server_prefix="valgrind --tool=callgrind ..."]
//         [--server_args="--log_level=warning ..."] [--note=TEXT]
//         [--begin_cmd=CMD] [--end_cmd=CMD]    ({pid} = the service's pid)
#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/load.h"
#include "bench/report.h"
#include "bench/stats.h"

namespace bench {
namespace {

// A Leaf user id, and the token the service and the direct client present.
constexpr char kUserId[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kToken[] = "bench-static-token";

struct Flags {
  std::string upstream_bin, server_bin, out_dir = "bench/out";
  std::vector<int> concurrency = {1, 16, 64};
  std::vector<std::string> modes = {"direct", "through"};
  int warmup_ms = 1000, duration_ms = 4000, pool = 64;
  int hold_calls = 1000, hold_delay_ms = 2000, upstream_threads = 1, upstream_delay_ms = 0;
  std::string perf_record, perf_args = "-e cpu-clock -F 1999 -g";
  std::string server_prefix, server_args, begin_cmd, end_cmd, note;
  std::string upstream = "fast", emulator_bin;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "bench: expected --name=value, got %s\n", arg.c_str());
      return false;
    }
    const std::string name = arg.substr(2, eq - 2), v = arg.substr(eq + 1);
    if (name == "upstream_bin")
      f->upstream_bin = v;
    else if (name == "server_bin")
      f->server_bin = v;
    else if (name == "out_dir")
      f->out_dir = v;
    else if (name == "concurrency") {
      f->concurrency.clear();
      for (const std::string& c : Split(v, ',')) f->concurrency.push_back(std::atoi(c.c_str()));
    } else if (name == "modes")
      f->modes = Split(v, ',');
    else if (name == "warmup_ms")
      f->warmup_ms = std::atoi(v.c_str());
    else if (name == "duration_ms")
      f->duration_ms = std::atoi(v.c_str());
    else if (name == "pool")
      f->pool = std::atoi(v.c_str());
    else if (name == "hold_calls")
      f->hold_calls = std::atoi(v.c_str());
    else if (name == "hold_delay_ms")
      f->hold_delay_ms = std::atoi(v.c_str());
    else if (name == "upstream_threads")
      f->upstream_threads = std::atoi(v.c_str());
    else if (name == "upstream_delay_ms")
      f->upstream_delay_ms = std::atoi(v.c_str());
    else if (name == "perf_record")
      f->perf_record = v;
    else if (name == "perf_args")
      f->perf_args = v;
    else if (name == "server_prefix")
      f->server_prefix = v;
    else if (name == "server_args")
      f->server_args = v;
    else if (name == "note")
      f->note = v;
    else if (name == "upstream")
      f->upstream = v;
    else if (name == "emulator_bin")
      f->emulator_bin = v;
    else if (name == "begin_cmd")
      f->begin_cmd = v;
    else if (name == "end_cmd")
      f->end_cmd = v;
    else {
      std::fprintf(stderr, "bench: unknown flag --%s\n", name.c_str());
      return false;
    }
  }
  if (f->server_bin.empty() || (f->upstream == "fast" && f->upstream_bin.empty()) ||
      (f->upstream == "emulator" && f->emulator_bin.empty()) ||
      (f->upstream != "fast" && f->upstream != "emulator")) {
    std::fprintf(stderr,
                 "bench: --server_bin is required, and --upstream=fast (default) needs "
                 "--upstream_bin, --upstream=emulator needs --emulator_bin\n");
    return false;
  }
  return true;
}

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // its stdout
};

// Starts argv[0] with `env` added to ours; stdout to a pipe, stderr to
// `log_path`. The child gets SIGKILL if we die.
Child Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& log_path, bool capture_stdout = true) {
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout && pipe2(pipe_fds, O_CLOEXEC) != 0) return {};
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<std::string> full_env;
  for (char** e = environ; *e != nullptr; ++e) full_env.emplace_back(*e);
  for (const std::string& e : env) full_env.push_back(e);
  std::vector<char*> argv_c, env_c;
  for (const std::string& a : args) argv_c.push_back(const_cast<char*>(a.c_str()));
  argv_c.push_back(nullptr);
  for (const std::string& e : full_env) env_c.push_back(const_cast<char*>(e.c_str()));
  env_c.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (capture_stdout) dup2(pipe_fds[1], 1);
    if (log_fd >= 0) dup2(log_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvpe(argv_c[0], argv_c.data(), env_c.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  Child c;
  c.pid = pid;
  if (capture_stdout) {
    close(pipe_fds[1]);
    c.out_fd = pipe_fds[0];
  }
  return c;
}

// Reads the child's stdout until a line containing `marker`; returns the
// port after the line's last ':' (or -1 after `timeout_s`).
int WaitForPort(const Child& c, const std::string& marker, int timeout_s) {
  std::string buf;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{c.out_fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char tmp[512];
    const ssize_t n = read(c.out_fd, tmp, sizeof tmp);
    if (n <= 0) return -1;
    buf.append(tmp, n);
    const std::size_t at = buf.find(marker);
    if (at == std::string::npos) continue;
    const std::size_t eol = buf.find('\n', at);
    if (eol == std::string::npos) continue;
    const std::string line = buf.substr(at, eol - at);
    return std::atoi(line.substr(line.rfind(':') + 1).c_str());
  }
  return -1;
}

int StopChild(pid_t pid, int timeout_s) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

std::size_t AppendBody(char* data, std::size_t size, std::size_t n, void* userp) {
  static_cast<std::string*>(userp)->append(data, size * n);
  return size * n;
}

// One request on a fresh connection (closed afterwards); returns the body.
std::string HttpCall(const std::string& method, const std::string& url,
                     const std::string& request_body = "") {
  std::string body;
  CURL* easy = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string auth = std::string("Authorization: Bearer ") + kToken;
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

std::string HttpGet(const std::string& url) { return HttpCall("GET", url); }

// The upstream's controls: fast_upstream's /_bench/ endpoints, or the
// emulator's /_emulator/ ones (which have no connection counters).
class UpstreamControl {
 public:
  UpstreamControl(std::string kind, std::string url)
      : kind_(std::move(kind)), url_(std::move(url)) {}
  bool fast() const { return kind_ == "fast"; }
  void SetDelayMs(int ms) {
    if (fast()) {
      HttpGet(url_ + "/_bench/delay?ms=" + std::to_string(ms));
    } else if (ms > 0) {
      HttpCall("POST", url_ + "/_emulator/faults",
               "{\"kind\":\"latency_only\",\"path_contains\":\"ag-leader\",\"times\":-1,"
               "\"latency_ms\":" +
                   std::to_string(ms) + "}");
    } else {
      HttpCall("DELETE", url_ + "/_emulator/faults");
    }
  }
  void ResetStats() {
    if (fast()) HttpGet(url_ + "/_bench/reset_stats");
  }
  std::string Stats() { return fast() ? HttpGet(url_ + "/_bench/stats") : ""; }

 private:
  std::string kind_, url_;
};

std::int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + key.size() + 3);
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Busy CPU seconds of the whole machine (all CPUs), from /proc/stat.
double MachineBusySeconds() {
  const std::string stat = ReadFileOrEmpty("/proc/stat");
  std::istringstream in(stat.substr(0, stat.find('\n')));
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string UtcNow(const char* format) {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, format, std::gmtime(&t));
  return buf;
}

void RunShell(const std::string& templ, pid_t pid) {
  if (templ.empty()) return;
  std::string cmd = templ;
  for (std::size_t at; (at = cmd.find("{pid}")) != std::string::npos;) {
    cmd.replace(at, 5, std::to_string(pid));
  }
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "bench: '%s' failed\n", cmd.c_str());
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  mkdir(flags.out_dir.c_str(), 0755);

  Report report;
  report.started_at = UtcNow("%Y-%m-%dT%H:%M:%SZ");
  report.machine = DescribeMachine();
  report.config["upstream"] =
      flags.upstream == "emulator"
          ? "leaf_emulator (cpp-httplib, 64-thread pool)"
          : "fast_upstream (epoll, " + std::to_string(flags.upstream_threads) + " thread)";
  report.config["service_pool"] = std::to_string(flags.pool);
  report.config["upstream_delay_ms"] = std::to_string(flags.upstream_delay_ms);
  report.config["warmup_ms"] = std::to_string(flags.warmup_ms);
  report.config["duration_ms"] = std::to_string(flags.duration_ms);
  if (!flags.server_prefix.empty()) report.config["server_prefix"] = flags.server_prefix;
  if (!flags.server_args.empty()) report.config["server_args"] = flags.server_args;
  if (!flags.note.empty()) report.config["note"] = flags.note;

  // Children.
  const std::string upstream_log = flags.out_dir + "/upstream.log";
  const std::string server_log = flags.out_dir + "/server.log";
  std::remove(upstream_log.c_str());
  std::remove(server_log.c_str());
  const bool emulator = flags.upstream == "emulator";
  Child upstream = emulator
                       ? Spawn({flags.emulator_bin, "--port=0", std::string("--token=") + kToken,
                                "--max_recorded_requests=1000"},
                               {}, upstream_log)
                       : Spawn({flags.upstream_bin, "--port=0",
                                "--threads=" + std::to_string(flags.upstream_threads)},
                               {}, upstream_log);
  const int upstream_port = WaitForPort(upstream, "listening on", 10);
  if (upstream_port <= 0) {
    std::fprintf(stderr, "bench: the upstream did not start (see %s)\n", upstream_log.c_str());
    StopChild(upstream.pid, 2);
    return 1;
  }
  const std::string upstream_url = "http://127.0.0.1:" + std::to_string(upstream_port);
  UpstreamControl control(flags.upstream, upstream_url);
  if (emulator) {
    // The emulator serves stored credentials only: store the benchmark's.
    HttpCall(
        "POST",
        upstream_url + "/services/usermanagement/api/users/" + kUserId + "/ag-leader-credentials",
        "{\"refreshToken\":\"bench-refresh-token-0001\",\"publicKey\":\"bench-public-key\","
        "\"privateKey\":\"bench-private-key-0002\"}");
  }
  std::vector<std::string> server_args = Split(flags.server_prefix, ' ');
  for (const std::string& a :
       {flags.server_bin, std::string("--listen=127.0.0.1:0"), "--leaf_api_url=" + upstream_url,
        "--max_connections_per_host=" + std::to_string(flags.pool),
        std::string("--shutdown_grace=2s")}) {
    server_args.push_back(a);
  }
  for (const std::string& a : Split(flags.server_args, ' ')) server_args.push_back(a);
  Child server = Spawn(server_args, {std::string("AGLEADER_LEAF_TOKEN=") + kToken}, server_log);
  const int server_port = WaitForPort(server, "listening on", 120);
  if (server_port <= 0) {
    std::fprintf(stderr, "bench: the service did not start (see %s)\n", server_log.c_str());
    StopChild(server.pid, 5);
    StopChild(upstream.pid, 2);
    return 1;
  }
  const std::string target = "127.0.0.1:" + std::to_string(server_port);
  const std::string credentials_url =
      upstream_url + "/services/usermanagement/api/users/" + kUserId + "/ag-leader-credentials";
  std::fprintf(stderr, "bench: upstream on %s (pid %d), service on %s (pid %d)\n",
               upstream_url.c_str(), upstream.pid, target.c_str(), server.pid);

  control.SetDelayMs(flags.upstream_delay_ms);
  for (int c : flags.concurrency) {
    for (const std::string& mode : flags.modes) {
      const bool through = mode == "through";
      RunRecord rec;
      rec.mode = mode;
      rec.concurrency = c;
      double s0 = 0, u0 = 0, l0 = 0, m0 = 0;
      std::int64_t x0 = 0;
      pid_t perf_pid = -1;
      LoadOptions opts;
      opts.concurrency = c;
      opts.warmup = std::chrono::milliseconds(flags.warmup_ms);
      opts.duration = std::chrono::milliseconds(flags.duration_ms);
      opts.on_begin = [&] {
        if (through && !flags.perf_record.empty()) {
          std::vector<std::string> args = {
              "perf", "record", "-o", flags.perf_record, "-p", std::to_string(server.pid)};
          for (const std::string& a : Split(flags.perf_args, ' ')) args.push_back(a);
          perf_pid = Spawn(args, {}, flags.out_dir + "/perf.log", false).pid;
        }
        if (through) RunShell(flags.begin_cmd, server.pid);
        x0 = ContextSwitches(server.pid);
        s0 = ProcessCpuSeconds(server.pid);
        u0 = ProcessCpuSeconds(upstream.pid);
        l0 = SelfCpuSeconds();
        m0 = MachineBusySeconds();
      };
      opts.on_end = [&] {
        const double s1 = ProcessCpuSeconds(server.pid), u1 = ProcessCpuSeconds(upstream.pid);
        const double l1 = SelfCpuSeconds(), m1 = MachineBusySeconds();
        // The service idles during direct runs; its CPU is counted as ours
        // to find what the rest of the machine used.
        rec.upstream_cpu_s = u1 - u0;
        rec.loadgen_cpu_s = l1 - l0;
        rec.foreign_cpu_s = std::max(0.0, (m1 - m0) - (s1 - s0) - (u1 - u0) - (l1 - l0));
        if (through) {
          rec.service_cpu_s = s1 - s0;
          rec.service_ctx_switches = ContextSwitches(server.pid) - x0;
          RunShell(flags.end_cmd, server.pid);
        }
        if (perf_pid > 0) {
          kill(perf_pid, SIGINT);
          int st;
          waitpid(perf_pid, &st, 0);
        }
      };
      control.ResetStats();
      std::fprintf(stderr, "bench: %s C=%d ...\n", mode.c_str(), c);
      LoadResult load =
          through ? RunGrpc(target, kUserId, opts) : RunDirect(credentials_url, kToken, opts);
      rec.requests = load.requests;
      rec.errors = load.errors;
      rec.first_error = load.first_error;
      rec.seconds = load.seconds;
      rec.rps = load.seconds > 0 ? static_cast<double>(load.requests) / load.seconds : 0;
      rec.latency = Summarize(load.latencies_ns);
      rec.upstream_max_connections = JsonInt(control.Stats(), "max_open_connections");
      if (through) {
        rec.service_rss_kb = StatusField(server.pid, "VmRSS");
        rec.service_hwm_kb = StatusField(server.pid, "VmHWM");
        rec.service_threads = StatusField(server.pid, "Threads");
        rec.service_upstream_connections = CountEstablishedTo(server.pid, upstream_port);
      }
      report.runs.push_back(rec);
    }
  }

  if (flags.hold_calls > 0) {
    std::fprintf(stderr, "bench: memory check, %d calls held %d ms ...\n", flags.hold_calls,
                 flags.hold_delay_ms);
    HoldRecord h;
    h.calls = flags.hold_calls;
    h.pool_size = flags.pool;
    h.delay_ms = flags.hold_delay_ms;
    h.rss_before_kb = StatusField(server.pid, "VmRSS");
    h.threads_before = StatusField(server.pid, "Threads");
    control.SetDelayMs(flags.hold_delay_ms);
    control.ResetStats();
    HoldOptions opts;
    opts.calls = flags.hold_calls;
    opts.hold = std::chrono::milliseconds(std::max(200, flags.hold_delay_ms * 3 / 4));
    opts.sample = [&] {
      h.rss_kb = StatusField(server.pid, "VmRSS");
      h.hwm_kb = StatusField(server.pid, "VmHWM");
      h.threads_during = StatusField(server.pid, "Threads");
      h.upstream_connections = CountEstablishedTo(server.pid, upstream_port);
      const std::string stats = control.Stats();
      h.upstream_open_connections = JsonInt(stats, "open_connections");
      h.upstream_requests = JsonInt(stats, "requests");
    };
    HoldResult held = HoldCalls(target, kUserId, opts);
    control.SetDelayMs(flags.upstream_delay_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    h.threads_after = StatusField(server.pid, "Threads");
    h.completed_before_sample = held.completed_before_sample;
    h.final_codes = held.final_codes;
    h.seconds_to_drain = held.seconds_to_drain;
    report.hold = h;
  }

  const int server_status = StopChild(server.pid, 15);
  StopChild(upstream.pid, 5);
  report.machine.loadavg_end = ReadFileOrEmpty("/proc/loadavg");
  while (!report.machine.loadavg_end.empty() && report.machine.loadavg_end.back() == '\n') {
    report.machine.loadavg_end.pop_back();
  }
  if (!(WIFEXITED(server_status) && WEXITSTATUS(server_status) == 0)) {
    std::fprintf(stderr, "bench: the service did not exit cleanly (status %d)\n", server_status);
  }

  const std::string table = RenderTable(report);
  std::fputs(table.c_str(), stdout);
  const std::string json = RenderJson(report);
  const std::string stamp = UtcNow("%Y%m%dT%H%M%SZ");
  for (const std::string& path :
       {flags.out_dir + "/results.json", flags.out_dir + "/results-" + stamp + ".json"}) {
    std::ofstream(path) << json;
  }
  std::ofstream(flags.out_dir + "/results.txt") << table;
  std::ofstream(flags.out_dir + "/plot.svg") << RenderSvg(report);
  std::fprintf(stdout, "\nWrote %s/results.json, results.txt, plot.svg\n", flags.out_dir.c_str());
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::Main(argc, argv); }
