#include "bench/proc_window.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "bench/child_process.h"
#include "bench/stats.h"

namespace bench {
namespace {

constexpr char kEvent[] = "raw_syscalls:sys_enter";

}  // namespace

bool SyscallCountingAvailable() {
  static const bool available = [] {
    const std::string out = "/tmp/bench-perf-probe-" + std::to_string(getpid());
    const std::string cmd =
        std::string("perf stat -x, -e ") + kEvent + " -o " + out + " -- true >/dev/null 2>&1";
    bool ok = std::system(cmd.c_str()) == 0;
    double count = 0, ns = 0;
    ok = ok && ParsePerfStatSyscalls(ReadFileOrEmpty(out), &count, &ns) && count > 0;
    std::remove(out.c_str());
    return ok;
  }();
  return available;
}

bool ParsePerfStatSyscalls(const std::string& text, double* count, double* running_ns) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(kEvent) == std::string::npos) continue;
    std::vector<std::string> f;
    std::stringstream fields(line);
    std::string item;
    while (std::getline(fields, item, ',')) f.push_back(item);
    // count, unit, event, running time (ns), enabled share (%), ...
    if (f.size() < 4 || f[0].empty() || f[0][0] < '0' || f[0][0] > '9') return false;
    *count = std::atof(f[0].c_str());
    *running_ns = std::atof(f[3].c_str());
    return true;
  }
  return false;
}

ProcWindow::~ProcWindow() { StopSampler(); }

void ProcWindow::StopSampler() {
  sampling_.store(false);
  if (sampler_.joinable()) sampler_.join();
}

void ProcWindow::Begin() {
  StopSampler();
  anon_peak_kb_.store(StatusField(pid_, "RssAnon"));
  sampling_.store(true);
  sampler_ = std::thread([this] {
    while (sampling_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const std::int64_t kb = StatusField(pid_, "RssAnon");
      if (kb > anon_peak_kb_.load()) anon_peak_kb_.store(kb);
    }
  });
  if (SyscallCountingAvailable()) {
    std::remove(scratch_.c_str());
    perf_ = Spawn({"perf", "stat", "-x,", "-e", kEvent, "-o", scratch_, "-p", std::to_string(pid_)},
                  {}, "/dev/null", false)
                .pid;
  }
  ctx0_ = ContextSwitches(pid_);
  cpu0_ = ProcessCpuSeconds(pid_);
}

ProcFigures ProcWindow::End(double window_s) {
  ProcFigures f;
  f.cpu_s = ProcessCpuSeconds(pid_) - cpu0_;
  f.ctx_switches = ContextSwitches(pid_) - ctx0_;
  StopSampler();
  f.anon_peak_kb = std::max(anon_peak_kb_.load(), StatusField(pid_, "RssAnon"));
  f.hwm_kb = StatusField(pid_, "VmHWM");
  f.rss_kb = StatusField(pid_, "VmRSS");
  f.threads = StatusField(pid_, "Threads");
  if (perf_ > 0) {
    kill(perf_, SIGINT);
    int status = 0;
    waitpid(perf_, &status, 0);
    perf_ = -1;
    double count = 0, running_ns = 0;
    if (ParsePerfStatSyscalls(ReadFileOrEmpty(scratch_), &count, &running_ns) && running_ns > 0) {
      // perf attaches a little after the window opened and is stopped a
      // little after it closed: its rate, over the window.
      f.syscalls = count * window_s / (running_ns / 1e9);
    }
    std::remove(scratch_.c_str());
  }
  return f;
}

}  // namespace bench
