// A helper process of the bench (bench-worker): spawned with its output in a log file, stopped
// with SIGTERM (SIGKILL after 5 s) when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace chronicle::bench {

class child_process {
public:
  // Runs argv[0] with stdout and stderr appended to `log`. Null (and *error) when it cannot.
  static std::unique_ptr<child_process> spawn(const std::vector<std::string>& argv,
                                              const std::string& log, std::string* error);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // True once `text` appears in the log; false after `timeout` or when the process exited.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  const std::string& log() const { return log_; }

private:
  child_process(pid_t pid, std::string log) : pid_(pid), log_(std::move(log)) {}
  pid_t pid_;
  std::string log_;
};

// A loopback TCP port that was free a moment ago (0 when none).
uint16_t free_loopback_port();

}  // namespace chronicle::bench
