// The node-to-node handshake's rules (actors/node/handshake.hpp) and the membership view of the
// peers' member lists (actors/node/membership.hpp): during a rolling restart with a new member
// list, replicated nodes that list each other talk; single-copy nodes, and a node a list leaves
// out, are refused.
#include <doctest/doctest.h>

#include "actors/node/handshake.hpp"
#include "actors/node/membership.hpp"

using namespace chronicle;

namespace {

pb::HelloRequest hello(const std::string& node, std::vector<std::string> names, uint32_t rf = 3,
                       uint32_t shards = 16) {
  pb::HelloRequest h;
  h.set_node(node);
  h.set_num_shards(shards);
  h.set_replication_factor(rf);
  std::sort(names.begin(), names.end());
  for (auto& n : names) h.add_members(n + "=127.0.0.1:" + std::to_string(7000 + n.back() - '0'));
  return h;
}

}  // namespace

TEST_CASE("handshake: the same cluster is accepted - num_shards or replication_factor that differ are refused") {
  auto one = hello("node1", {"node1", "node2", "node3"});
  CHECK(compare_hello(one, hello("node2", {"node1", "node2", "node3"})).empty());
  CHECK(compare_hello(one, hello("node2", {"node1", "node2", "node3"}, 3, 8)).find("num_shards differs")
        != std::string::npos);
  CHECK(compare_hello(one, hello("node2", {"node1", "node2", "node3"}, 1))
          .find("replication_factor differs") != std::string::npos);
  CHECK(compare_hello(hello("node1", {"node1", "node2", "node3"}, 1),
                      hello("node9", {"node1", "node2", "node3", "node9"}, 1))
          .find("not a member") != std::string::npos);
  // Replicated: a node neither list names with the other is refused.
  CHECK(compare_hello(one, hello("node9", {"node8", "node9"})).find("not a member")
        != std::string::npos);
}

TEST_CASE("handshake: replicated nodes with different member lists talk when one lists the other - single copies need equal lists") {
  auto old_list = std::vector<std::string>{"node1", "node2", "node3"};
  auto added = std::vector<std::string>{"node1", "node2", "node3", "node4"};
  auto removed = std::vector<std::string>{"node2", "node3", "node4"};
  // Adding node4: node1 already restarted with the new list, node2 not yet.
  CHECK(compare_hello(hello("node2", old_list), hello("node1", added)).empty());
  CHECK(compare_hello(hello("node1", added), hello("node2", old_list)).empty());
  // node4 is not in node2's list yet, but node4's list names node2: a guest of node2.
  CHECK(compare_hello(hello("node2", old_list), hello("node4", added)).empty());
  CHECK(compare_hello(hello("node4", added), hello("node2", old_list)).empty());
  // Removing node1: node2 runs the list without it; node1 (whose list names node2) is node2's
  // guest until it stops; node3 (old list with node1 and node4) talks to node2.
  CHECK(compare_hello(hello("node2", removed), hello("node1", added)).empty());
  CHECK(compare_hello(hello("node1", added), hello("node2", removed)).empty());
  CHECK(compare_hello(hello("node2", removed), hello("node3", added)).empty());
  // Single copies: any difference is refused (two lists could mean two owners of a shard).
  CHECK(compare_hello(hello("node2", old_list, 1), hello("node1", added, 1)).find("member lists differ")
        != std::string::npos);
}

TEST_CASE("membership: the first peer up with another member list - whether every peer up lists a member - guests do not count") {
  membership peers;
  std::vector<std::string> mine{"node1=127.0.0.1:7001", "node2=127.0.0.1:7002",
                                "node3=127.0.0.1:7003", "node4=127.0.0.1:7004"};
  std::vector<std::string> old_list{"node1=127.0.0.1:7001", "node2=127.0.0.1:7002",
                                    "node3=127.0.0.1:7003"};
  peers.set_up("node2", caf::actor{}, 1);
  peers.set_members("node2", mine);
  CHECK(peers.other_member_list(mine).empty());
  peers.set_up("node3", caf::actor{}, 1);
  peers.set_members("node3", old_list);
  CHECK(peers.other_member_list(mine) == "node3");
  CHECK(peers.listed_by_all_up("node1", mine));
  CHECK_FALSE(peers.listed_by_all_up("node4", mine));
  CHECK_FALSE(peers.listed_by_all_up("node", mine));  // a prefix of a name is not the name
  CHECK(peers.leaves_out("node4", mine) == "node3");
  CHECK(peers.leaves_out("node1", mine).empty());
  // A peer that is down does not count; once back with the new list, the lists agree.
  peers.set_down("node3", "restarting", 2);
  CHECK(peers.other_member_list(mine).empty());
  CHECK(peers.listed_by_all_up("node4", mine));
  CHECK(peers.leaves_out("node4", mine).empty());
  peers.set_members("node3", mine);
  peers.set_up("node3", caf::actor{}, 3);
  CHECK(peers.other_member_list(mine).empty());
  // A guest (a node this list leaves out, e.g. one being removed) runs another list: ignored.
  peers.set_up("node5", caf::actor{}, 4);
  peers.set_members("node5", {"node1=127.0.0.1:7001", "node5=127.0.0.1:7005"});
  CHECK(peers.other_member_list(mine).empty());
  CHECK(peers.listed_by_all_up("node4", mine));
  CHECK(peers.leaves_out("node2", mine).empty());
}

TEST_CASE("handshake: a guest's address comes from its own list entry - garbage gives none") {
  auto list = [](std::vector<std::string> entries) {
    pb::HelloRequest h;
    for (auto& e : entries) h.add_members(e);
    return h.members();
  };
  auto a = listed_address(list({"node1=127.0.0.1:7001", "node10=10.0.0.1:7010"}), "node1");
  REQUIRE(a);
  CHECK(a->name == "node1");
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 7001);
  CHECK(listed_address(list({"node10=10.0.0.1:7010"}), "node1") == std::nullopt);
  for (auto bad : {"node1=127.0.0.1", "node1=:7001", "node1=host:", "node1=host:0",
                   "node1=host:65536", "node1=host:70a1", "node1=host:-5", "node1=host:123456"})
    CHECK_MESSAGE(listed_address(list({bad}), "node1") == std::nullopt, bad);
}

TEST_CASE("membership: while a peer up runs another member list task queues go on the ring of every name either list gives - the same on both sides - back to this node's ring when the lists agree") {
  std::vector<std::string> old_list{"node1=127.0.0.1:7001", "node2=127.0.0.1:7002",
                                    "node3=127.0.0.1:7003"};
  std::vector<std::string> new_list{"node1=127.0.0.1:7001", "node2=127.0.0.1:7002",
                                    "node3=127.0.0.1:7003", "node4=127.0.0.1:7004"};
  membership on_old, on_new;  // node2 (old list) and node1 (new list)
  on_old.set_own_list(old_list);
  on_new.set_own_list(new_list);
  size_t members = 0;
  CHECK(on_old.queue_ring() == nullptr);
  CHECK_FALSE(on_old.take_queue_ring_change(&members));
  // node2 hears node1's new list and node4 (its guest); node1 hears node2's old list.
  on_old.set_members("node1", new_list);
  on_old.set_up("node1", caf::actor{}, 1);
  on_old.set_members("node4", new_list);
  on_old.set_up("node4", caf::actor{}, 1);
  on_new.set_members("node2", old_list);
  on_new.set_up("node2", caf::actor{}, 1);
  REQUIRE(on_old.queue_ring() != nullptr);
  CHECK(on_old.take_queue_ring_change(&members));
  CHECK(members == 4);
  CHECK_FALSE(on_old.take_queue_ring_change(&members));  // reported once
  // node1's own ring already names all four: it keeps it, and both place every queue alike.
  CHECK(on_new.queue_ring() == nullptr);
  hash_ring node1_ring({"node1", "node2", "node3", "node4"});
  for (auto q : {"a", "greetings", "orders", "x-1", "x-2"})
    CHECK(on_old.queue_ring()->task_queue_owners("default", q)
          == node1_ring.task_queue_owners("default", q));
  // node1 goes down: node2's list and node4's (still up) name the same four.
  on_old.set_down("node1", "restarting", 2);
  CHECK(on_old.queue_ring() != nullptr);
  CHECK_FALSE(on_old.take_queue_ring_change(&members));
  // node4 gone too: only this node's list is left, its ring again, and that is a change.
  on_old.set_down("node4", "connection lost", 3);
  CHECK(on_old.queue_ring() == nullptr);
  CHECK(on_old.take_queue_ring_change(&members));
  CHECK(members == 0);
}
