// Placement: FNV-1a 64 and a consistent-hash ring (see ring.hpp).
//
// Ring positions: every virtual node "member#v", shard "shard/<n>" and task queue
// "<ns>/tq/<queue>" is placed at fmix64(fnv1a64(name)). FNV-1a alone maps names that differ only
// in their last characters ("m#1", "m#2", ...) to nearby points, which would bunch a member's
// virtual nodes and consecutive shards together; MurmurHash3's 64-bit finalizer spreads them.
// Both steps are fixed, documented functions: every process computes the same ring.
#include "shards/ring.hpp"

#include <map>

#include <algorithm>

namespace chronicle {

namespace {

constexpr uint64_t fnv_offset = 14695981039346656037ULL;
constexpr uint64_t fnv_prime = 1099511628211ULL;

uint64_t fnv1a_update(uint64_t h, std::string_view data) {
  for (unsigned char c : data) {
    h ^= c;
    h *= fnv_prime;
  }
  return h;
}

// MurmurHash3 fmix64: a bijection that makes every input bit affect every output bit.
uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint64_t ring_point(std::string_view name) { return fmix64(stable_hash(name)); }

}  // namespace

uint64_t stable_hash(std::string_view data) { return fnv1a_update(fnv_offset, data); }

uint64_t stable_hash(std::string_view ns, std::string_view key) {
  uint64_t h = fnv1a_update(fnv_offset, ns);
  h = fnv1a_update(h, std::string_view("\0", 1));
  return fnv1a_update(h, key);
}

uint32_t shard_of(std::string_view ns, std::string_view workflow_id, uint32_t num_shards) {
  if (num_shards == 0) return 0;
  return static_cast<uint32_t>(stable_hash(ns, workflow_id) % num_shards);
}

hash_ring::hash_ring(std::vector<std::string> members, uint32_t vnodes)
    : members_(std::move(members)) {
  std::sort(members_.begin(), members_.end());
  members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
  vnodes = std::max<uint32_t>(vnodes, 1);
  points_.reserve(members_.size() * vnodes);
  for (uint32_t i = 0; i < members_.size(); ++i)
    for (uint32_t v = 0; v < vnodes; ++v)
      points_.emplace_back(ring_point(members_[i] + "#" + std::to_string(v)), i);
  std::sort(points_.begin(), points_.end());
}

size_t hash_ring::first_at(uint64_t point) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), point,
                             [](const auto& p, uint64_t value) { return p.first < value; });
  if (it == points_.end()) it = points_.begin();
  return static_cast<size_t>(it - points_.begin());
}

const std::string& hash_ring::owner(uint64_t point) const {
  static const std::string none;
  if (points_.empty()) return none;
  return members_[points_[first_at(point)].second];
}

std::vector<std::string> hash_ring::owners(uint64_t point, uint32_t count) const {
  std::vector<std::string> out;
  if (points_.empty()) return out;
  count = std::min<uint32_t>(count, static_cast<uint32_t>(members_.size()));
  std::vector<bool> taken(members_.size(), false);
  for (size_t i = first_at(point), seen = 0; out.size() < count && seen < points_.size();
       i = (i + 1) % points_.size(), ++seen) {
    auto m = points_[i].second;
    if (taken[m]) continue;
    taken[m] = true;
    out.push_back(members_[m]);
  }
  return out;
}

std::vector<std::string> hash_ring::shard_replicas(uint32_t shard, uint32_t rf) const {
  return owners(ring_point("shard/" + std::to_string(shard)), std::max<uint32_t>(rf, 1));
}

const std::string& hash_ring::shard_owner(uint32_t shard) const {
  return owner(ring_point("shard/" + std::to_string(shard)));
}

namespace {

std::string task_queue_point_name(std::string_view ns, std::string_view queue) {
  std::string name(ns);
  name += "/tq/";
  name += queue;
  return name;
}

}  // namespace

const std::string& hash_ring::task_queue_owner(std::string_view ns,
                                               std::string_view queue) const {
  return owner(ring_point(task_queue_point_name(ns, queue)));
}

std::vector<std::string> hash_ring::task_queue_owners(std::string_view ns,
                                                      std::string_view queue) const {
  return owners(ring_point(task_queue_point_name(ns, queue)),
                static_cast<uint32_t>(members_.size()));
}

std::vector<shard_placement> place_shards(const hash_ring& ring, uint32_t num_shards, uint32_t rf) {
  std::vector<shard_placement> out(num_shards);
  std::map<std::string, uint32_t> leading;
  for (uint32_t shard = 0; shard < num_shards; ++shard) {
    auto& p = out[shard];
    p.replicas = ring.shard_replicas(shard, rf);
    if (p.replicas.empty()) continue;
    p.preferred_leader = p.replicas.front();
    for (auto& r : p.replicas)
      if (leading[r] < leading[p.preferred_leader]) p.preferred_leader = r;
    ++leading[p.preferred_leader];
  }
  return out;
}

}  // namespace chronicle
