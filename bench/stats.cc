#include "bench/stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace bench {

std::int64_t Percentile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary Summarize(std::vector<std::int64_t>& latencies_ns) {
  LatencySummary s;
  if (latencies_ns.empty()) return s;
  std::sort(latencies_ns.begin(), latencies_ns.end());
  double sum = 0;
  for (std::int64_t v : latencies_ns) sum += static_cast<double>(v);
  s.count = static_cast<std::int64_t>(latencies_ns.size());
  s.mean_us = sum / static_cast<double>(latencies_ns.size()) / 1e3;
  s.p50_us = static_cast<double>(Percentile(latencies_ns, 0.50)) / 1e3;
  s.p90_us = static_cast<double>(Percentile(latencies_ns, 0.90)) / 1e3;
  s.p99_us = static_cast<double>(Percentile(latencies_ns, 0.99)) / 1e3;
  s.p999_us = static_cast<double>(Percentile(latencies_ns, 0.999)) / 1e3;
  s.max_us = static_cast<double>(latencies_ns.back()) / 1e3;
  return s;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double CpuSecondsFromStat(std::string_view stat, long ticks_per_second) {
  // The command name (field 2) is in parentheses and may hold spaces.
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return -1;
  std::istringstream in(std::string(stat.substr(close + 1)));
  // Fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime stime
  std::string field;
  long long utime = -1, stime = -1;
  for (int i = 3; i <= 15 && (in >> field); ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  if (utime < 0 || stime < 0) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second);
}

double ProcessCpuSeconds(pid_t pid) {
  const std::string stat = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return -1;
  return CpuSecondsFromStat(stat, sysconf(_SC_CLK_TCK));
}

std::int64_t StatusFieldFromText(std::string_view status, std::string_view name) {
  std::size_t pos = 0;
  while (pos < status.size()) {
    std::size_t eol = status.find('\n', pos);
    if (eol == std::string_view::npos) eol = status.size();
    std::string_view line = status.substr(pos, eol - pos);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      return std::atoll(std::string(line.substr(name.size() + 1)).c_str());
    }
    pos = eol + 1;
  }
  return -1;
}

std::int64_t StatusField(pid_t pid, std::string_view name) {
  return StatusFieldFromText(ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/status"), name);
}

std::int64_t ContextSwitches(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return -1;
  std::int64_t total = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string status = ReadFileOrEmpty(tasks + "/" + e->d_name + "/status");
    const std::int64_t v = StatusFieldFromText(status, "voluntary_ctxt_switches");
    const std::int64_t n = StatusFieldFromText(status, "nonvoluntary_ctxt_switches");
    if (v > 0) total += v;
    if (n > 0) total += n;
  }
  closedir(dir);
  return total;
}

int CountEstablishedInTable(std::string_view table, int remote_port,
                            const std::vector<std::uint64_t>& inodes) {
  std::istringstream in{std::string(table)};
  std::string line;
  std::getline(in, line);  // header
  int count = 0;
  while (std::getline(in, line)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    std::istringstream fields(line);
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout;
    std::uint64_t inode = 0;
    if (!(fields >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >>
          inode)) {
      continue;
    }
    if (st != "01") continue;  // TCP_ESTABLISHED
    const std::size_t colon = remote.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::strtol(remote.c_str() + colon + 1, nullptr, 16) != remote_port) continue;
    if (std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) ++count;
  }
  return count;
}

int CountEstablishedTo(pid_t pid, int remote_port) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::vector<std::uint64_t> inodes;
  DIR* dir = opendir((proc + "/fd").c_str());
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) {
    char target[128];
    const std::string link = proc + "/fd/" + e->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    unsigned long long inode = 0;
    if (std::sscanf(target, "socket:[%llu]", &inode) == 1) inodes.push_back(inode);
  }
  closedir(dir);
  return CountEstablishedInTable(ReadFileOrEmpty(proc + "/net/tcp"), remote_port, inodes) +
         CountEstablishedInTable(ReadFileOrEmpty(proc + "/net/tcp6"), remote_port, inodes);
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double MachineBusySeconds() {
  const std::string stat = ReadFileOrEmpty("/proc/stat");
  std::istringstream in(stat.substr(0, stat.find('\n')));
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace bench
