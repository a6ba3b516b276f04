// Placement: a stable hash of (namespace, key) and a consistent-hash ring with virtual nodes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chronicle {

// 64-bit FNV-1a. Stable across processes, platforms and releases (never std::hash).
uint64_t stable_hash(std::string_view data);

// Hash of a namespace and a key, with a separator so ("a","bc") and ("ab","c") differ.
uint64_t stable_hash(std::string_view ns, std::string_view key);

// shard = stable_hash(ns, workflow_id) % num_shards.
uint32_t shard_of(std::string_view ns, std::string_view workflow_id, uint32_t num_shards);

// A consistent-hash ring over member names with `vnodes` virtual nodes per member. Every process
// that builds a ring from the same member names computes the same owners, whatever the order.
class hash_ring {
public:
  explicit hash_ring(std::vector<std::string> members, uint32_t vnodes = 64);

  // Returns the member owning `point` (the first virtual node clockwise).
  // REQUIRES: at least one member.
  [[nodiscard]] const std::string& owner(uint64_t point) const;
  // Owner of a shard (hashes the shard number onto the ring).
  [[nodiscard]] const std::string& shard_owner(uint32_t shard) const;
  // The first `count` distinct members clockwise from `point` (fewer when the ring has fewer),
  // the owner first.
  [[nodiscard]] std::vector<std::string> owners(uint64_t point, uint32_t count) const;
  // The replicas of a shard: the first `rf` distinct members clockwise from its point.
  [[nodiscard]] std::vector<std::string> shard_replicas(uint32_t shard, uint32_t rf) const;
  // Every member in the order a task queue's ownership falls to them (its owner first).
  [[nodiscard]] std::vector<std::string> task_queue_owners(std::string_view ns,
                                                           std::string_view queue) const;
  // Owner of a task queue (hash of namespace + queue name).
  [[nodiscard]] const std::string& task_queue_owner(std::string_view ns,
                                                    std::string_view queue) const;
  [[nodiscard]] const std::vector<std::string>& members() const { return members_; }

private:
  [[nodiscard]] size_t first_at(uint64_t point) const;  // index in points_

  std::vector<std::string> members_;
  std::vector<std::pair<uint64_t, uint32_t>> points_;  // sorted (hash, member index)
};

// Where a shard lives with replication: its replicas (ring order) and its preferred leader.
struct shard_placement {
  std::vector<std::string> replicas;
  std::string preferred_leader;
};

// The placement of every shard: replicas from the ring (shard_replicas), preferred leaders evened
// out over the members (each shard in turn takes the replica leading the fewest shards so far,
// the earlier one in ring order on a tie), so that no member prefers more than its share (rounded
// up) whenever replica sets allow it. With rf = 1 the leader is the owner. Every process computes
// the same placement from the same members.
std::vector<shard_placement> place_shards(const hash_ring& ring, uint32_t num_shards, uint32_t rf);

}  // namespace chronicle
