#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace chronicle::testing {

namespace {

pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all{exe};
  all.insert(all.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

process::process(const std::string& exe, const std::vector<std::string>& args,
                 const std::string& log)
  : pid_(spawn(exe, args, log)), log_(log) {}

process::process(process&& other) noexcept : pid_(other.pid_), log_(std::move(other.log_)) {
  other.pid_ = -1;
}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) kill9();
    pid_ = other.pid_;
    log_ = std::move(other.log_);
    other.pid_ = -1;
  }
  return *this;
}

process::~process() {
  if (pid_ > 0) kill9();
}

bool process::running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

bool process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_file(log_).find(text) != std::string::npos) return true;
    if (pid_ > 0 && kill(pid_, 0) != 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      report_death(WTERMSIG(status));
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  return -1;
}

int process::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait_exit(std::chrono::seconds(10));
}

std::string process::output() const { return read_file(log_); }

// A process that died of a signal nobody sent it (an abort, a crash) leaves its last log lines
// on stderr, where ctest keeps them: CI keeps no test directories for a post-mortem.
void process::report_death(int sig) const {
  auto text = read_file(log_);
  size_t from = text.size();
  for (int lines = 0; lines < 40 && from > 0; ++lines) from = text.rfind('\n', from - 1);
  if (from == std::string::npos) from = 0;
  std::cerr << "process died of signal " << sig << " (" << strsignal(sig) << "); the end of "
            << log_ << ":\n" << text.substr(from) << std::endl;
}

uint16_t free_port() {
  // The kernel may hand the same ephemeral port out twice in a row once the probe socket is
  // closed (seen: a node's port and its http_port equal, the node refusing its config), so the
  // ports this process was given lately are not given again.
  static std::mutex mu;
  static std::deque<uint16_t> given;
  std::lock_guard<std::mutex> lock(mu);
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    uint16_t port = ntohs(addr.sin_port);
    if (std::find(given.begin(), given.end(), port) != given.end()) continue;
    given.push_back(port);
    if (given.size() > 256) given.pop_front();
    return port;
  }
}

temp_dir::temp_dir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path()
          / ("chronicle-e2e-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
  if (std::getenv("CHRONICLE_KEEP_TEST_DIRS")) return;  // for post-mortems of failed runs
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string write_node_config(const std::filesystem::path& dir, uint16_t port,
                              const std::string& extra, uint32_t num_shards) {
  auto path = (dir / "node.yaml").string();
  std::ofstream out(path);
  out << "node:\n  name: node1\n  host: 127.0.0.1\n  port: " << port << "\n"
      << "data_dir: " << (dir / "data").string() << "\n"
      << "num_shards: " << num_shards << "\n"
      << extra;
  return path;
}

int run(const std::string& exe, const std::vector<std::string>& args, std::string* out) {
  auto log = std::filesystem::temp_directory_path()
             / ("chronicle-run-" + std::to_string(getpid()) + ".log");
  std::filesystem::remove(log);
  process p(exe, args, log.string());
  int code = p.wait_exit(std::chrono::seconds(60));
  if (out) *out = read_file(log.string());
  std::filesystem::remove(log);
  return code;
}

}  // namespace chronicle::testing
