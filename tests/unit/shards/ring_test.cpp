// Placement: FNV-1a vectors, shard_of, and the consistent-hash ring's stability and balance.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "shards/ring.hpp"

namespace chronicle {
namespace {

constexpr uint32_t shard_count = 1024;

std::vector<std::string> shard_map(const hash_ring& ring) {
  std::vector<std::string> owners;
  for (uint32_t s = 0; s < shard_count; ++s) owners.push_back(ring.shard_owner(s));
  return owners;
}

TEST_CASE("stable_hash is FNV-1a 64 (published test vectors)") {
  CHECK(stable_hash("") == 0xcbf29ce484222325ULL);
  CHECK(stable_hash("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(stable_hash("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("stable_hash of namespace and key separates the two with a zero byte") {
  CHECK(stable_hash("ns", "key") == stable_hash(std::string_view("ns\0key", 6)));
  CHECK(stable_hash("a", "bc") != stable_hash("ab", "c"));
}

TEST_CASE("shard_of is the namespaced hash modulo num_shards") {
  CHECK(shard_of("default", "order-42", 16) == stable_hash("default", "order-42") % 16);
  CHECK(shard_of("default", "order-42", 1) == 0);
  for (int i = 0; i < 100; ++i) CHECK(shard_of("ns", std::to_string(i), 7) < 7);
}

TEST_CASE("the shard map does not depend on member order") {
  hash_ring a({"node1", "node2", "node3"});
  hash_ring b({"node3", "node1", "node2"});
  CHECK(a.members() == b.members());
  CHECK(shard_map(a) == shard_map(b));
  CHECK(a.task_queue_owner("default", "orders") == b.task_queue_owner("default", "orders"));
}

TEST_CASE("a single member owns every shard and task queue") {
  hash_ring ring({"only"});
  for (uint32_t s = 0; s < shard_count; ++s) CHECK(ring.shard_owner(s) == "only");
  CHECK(ring.task_queue_owner("default", "q") == "only");
  CHECK(ring.owner(0) == "only");
  CHECK(ring.owner(~0ULL) == "only");
}

TEST_CASE("adding a fourth member moves about a quarter of the shards - all to it") {
  hash_ring before({"node1", "node2", "node3"});
  hash_ring after({"node1", "node2", "node3", "node4"});
  auto old_map = shard_map(before);
  auto new_map = shard_map(after);
  int moved = 0;
  for (uint32_t s = 0; s < shard_count; ++s) {
    if (old_map[s] == new_map[s]) continue;
    ++moved;
    CHECK(new_map[s] == "node4");
  }
  MESSAGE("moved " << moved << " of " << shard_count);
  CHECK(moved > shard_count * 10 / 100);
  CHECK(moved < shard_count * 45 / 100);
}

TEST_CASE("shards are roughly balanced with 64 virtual nodes") {
  hash_ring ring({"node1", "node2", "node3", "node4"}, 64);
  std::map<std::string, int> counts;
  for (const auto& owner : shard_map(ring)) ++counts[owner];
  REQUIRE(counts.size() == 4);
  for (const auto& [member, n] : counts) {
    MESSAGE(member << " owns " << n);
    CHECK(n > 256 / 2);      // fair share is 256
    CHECK(n < 256 * 3 / 2);
  }
}

TEST_CASE("owner wraps around past the last point") {
  hash_ring ring({"a", "b"}, 4);
  CHECK(ring.owner(~0ULL) == ring.owner(0));
}

TEST_CASE("a shard's replicas are distinct members - the ring owner first") {
  hash_ring ring({"node1", "node2", "node3", "node4"});
  for (uint32_t shard = 0; shard < 64; ++shard) {
    auto r = ring.shard_replicas(shard, 3);
    REQUIRE(r.size() == 3);
    CHECK(r[0] == ring.shard_owner(shard));
    CHECK(r[0] != r[1]);
    CHECK(r[1] != r[2]);
    CHECK(r[0] != r[2]);
  }
  CHECK(ring.shard_replicas(0, 9).size() == 4);  // capped at the member count
  CHECK(ring.shard_replicas(0, 1) == std::vector<std::string>{ring.shard_owner(0)});
}

TEST_CASE("preferred leaders of 16 shards on 3 nodes with 3 replicas are balanced within 1.25x") {
  hash_ring ring({"node1", "node2", "node3"});
  auto placement = place_shards(ring, 16, 3);
  std::map<std::string, int> leaders;
  for (auto& p : placement) {
    CHECK(std::find(p.replicas.begin(), p.replicas.end(), p.preferred_leader) != p.replicas.end());
    ++leaders[p.preferred_leader];
  }
  REQUIRE(leaders.size() == 3);
  for (auto& [node, n] : leaders) CHECK(n * 3 <= 16 * 1.25);
}

TEST_CASE("with one replica the preferred leader is the ring owner") {
  hash_ring ring({"node1", "node2", "node3"});
  auto placement = place_shards(ring, 16, 1);
  for (uint32_t shard = 0; shard < 16; ++shard)
    CHECK(placement[shard].preferred_leader == ring.shard_owner(shard));
}

}  // namespace
}  // namespace chronicle
