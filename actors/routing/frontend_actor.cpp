#include "actors/routing/frontend_actor.hpp"

#include "actors/routing/routing.hpp"
#include "shards/ring.hpp"

namespace chronicle {

namespace {

// A message another node forwarded because this node owns the shard: handled here or refused,
// never forwarded again.
caf::result<caf::message> route_local(caf::event_based_actor* self, const env_ptr& env,
                                      caf::atom_value kind, std::string& bytes) {
  auto key = route_of(kind, bytes);
  if (!key) return key.error();
  auto shard = shard_of(key->ns, key->workflow_id, env->config.num_shards);
  if (!env->owns_shard(shard))
    return make_error(errc::unavailable, "shard " + std::to_string(shard) + " is not owned by "
                                           + env->config.name);
  self->delegate(env->shards.at(shard), kind, std::move(bytes));
  return caf::delegated<caf::message>{};
}

}  // namespace

caf::behavior frontend_actor(caf::stateful_actor<frontend_state>* self, env_ptr env) {
  harden(self, "frontend");
  self->set_down_handler([=](caf::down_msg& msg) { self->state.forwarded.on_down(self, msg); });
  return {
    [=](fwd_atom, caf::atom_value kind, std::string& bytes) {
      return route_local(self, env, kind, bytes);
    },
    // Every shard-routed kind of the catalog (anything else is refused as bad_message).
    [=](caf::atom_value kind, std::string& bytes) -> caf::result<caf::message> {
      if (auto entry = shard_message(kind); !entry) return entry.error();
      return delegate_to_shard(self, *env, self->state.forwarded, kind, bytes);
    },
  };
}

}  // namespace chronicle
