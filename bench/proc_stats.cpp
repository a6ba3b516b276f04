#include "bench/proc_stats.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace chronicle::bench {

namespace {

// utime + stime (fields 14 and 15 of /proc/<pid>/stat) in seconds. The command name (field 2)
// may contain spaces and parentheses, so fields are counted after its last ')'.
std::optional<double> cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {  // the stream starts at field 3 (state)
    if (n == 14) utime = std::stoull(field);
    if (n == 15) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Name:   1234 kB" line of /proc/<pid>/status, in MB.
double status_mb(const std::string& status, const std::string& name) {
  auto pos = status.find("\n" + name + ":");
  if (pos == std::string::npos) return 0;
  std::istringstream value(status.substr(pos + name.size() + 2));
  double kb = 0;
  value >> kb;
  return kb / 1024.0;
}

}  // namespace

std::optional<proc_sample> sample_process(pid_t pid) {
  auto cpu = cpu_seconds(pid);
  if (!cpu) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << "\n" << in.rdbuf();
  proc_sample s;
  s.cpu_s = *cpu;
  s.rss_mb = status_mb(text.str(), "VmRSS");
  s.peak_rss_mb = status_mb(text.str(), "VmHWM");
  return s;
}

}  // namespace chronicle::bench
