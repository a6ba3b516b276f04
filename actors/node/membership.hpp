// The node's view of its peers: which members are connected (with the handle of their node actor)
// and which are down, with the reason. Written by the node actor only; read by the frontend, admin
// and matching actors when they route. Thread-safe.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shards/ring.hpp"

namespace chronicle {

struct peer_info {
  caf::actor node;         // the peer's published node actor; invalid while down
  bool up = false;
  int64_t since_ms = 0;    // when it last went up or down
  std::string error;       // why it is down (e.g. "connection refused", handshake refusal)
  // Non-empty: the peer's data dir is not the one this node knew (wiped or replaced), so it
  // takes no part in the shards' Raft groups (its votes and acknowledgements would count for a
  // log it no longer has): the reason.
  std::string fenced;
  // The Raft ID the peer's replicas use, as it announced it in its handshake (0: not yet).
  uint64_t raft_id = 0;
  // The peer takes several shards' Raft messages in one (raft_batch_atom), as its handshake said.
  bool raft_batches = false;
};

class membership {
public:
  void set_up(const std::string& name, caf::actor node, int64_t now);
  void set_down(const std::string& name, std::string error, int64_t now);
  // The peer's node actor when it is up, else nullopt and *why set (when given).
  std::optional<caf::actor> peer(const std::string& name, std::string* why = nullptr) const;
  peer_info info(const std::string& name) const;
  // Fences (why non-empty) or unfences (empty) a peer's replication traffic.
  void set_fenced(const std::string& name, std::string why);
  // Whether replication traffic to and from `name` is dropped.
  bool fenced(const std::string& name) const;
  // Raft identities (docs/replication.md "Wiped nodes"): the ID a peer announced (validated by
  // the node actor), the member that announced `id` ("" none), and this node's own (0: not
  // decided yet, so its replicas wait).
  void set_raft_id(const std::string& name, uint64_t id);
  void set_raft_batches(const std::string& name, bool takes);
  // The member list a peer runs with ("name=host:port", sorted), as its handshake said. With
  // replication it may differ from this node's during a rolling restart (docs/replication.md
  // "Nodes with different member lists"). Kept beside peer_info, which routing copies often.
  void set_members(const std::string& name, std::vector<std::string> members);
  [[nodiscard]] std::vector<std::string> members_of(const std::string& name) const;
  // Of the peers that are up and that `mine` (this node's list) names: the first that runs with
  // another member list ("" none). While there is one, a replicated shard's leader makes no
  // membership change that follows the ring and hands no leadership over to spread load (each
  // list's ring says something else). Guests (peers `mine` leaves out) do not count.
  [[nodiscard]] std::string other_member_list(const std::vector<std::string>& mine) const;
  // Whether every peer that is up and that `mine` names lists `name` as a member.
  [[nodiscard]] bool listed_by_all_up(const std::string& name,
                                      const std::vector<std::string>& mine) const;
  // The first peer up and named by `mine` whose list leaves out `self` ("" none): this node is
  // being removed, so its replicas hand their leadership to one that stays.
  [[nodiscard]] std::string leaves_out(const std::string& self,
                                       const std::vector<std::string>& mine) const;
  // Replicated clusters: the ring task queues are placed on (routing.hpp task_queue_owners).
  // nullptr while every peer that is up runs this node's list (env.ring places them then). While
  // one runs another list (a rolling restart, docs/replication.md "Nodes with different member
  // lists"), the ring of every member named by this node's list or by the list of a peer that is
  // up: nodes on either list then place each queue on the same member, so a worker registered
  // through one serves the tasks the leaders on the other dispatch.
  void set_own_list(std::vector<std::string> mine);
  [[nodiscard]] std::shared_ptr<const hash_ring> queue_ring() const;
  // Whether the queue ring changed since the last call (its queues may have moved between two
  // other members, so every pending task is dispatched again); *members: its member count (0:
  // this node's ring again).
  bool take_queue_ring_change(size_t* members);
  std::string raft_member(uint64_t id) const;
  uint64_t raft_id(const std::string& name) const;
  void set_own_raft_id(uint64_t id) { own_raft_id_.store(id); }
  // The founding members (sorted), recorded with the identity: a founding Raft ID is a position
  // in this list, which stays when members are added or removed later. Empty: not decided.
  void set_founders(std::vector<std::string> names);
  std::vector<std::string> founders() const;
  bool has_founders() const;
  uint64_t founding_id(const std::string& name) const;  // 0: not a founder
  std::string founder(uint64_t id) const;               // "" : none
  [[nodiscard]] uint64_t own_raft_id() const { return own_raft_id_.load(); }
  // A peer refuses this node's replication traffic (this node's data dir was wiped): its
  // replicas know no leader, so routing asks the other replicas instead.
  void set_refused(bool refused) { refused_.store(refused); }
  [[nodiscard]] bool refused() const { return refused_.load(); }

private:
  mutable std::mutex mtx_;
  std::map<std::string, peer_info> peers_;
  std::atomic<bool> refused_{false};
  std::atomic<uint64_t> own_raft_id_{0};
  std::vector<std::string> founders_;  // under mtx_
  std::map<std::string, std::vector<std::string>> lists_;  // under mtx_: set_members
  // Under mtx_: queue_ring and what it is built from.
  void update_queue_ring();
  std::vector<std::string> own_names_;
  std::vector<std::string> queue_ring_names_;
  std::shared_ptr<const hash_ring> queue_ring_;
  bool queue_ring_changed_ = false;
};

}  // namespace chronicle
