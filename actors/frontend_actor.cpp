#include "actors/frontend_actor.hpp"

#include "actors/validation.hpp"
#include "shards/ring.hpp"

namespace chronicle {

namespace {

// Routes (atom, bytes) to the owning shard; `validate` may rewrite the bytes first.
template <class Atom>
auto route(caf::event_based_actor* self, env_ptr env) {
  return [=](Atom, std::string& bytes) -> caf::result<caf::message> {
    caf::atom_value atom = Atom::value;
    if (auto err = validate_request(env->config, env->overloaded.get(), atom, bytes)) return err;
    auto key = route_of(atom, bytes);
    if (!key) return key.error();
    auto shard = shard_of(key->ns, key->workflow_id, env->config.num_shards);
    auto where = place_shard(*env, shard);
    if (where.error) return where.error;
    if (where.local) self->delegate(env->shards.at(shard), atom, std::move(bytes));
    else self->delegate(where.peer, fwd_atom::value, caf::atom_value{atom}, std::move(bytes));
    return caf::delegated<caf::message>{};
  };
}

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

caf::behavior frontend_actor(caf::event_based_actor* self, env_ptr env) {
  harden(self, "frontend");
  return {
    [=](fwd_atom, caf::atom_value kind, std::string& bytes) {
      return route_local(self, env, kind, bytes);
    },
    route<start_atom>(self, env),
    route<result_atom>(self, env),
    route<signal_atom>(self, env),
    route<sigstart_atom>(self, env),
    route<terminate_atom>(self, env),
    route<cancel_atom>(self, env),
    route<wt_start_atom>(self, env),
    route<wt_lost_atom>(self, env),
    route<wt_history_atom>(self, env),
    route<wf_done_atom>(self, env),
    route<wf_fail_atom>(self, env),
    route<act_done_atom>(self, env),
    route<act_fail_atom>(self, env),
    route<act_start_atom>(self, env),
    route<act_beat_atom>(self, env),
    route<child_done_atom>(self, env),
  };
}

}  // namespace chronicle
