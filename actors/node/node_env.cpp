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
  auto& members = ring->members();
  auto it = std::find(members.begin(), members.end(), name);
  return it == members.end() ? 0 : static_cast<uint64_t>(it - members.begin()) + 1;
}

const std::string& node_env::member_by_id(uint64_t id) const {
  static const std::string none;
  auto& members = ring->members();
  return id >= 1 && id <= members.size() ? members[id - 1] : none;
}

bool node_env::owns_shard(uint32_t shard) const {
  if (!replicated()) return ring->shard_owner(shard) == config.name;
  auto& replicas = placement.at(shard).replicas;
  return std::find(replicas.begin(), replicas.end(), config.name) != replicas.end();
}

}  // namespace chronicle
