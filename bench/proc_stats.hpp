// CPU time and memory of a process, read from /proc/<pid>/stat and /proc/<pid>/status.
#pragma once

#include <sys/types.h>

#include <optional>

namespace chronicle::bench {

struct proc_sample {
  double cpu_s = 0;        // user + system CPU time so far
  double rss_mb = 0;       // VmRSS: resident set now
  double peak_rss_mb = 0;  // VmHWM: highest resident set so far
};

// Reads the figures of process `pid`; nullopt when it does not exist or /proc is unreadable.
std::optional<proc_sample> sample_process(pid_t pid);

}  // namespace chronicle::bench
