#include "actors/shard/raft_outbox.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "protocol/messages.hpp"
#include "storage/keys.hpp"

namespace chronicle {

namespace {

constexpr uint8_t batch_version = 1;
constexpr size_t header_bytes = 5;     // version, count
constexpr size_t envelope_bytes = 16;  // shard, from, length

// The big-endian integer at the front of `in` (which holds at least its bytes), taken off it.
uint32_t take_u32(std::string_view& in) {
  auto v = *storage::keys::decode_u32(in.substr(0, 4));
  in.remove_prefix(4);
  return v;
}
uint64_t take_u64(std::string_view& in) {
  auto v = *storage::keys::decode_u64(in.substr(0, 8));
  in.remove_prefix(8);
  return v;
}

struct outbox_state {
  // Messages waiting, by the Raft ID they go to (one ID per node: every replica of a node uses
  // the node's), in the order they came.
  std::map<uint64_t, std::vector<raft_envelope>> pending;
  bool flush_due = false;  // a raft_flush_atom is in the mailbox
  static inline const char* name = "raft_outbox";
};

using outbox_ptr = caf::stateful_actor<outbox_state>*;

void flush(outbox_ptr self, const node_env& env) {
  auto pending = std::move(self->state.pending);
  self->state.pending.clear();
  for (auto& [to, messages] : pending) {
    auto member = env.member_by_id(to);
    auto info = env.peers->info(member);
    if (!info.up || !info.node) continue;  // Raft sends again what is still needed
    if (messages.size() == 1 || !info.raft_batches) {
      for (auto& m : messages) {
        self->send(info.node, raft_atom::value, m.shard, m.from, std::move(m.bytes));
        env.metrics->on_raft_messages_sent(1);
      }
      continue;
    }
    self->send(info.node, raft_batch_atom::value, pack_raft_batch(messages));
    env.metrics->on_raft_messages_sent(messages.size());
  }
}

}  // namespace

std::string pack_raft_batch(const std::vector<raft_envelope>& messages) {
  size_t total = header_bytes;
  for (auto& m : messages) total += envelope_bytes + m.bytes.size();
  std::string out;
  out.reserve(total);
  out.push_back(static_cast<char>(batch_version));
  storage::keys::put_u32(&out, static_cast<uint32_t>(messages.size()));
  for (auto& m : messages) {
    storage::keys::put_u32(&out, m.shard);
    storage::keys::put_u64(&out, m.from);
    storage::keys::put_u32(&out, static_cast<uint32_t>(m.bytes.size()));
    out.append(m.bytes);
  }
  return out;
}

std::optional<std::vector<raft_envelope>> unpack_raft_batch(std::string_view in,
                                                            std::string* why) {
  auto fail = [&](std::string what) -> std::optional<std::vector<raft_envelope>> {
    if (why) *why = std::move(what);
    return std::nullopt;
  };
  if (in.size() < header_bytes) return fail("shorter than its header");
  if (auto v = static_cast<uint8_t>(in[0]); v != batch_version)
    return fail("version " + std::to_string(v) + " (this node reads version 1)");
  in.remove_prefix(1);
  const uint64_t count = take_u32(in);
  // Every message takes at least its envelope: a count the bytes cannot hold is refused before
  // anything is reserved for it.
  if (count > in.size() / envelope_bytes) return fail("count " + std::to_string(count) +
                                                      " larger than its bytes hold");
  std::vector<raft_envelope> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (in.size() < envelope_bytes) return fail("message " + std::to_string(i) + " cut short");
    raft_envelope m;
    m.shard = take_u32(in);
    m.from = take_u64(in);
    const auto length = take_u32(in);
    if (length > in.size()) return fail("message " + std::to_string(i) + " cut short");
    m.bytes.assign(in.substr(0, length));
    in.remove_prefix(length);
    out.push_back(std::move(m));
  }
  if (!in.empty()) return fail(std::to_string(in.size()) + " bytes after the last message");
  return out;
}

caf::actor spawn_raft_outbox(caf::actor_system& sys, env_ptr env) {
  return sys.spawn([env](outbox_ptr self) -> caf::behavior {
    return {
      [=](raft_atom, uint32_t shard, uint64_t from, uint64_t to, std::string& bytes) {
        if (!env->raft_peer_ok(to)) return;  // node_actor.cpp: check_incarnation, record_raft_id
        self->state.pending[to].push_back({shard, from, std::move(bytes)});
        if (self->state.flush_due) return;
        // Behind every message already in the mailbox: those go in the same send.
        self->state.flush_due = true;
        self->send(self, raft_flush_atom::value);
      },
      [=](raft_flush_atom) {
        self->state.flush_due = false;
        flush(self, *env);
      },
    };
  });
}

}  // namespace chronicle
