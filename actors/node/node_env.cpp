#include "actors/node/node_env.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace chronicle {

void harden(caf::scheduled_actor* self, const char* name) {
  self->set_default_handler([name](caf::scheduled_actor* s, caf::message_view& x)
                              -> caf::result<caf::message> {
    auto text = caf::to_string(x.content());
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    spdlog::warn("{}: dropped unexpected message {}", name, text);
    if (s->current_mailbox_element()->mid.is_request())
      return make_error(errc::bad_message, std::string("unexpected message ") + text);
    return caf::message{};
  });
  self->set_error_handler([name](caf::error& err) {
    spdlog::warn("{}: dropped error message: {}", name, error_text(err));
  });
}

uint64_t node_env::member_id(const std::string& name) const {
  if (auto id = peers->founding_id(name); id != 0 || peers->has_founders()) return id;
  auto& members = ring->members();
  auto it = std::find(members.begin(), members.end(), name);
  return it == members.end() ? 0 : static_cast<uint64_t>(it - members.begin()) + 1;
}

uint64_t node_env::joined_raft_id(const std::string& name, uint64_t incarnation) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 over the name and the incarnation
  auto mix = [&h](unsigned char c) { h = (h ^ c) * 1099511628211ull; };
  for (unsigned char c : name) mix(c);
  for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(incarnation >> (8 * i)));
  return h | (1ull << 63);
}

std::string node_env::member_by_id(uint64_t id) const {
  if (id == 0) return {};
  if (!is_joined_id(id)) {
    if (auto name = peers->founder(id); !name.empty() || peers->has_founders()) return name;
    auto& members = ring->members();
    return id <= members.size() ? members[id - 1] : std::string{};
  }
  if (id == peers->own_raft_id()) return config.name;
  return peers->raft_member(id);
}

bool node_env::raft_peer_ok(uint64_t id) const {
  auto name = member_by_id(id);
  if (name.empty()) return false;
  if (is_joined_id(id)) return true;  // a joined ID resolves only once announced
  auto announced = peers->raft_id(name);
  return !peers->fenced(name) && (announced == 0 || announced == id);
}

uint64_t node_env::current_raft_id(const std::string& name) const {
  if (name == config.name) return peers->own_raft_id();
  return peers->raft_id(name);
}

bool node_env::owns_shard(uint32_t shard) const {
  if (!replicated()) return ring->shard_owner(shard) == config.name;
  auto& replicas = placement.at(shard).replicas;
  return std::find(replicas.begin(), replicas.end(), config.name) != replicas.end();
}

bool node_env::answers_for(uint32_t shard) const {
  if (!owns_shard(shard)) return false;
  return !replicated() || (shard_ready && shard_ready[shard].load());
}

}  // namespace chronicle
