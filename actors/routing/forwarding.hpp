// Requests an actor passes to another node and answers itself. A plain CAF delegate leaves the
// caller waiting for its own timeout when the node it went to dies with the request (CAF does
// not fail a request lost with its connection); a forward watches the peer (monitor) and fails
// every request pending there at once with `unavailable` ("outcome unknown"), so clients retry
// with the same request ID (docs/replication.md, "Requests in flight during a failover").
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace chronicle {

class forwards {
public:
  // Sends (fwd_atom, kind, bytes) to `peer` (a node actor) and answers the current request with
  // its answer, or with `unavailable` when the peer goes down first. Every answer of a forwarded
  // kind is an encoded protobuf (std::string) or an error.
  caf::result<caf::message> forward(caf::event_based_actor* self, const caf::actor& peer,
                                    caf::atom_value kind, std::string bytes);
  // The same for a request held earlier: `rp` is answered.
  void forward(caf::event_based_actor* self, const caf::actor& peer, caf::atom_value kind,
               std::string bytes, caf::response_promise rp);
  // Call first in the owner's down handler: fails the requests pending at msg.source and returns
  // true when msg.source is a peer watched here (the owner then ignores the message).
  bool on_down(caf::event_based_actor* self, const caf::down_msg& msg);

  [[nodiscard]] size_t pending() const;

private:
  struct peer_requests {
    std::map<uint64_t, caf::response_promise> waiting;  // by our own request number
  };
  std::map<caf::actor_addr, peer_requests> peers_;
  uint64_t next_ = 0;
};

}  // namespace chronicle
