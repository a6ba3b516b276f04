#include "actors/node/copy_cleanup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "storage/keys.hpp"

namespace chronicle {

namespace {

constexpr auto copy_cleanup_interval = std::chrono::seconds(2);
constexpr auto members_timeout = std::chrono::seconds(5);

struct cleanup_state {
  env_ptr env;
  std::set<uint32_t> left;    // shards whose copy is still here
  std::set<uint32_t> logged;  // shards whose "still counted" was logged
};

using self_ptr = caf::stateful_actor<cleanup_state>*;

// The term this node's replica of `shard` last recorded (0: none, or unreadable).
uint64_t recorded_term(const node_env& env, uint32_t shard) {
  storage::status st;
  auto term = env.store->get_raft(shard, storage::raft_record::term, &st);
  if (!st.ok() || !term) return 0;
  return storage::keys::decode_u64(*term).value_or(0);
}

// `from`'s replica answered with its view of the group: deletes the copy when the group
// certainly no longer counts this node (see the header).
void consider(self_ptr self, uint32_t shard, const std::string& from,
              const pb::ShardMembersResponse& view) {
  auto& st = self->state;
  auto& env = *st.env;
  auto own = env.peers->own_raft_id();
  if (!st.left.count(shard) || own == 0 || !view.serving() || view.changing()) return;
  if (view.term() < recorded_term(env, shard)) return;  // a deposed leader that does not know it
  auto& ids = view.members();
  if (std::find(ids.begin(), ids.end(), own) != ids.end()) {
    if (st.logged.insert(shard).second)
      spdlog::info("shard {}: this node no longer replicates it, but its group (leader {}) still "
                   "counts Raft ID {}: the copy stays until the leader removes it",
                   shard, from, own);
    return;
  }
  if (auto s = env.store->drop_shard_copy(shard); !s.ok()) {
    spdlog::error("shard {}: cannot delete this node's copy (kept, tried again later): {}", shard,
                  s.message());
    return;
  }
  st.left.erase(shard);
  spdlog::info("shard {}: its group (leader {}, term {}) no longer counts this node (Raft ID {}): "
               "this node's copy is deleted",
               shard, from, view.term(), own);
  if (st.left.empty()) self->quit();
}

// One round: asks the replicas the ring places on each shard still left, then again later.
void ask(self_ptr self) {
  auto& st = self->state;
  if (st.env->peers->own_raft_id() != 0)
    for (auto shard : st.left)
      for (auto& name : st.env->placement.at(shard).replicas) {
        auto node = st.env->peers->peer(name);
        if (!node) continue;
        self->request(*node, members_timeout, members_atom::value, shard)
          .then(
            [=](const std::string& bytes) {
              if (auto view = decode<pb::ShardMembersResponse>(bytes, "ShardMembersResponse"))
                consider(self, shard, name, *view);
            },
            [](caf::error&) {});  // down, no replica yet: asked again next round
      }
  self->delayed_send(self, copy_cleanup_interval, retry_atom::value);
}

caf::behavior copy_cleanup(self_ptr self, env_ptr env, std::vector<uint32_t> shards) {
  self->state.env = std::move(env);
  self->state.left.insert(shards.begin(), shards.end());
  spdlog::info("{} shard(s) this node no longer replicates still have a copy here: deleted once "
               "their groups no longer count this node",
               shards.size());
  self->delayed_send(self, copy_cleanup_interval, retry_atom::value);
  return {[=](retry_atom) { ask(self); }};
}

}  // namespace

std::vector<uint32_t> left_copies(const node_env& env) {
  std::vector<uint32_t> out;
  if (!env.replicated()) return out;
  for (uint32_t shard = 0; shard < env.config.num_shards; ++shard) {
    if (env.owns_shard(shard)) continue;
    storage::status st;
    if (env.store->holds_shard_copy(shard, &st)) out.push_back(shard);
    else if (!st.ok())
      spdlog::error("shard {}: cannot tell whether this node holds a copy: {}", shard, st.message());
  }
  return out;
}

caf::actor spawn_copy_cleanup(caf::actor_system& sys, env_ptr env, std::vector<uint32_t> shards) {
  if (shards.empty()) return {};
  // Detached: deleting a copy is a synced write, kept off the scheduler's threads.
  return sys.spawn<caf::detached>(copy_cleanup, std::move(env), std::move(shards));
}

}  // namespace chronicle
