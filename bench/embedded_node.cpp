#include "bench/embedded_node.hpp"

#include "bench/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace chronicle::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended (status " + std::to_string(status) + ")";
}

}  // namespace

std::string executable_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

std::unique_ptr<embedded_node> embedded_node::start(const embedded_options& opts,
                                                    std::string* error) {
  auto node = std::make_unique<embedded_node>(passkey{});
  node->keep_dir_ = opts.keep_dir || !opts.dir.empty();

  std::error_code ec;
  if (!opts.dir.empty()) {
    fs::create_directories(opts.dir, ec);
    if (ec) {
      *error = "cannot create " + opts.dir + ": " + ec.message();
      return nullptr;
    }
    node->dir_ = fs::absolute(opts.dir).string();
  } else {
    fs::create_directories(opts.tmp_root, ec);
    std::string pattern = (fs::path(opts.tmp_root) / "run-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
      *error = "cannot create a temp dir under " + opts.tmp_root + ": " + std::strerror(errno);
      return nullptr;
    }
    node->dir_ = buf.data();
  }

  node->port_ = free_loopback_port();
  if (node->port_ == 0) {
    *error = "cannot find a free loopback port";
    return nullptr;
  }
  const std::string config = node->dir_ + "/node.yaml";
  {
    std::ofstream out(config);
    out << "# written by chronicle-bench --embedded\n"
        << "node:\n  name: bench1\n  host: 127.0.0.1\n  port: " << node->port_ << "\n"
        << "data_dir: " << node->dir_ << "/data\n"
        << "num_shards: " << opts.num_shards << "\n"
        << "durability: " << opts.durability << "\n"
        << "log_level: " << opts.log_level << "\n"
        << opts.extra_config;
    if (!out) {
      *error = "cannot write " + config;
      return nullptr;
    }
  }

  // The node's stdout and stderr go to node.log in the temp dir.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = node->log_path();
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string arg0 = opts.node_binary, arg1 = "--config";
  std::string arg2 = config;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, opts.node_binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot run " + opts.node_binary + ": " + std::strerror(rc);
    return nullptr;
  }
  node->pid_ = pid;

  // Ready once it prints its "listening on" line; give up after 60 s or when it exits.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_file(log).find(" listening on ") != std::string::npos) return node;
    if (!node->alive()) {
      *error = "chronicle-node " + describe_exit(node->exit_status_) + " at start-up; its log:\n"
               + node->log_tail();
      return nullptr;
    }
    std::this_thread::sleep_for(20ms);
  }
  *error = "chronicle-node did not listen within 60 s; its log:\n" + node->log_tail();
  return nullptr;
}

bool embedded_node::alive() {
  if (pid_ <= 0 || exited_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    exit_status_ = status;
    return false;
  }
  return true;
}

bool embedded_node::stop(std::string* error) {
  if (pid_ <= 0) return true;
  if (!alive()) {
    *error = "chronicle-node had already " + describe_exit(exit_status_);
    pid_ = -1;
    return false;
  }
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (alive() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  bool killed = false;
  if (alive()) {
    ::kill(pid_, SIGKILL);
    killed = true;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
    exit_status_ = status;
  }
  pid_ = -1;
  if (killed) {
    *error = "chronicle-node did not stop within 10 s of SIGTERM (killed)";
    return false;
  }
  if (!WIFEXITED(exit_status_) || WEXITSTATUS(exit_status_) != 0) {
    *error = "chronicle-node " + describe_exit(exit_status_) + " on SIGTERM";
    return false;
  }
  return true;
}

std::string embedded_node::log_tail(int lines) const {
  std::istringstream in(read_file(log_path()));
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (auto& l : tail) out += "  | " + l + "\n";
  return out;
}

std::vector<std::string> embedded_node::log_problems() const {
  std::istringstream in(read_file(log_path()));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.find(" warning ") != std::string::npos || line.find(" error ") != std::string::npos
        || line.find(" critical ") != std::string::npos)
      out.push_back(line);
  return out;
}

embedded_node::~embedded_node() {
  std::string ignored;
  stop(&ignored);
  if (!keep_dir_ && !dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::remove(fs::path(dir_).parent_path(), ec);  // only when empty (fails otherwise)
  }
}

}  // namespace chronicle::bench
