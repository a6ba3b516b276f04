#include "actors/frontend_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/validation.hpp"
#include "shards/ring.hpp"

namespace chronicle {

namespace {

// Routes (atom, bytes) to the owning shard; validation may rewrite them first.
template <class Atom>
auto route(caf::event_based_actor* self, env_ptr env) {
  return [=](Atom, std::string& bytes) -> caf::result<caf::message> {
    return delegate_to_shard(self, *env, Atom::value, bytes);
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

caf::expected<shard_destination> shard_destination_of(const node_env& env, caf::atom_value& kind,
                                                      std::string& bytes) {
  if (auto err = validate_request(env.config, env.overloaded.get(), kind, bytes)) return err;
  auto key = route_of(kind, bytes);
  if (!key) return key.error();
  auto shard = shard_of(key->ns, key->workflow_id, env.config.num_shards);
  auto where = place_shard(env, shard);
  if (where.error) return where.error;
  if (where.local) return shard_destination{env.shards.at(shard), false};
  return shard_destination{where.peer, true};
}

caf::result<caf::message> delegate_to_shard(caf::event_based_actor* self, const node_env& env,
                                            caf::atom_value kind, std::string& bytes) {
  auto dest = shard_destination_of(env, kind, bytes);
  if (!dest) return dest.error();
  if (dest->forward) self->delegate(dest->actor, fwd_atom::value, kind, std::move(bytes));
  else self->delegate(dest->actor, kind, std::move(bytes));
  return caf::delegated<caf::message>{};
}

void tell_shard(const node_env& env, caf::atom_value kind, std::string bytes) {
  auto dest = shard_destination_of(env, kind, bytes);
  if (!dest) {
    spdlog::warn("cannot route {} message: {}", caf::to_string(kind), error_text(dest.error()));
    return;
  }
  if (dest->forward) caf::anon_send(dest->actor, fwd_atom::value, kind, std::move(bytes));
  else caf::anon_send(dest->actor, kind, std::move(bytes));
}

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
