#include "actors/node/handoff_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

namespace chronicle {

namespace {

constexpr size_t chunk_bytes = 1 << 20;

struct handoff_state {
  env_ptr env;
  std::string fingerprint;
  std::map<uint32_t, std::set<std::string>> waiting;  // shard -> peers not yet done
  std::map<std::string, caf::actor> peers_up;
};

using self_ptr = caf::stateful_actor<handoff_state>*;

void finish_if_done(self_ptr self, uint32_t shard) {
  auto& st = self->state;
  auto it = st.waiting.find(shard);
  if (it == st.waiting.end() || !it->second.empty()) return;
  auto s = st.env->store->set_shard_owner_mark(shard, st.fingerprint);
  if (!s.ok()) {
    spdlog::error("shard {}: cannot record ownership: {}", shard, s.message());
    return;
  }
  st.waiting.erase(it);
  self->send(st.env->shards.at(shard), recover_atom::value);
}

void release(self_ptr self, const caf::actor& peer, uint32_t shard) {
  pb::HandoffRelease rel;
  rel.set_shard(shard);
  rel.set_node(self->state.env->config.name);
  self->request(peer, std::chrono::seconds(30), release_atom::value, encode(rel))
    .then([](const std::string&) {},
          [=](caf::error& err) {
            spdlog::warn("shard {}: peer did not drop its old copy: {}", shard, error_text(err));
          });
}

// Pulls the next chunk of `shard` from `peer`, continuing after (table, after_key).
void pull(self_ptr self, const std::string& name, caf::actor peer, uint32_t shard, uint32_t table,
          std::string after_key, size_t copied) {
  pb::HandoffRequest req;
  req.set_shard(shard);
  req.set_table(table);
  req.set_after_key(after_key);
  req.set_node(self->state.env->config.name);
  self->request(peer, std::chrono::seconds(30), handoff_atom::value, encode(req))
    .then(
      [=](const std::string& bytes) {
        auto& st = self->state;
        auto chunk = decode<pb::HandoffChunk>(bytes, "HandoffChunk");
        if (!chunk) {
          spdlog::error("shard {}: bad handoff chunk from {}", shard, name);
          return;
        }
        if (chunk->has_data() && chunk->entries_size() > 0) {
          auto s = st.env->store->import_chunk(shard, *chunk);
          if (!s.ok()) {
            spdlog::error("shard {}: handoff from {} failed: {}", shard, name, s.message());
            return;  // retried when the peer next comes up
          }
        }
        size_t total = copied + chunk->entries_size();
        if (!chunk->done()) {
          pull(self, name, peer, shard, chunk->next_table(), chunk->next_after_key(), total);
          return;
        }
        if (total > 0) spdlog::info("shard {}: took over {} keys from {}", shard, total, name);
        st.waiting[shard].erase(name);
        finish_if_done(self, shard);
        if (chunk->has_data()) release(self, peer, shard);
      },
      [=](caf::error& err) {
        spdlog::warn("shard {}: handoff from {} interrupted: {}", shard, name, error_text(err));
      });
}

void on_peer_up(self_ptr self, const std::string& name, const caf::actor& peer) {
  for (auto& [shard, peers] : self->state.waiting)
    if (peers.count(name)) pull(self, name, peer, shard, 0, {}, 0);
}

caf::behavior handoff_actor(self_ptr self, env_ptr env, std::vector<uint32_t> pending) {
  auto& st = self->state;
  st.env = env;
  st.fingerprint = membership_fingerprint(env->config);
  harden(self, "handoff");
  for (auto shard : pending) {
    auto& peers = st.waiting[shard];
    for (auto& m : env->config.members)
      if (m.name != env->config.name) peers.insert(m.name);
  }
  if (!st.waiting.empty())
    spdlog::info("{} shard(s) wait for a handoff check with their peers", st.waiting.size());
  return {
    [=](hello_atom, const std::string& name, const caf::actor& peer) { on_peer_up(self, name, peer); },
  };
}

}  // namespace

std::string membership_fingerprint(const node_config& config) {
  std::vector<std::string> members;
  for (auto& m : config.members) members.push_back(m.name + "=" + m.host + ":" + std::to_string(m.port));
  std::sort(members.begin(), members.end());
  std::string out = std::to_string(config.num_shards);
  for (auto& m : members) out += "," + m;
  return out;
}

std::vector<uint32_t> start_ready_shards(const node_env& env) {
  auto fingerprint = membership_fingerprint(env.config);
  bool alone = env.config.members.size() <= 1;
  std::vector<uint32_t> pending;
  for (uint32_t shard = 0; shard < env.config.num_shards; ++shard) {
    if (!env.owns_shard(shard)) continue;
    storage::status s;
    auto mark = env.store->shard_owner_mark(shard, &s);
    bool ready = s.ok() && mark == fingerprint;
    if (!ready && alone) ready = env.store->set_shard_owner_mark(shard, fingerprint).ok();
    if (ready) caf::anon_send(env.shards.at(shard), recover_atom::value);
    else pending.push_back(shard);
  }
  return pending;
}

caf::actor spawn_handoff(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                         std::vector<uint32_t> pending) {
  return sys.spawn(handoff_actor, std::move(env), std::move(pending));
}

caf::expected<std::string> serve_handoff(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::HandoffRequest>(bytes, "HandoffRequest");
  if (!req) return req.error();
  if (req->shard() >= env.config.num_shards)
    return make_error(errc::invalid_argument, "no shard " + std::to_string(req->shard()));
  if (env.owns_shard(req->shard()))
    return make_error(errc::invalid_argument, "shard " + std::to_string(req->shard())
                                                + " is owned by " + env.config.name);
  pb::HandoffChunk chunk;
  auto s = env.store->export_chunk(req->shard(), req->table(), req->after_key(), chunk_bytes, &chunk);
  if (!s.ok()) return make_error(errc::internal, s.message());
  return encode(chunk);
}

caf::expected<std::string> serve_release(const node_env& env, const std::string& bytes) {
  auto rel = decode<pb::HandoffRelease>(bytes, "HandoffRelease");
  if (!rel) return rel.error();
  if (rel->shard() >= env.config.num_shards || env.owns_shard(rel->shard()))
    return make_error(errc::invalid_argument, "shard " + std::to_string(rel->shard())
                                                + " is not to be dropped here");
  auto s = env.store->drop_shard(rel->shard());
  if (!s.ok()) return make_error(errc::internal, s.message());
  spdlog::info("shard {}: dropped the old copy, now served by {}", rel->shard(), rel->node());
  return std::string{};
}

}  // namespace chronicle
