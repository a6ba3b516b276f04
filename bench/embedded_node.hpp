// A chronicle-node started by the bench as a child process: temp data_dir, free loopback port,
// stopped (SIGTERM, then SIGKILL) and cleaned up when the object goes away.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chronicle::bench {

struct embedded_options {
  std::string node_binary;       // path of chronicle-node
  std::string tmp_root;          // the run's temp dir is created under it
  std::string durability = "fsync";
  uint32_t num_shards = 16;
  std::string log_level = "warn";
  bool keep_dir = false;         // leave the temp dir (config, data, node.log) behind
  // Set: run in this directory (created if missing, never removed; data kept across starts)
  // instead of a new temp dir under tmp_root.
  std::string dir;
  std::string extra_config;      // more YAML lines for the node's config
};

class embedded_node {
  struct passkey {};  // only start() can make one: construct through start()

 public:
  // Writes the config, spawns the node and waits until it listens. On failure returns null and
  // sets *error to one line (with the tail of the node's log when it got that far).
  static std::unique_ptr<embedded_node> start(const embedded_options& opts, std::string* error);

  explicit embedded_node(passkey) {}
  embedded_node(const embedded_node&) = delete;
  embedded_node& operator=(const embedded_node&) = delete;
  ~embedded_node();  // stop() and remove the temp dir unless kept

  // Stops the node: SIGTERM, SIGKILL after 10 s. Returns false (setting *error) when it had
  // already died or did not exit cleanly.
  bool stop(std::string* error);

  // True while the child has not exited.
  bool alive();

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string log_path() const { return dir_ + "/node.log"; }

  // The last `lines` lines of the node's log.
  std::string log_tail(int lines = 20) const;

  // The node's log lines at level warning or above (spdlog's "warning", "error", "critical").
  std::vector<std::string> log_problems() const;

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = 0;  // waitpid status once exited_
  uint16_t port_ = 0;
  std::string dir_;
  bool keep_dir_ = false;
};

// The directory holding the running executable (from /proc/self/exe).
std::string executable_dir();

}  // namespace chronicle::bench
