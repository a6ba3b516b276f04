// A user-space TCP proxy on loopback for partition tests: accepts on its own port and pipes
// each connection to a target port, until told to cut every connection (both sides closed, as a
// broken network path does once TCP gives up). New connections are accepted again at once after a
// cut unless the proxy is paused. One thread, poll(2); no mocks: the processes talk real TCP.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace chronicle::testing {

class tcp_proxy {
public:
  // Listens on a free loopback port and forwards to 127.0.0.1:target.
  explicit tcp_proxy(uint16_t target);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  uint16_t port() const { return port_; }
  // Closes both sides of every open connection; returns how many pairs were cut.
  int cut();
  // While paused, new connections are refused (accepted and closed at once).
  void pause(bool paused) { paused_ = paused; }
  // Connections accepted so far.
  int accepted() const { return accepted_; }

private:
  struct pipe_pair {
    int client = -1;
    int server = -1;
  };
  void run();
  void close_pair(pipe_pair& p);

  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> cut_requested_{false};
  std::atomic<int> cut_count_{-1};
  std::atomic<int> accepted_{0};
  std::vector<pipe_pair> pairs_;
  std::thread thread_;
};

}  // namespace chronicle::testing
