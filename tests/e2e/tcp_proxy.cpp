#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace chronicle::testing {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

// Writes all of buf (blocking socket); false when the peer is gone.
bool write_all(int fd, const char* buf, ssize_t n) {
  while (n > 0) {
    auto w = ::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    if (w <= 0) return false;
    buf += w;
    n -= w;
  }
  return true;
}

}  // namespace

tcp_proxy::tcp_proxy(uint16_t target) : target_(target) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto addr = loopback(0);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(listener_, 16) != 0)
    throw std::runtime_error("tcp_proxy: cannot listen");
  socklen_t len = sizeof(addr);
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe(wake_) != 0) throw std::runtime_error("tcp_proxy: pipe");
  thread_ = std::thread([this] { run(); });
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  char c = 's';
  (void)!::write(wake_[1], &c, 1);
  thread_.join();
  for (auto& p : pairs_) close_pair(p);
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void tcp_proxy::close_pair(pipe_pair& p) {
  if (p.client >= 0) {
    ::shutdown(p.client, SHUT_RDWR);
    ::close(p.client);
  }
  if (p.server >= 0) {
    ::shutdown(p.server, SHUT_RDWR);
    ::close(p.server);
  }
  p.client = p.server = -1;
}

int tcp_proxy::cut() {
  cut_count_ = -1;
  cut_requested_ = true;
  char c = 'c';
  (void)!::write(wake_[1], &c, 1);
  while (cut_count_ < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return cut_count_;
}

void tcp_proxy::run() {
  std::vector<char> buf(64 * 1024);
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listener_, POLLIN, 0});
    for (auto& p : pairs_) {
      fds.push_back({p.client, POLLIN, 0});
      fds.push_back({p.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 200) < 0) continue;
    if (fds[0].revents & POLLIN) {
      char tmp[16];
      (void)!::read(wake_[0], tmp, sizeof(tmp));
    }
    if (cut_requested_.exchange(false)) {
      int n = static_cast<int>(pairs_.size());
      for (auto& p : pairs_) close_pair(p);
      pairs_.clear();
      cut_count_ = n;
      continue;
    }
    if (fds[1].revents & POLLIN) {
      int c = ::accept(listener_, nullptr, nullptr);
      if (c >= 0) {
        ++accepted_;
        auto addr = loopback(target_);
        int s = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        if (paused_ || ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
          ::close(c);
          ::close(s);
        } else {
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          pairs_.push_back({c, s});
        }
      }
    }
    std::vector<bool> dead(pairs_.size(), false);
    for (size_t i = 0; i < pairs_.size(); ++i) {
      auto& p = pairs_[i];
      for (int side = 0; side < 2; ++side) {
        auto& pf = fds[2 + 2 * i + side];
        if (!(pf.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int from = side == 0 ? p.client : p.server;
        int to = side == 0 ? p.server : p.client;
        auto n = ::recv(from, buf.data(), buf.size(), 0);
        if (n <= 0 || !write_all(to, buf.data(), n)) dead[i] = true;
      }
    }
    for (size_t i = pairs_.size(); i-- > 0;)
      if (dead[i]) {
        close_pair(pairs_[i]);
        pairs_.erase(pairs_.begin() + static_cast<long>(i));
      }
  }
}

}  // namespace chronicle::testing
