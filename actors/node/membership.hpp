// The node's view of its peers: which members are connected (with the handle of their node actor)
// and which are down, with the reason. Written by the node actor only; read by the frontend, admin
// and matching actors when they route. Thread-safe.
#pragma once

#include <caf/all.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace chronicle {

struct peer_info {
  caf::actor node;         // the peer's published node actor; invalid while down
  bool up = false;
  int64_t since_ms = 0;    // when it last went up or down
  std::string error;       // why it is down (e.g. "connection refused", handshake refusal)
};

class membership {
public:
  void set_up(const std::string& name, caf::actor node, int64_t now);
  void set_down(const std::string& name, std::string error, int64_t now);
  // The peer's node actor when it is up, else nullopt and *why set (when given).
  std::optional<caf::actor> peer(const std::string& name, std::string* why = nullptr) const;
  peer_info info(const std::string& name) const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, peer_info> peers_;
};

}  // namespace chronicle
