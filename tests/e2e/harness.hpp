// Multi-process test harness: real chronicle-node and worker processes on free loopback ports,
// each with its own temp data dir, stopped with SIGTERM or killed with SIGKILL for real.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace chronicle::testing {

// A child process with stdout/stderr captured to a log file.
class process {
public:
  process() = default;
  process(const std::string& exe, const std::vector<std::string>& args, const std::string& log);
  process(process&& other) noexcept;
  process& operator=(process&& other) noexcept;
  ~process();  // kills the process if still running

  // Waits until the log contains `text`; returns false after `timeout` or if the process died.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) const;
  void kill9();                // SIGKILL and reap
  int terminate();             // SIGTERM, wait, return the exit status
  int wait_exit(std::chrono::milliseconds timeout);  // exit code, or -1 on timeout (then killed)
  bool running() const;
  std::string output() const;
  pid_t pid() const { return pid_; }

private:
  void report_death(int sig) const;

  pid_t pid_ = -1;
  std::string log_;
};

// A port on 127.0.0.1 that nobody listened on a moment ago.
uint16_t free_port();

// A fresh directory under the system temp dir, removed by the destructor.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

// Writes a single-node config file and returns its path.
std::string write_node_config(const std::filesystem::path& dir, uint16_t port,
                              const std::string& extra = {}, uint32_t num_shards = 8);

// Runs a command to completion; returns its exit code, output in *out (stdout+stderr).
int run(const std::string& exe, const std::vector<std::string>& args, std::string* out);

}  // namespace chronicle::testing
