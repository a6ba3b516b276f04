#include "actors/node_actor.hpp"

#include "actors/admin_actor.hpp"
#include "actors/frontend_actor.hpp"
#include "actors/matching_actor.hpp"
#include "actors/shard_actor.hpp"

namespace chronicle {

namespace {

template <class Atom>
auto forward(caf::event_based_actor* self, caf::actor node_env::*target, env_ptr env) {
  return [=](Atom atom, std::string& bytes) -> caf::result<caf::message> {
    self->delegate((*env).*target, atom, std::move(bytes));
    return caf::delegated<caf::message>{};
  };
}

}  // namespace

caf::behavior node_actor(caf::event_based_actor* self, env_ptr env) {
  // Anything else that arrives (garbage, unknown kinds) is refused with an error, never a crash.
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    return make_error(errc::bad_message, "unexpected message " + caf::to_string(x.content()));
  });
  return {
    forward<start_atom>(self, &node_env::frontend, env),
    forward<result_atom>(self, &node_env::frontend, env),
    forward<describe_atom>(self, &node_env::admin, env),
    forward<history_atom>(self, &node_env::admin, env),
    forward<register_atom>(self, &node_env::matching, env),
    [=](ping_atom) { return env->config.name; },
  };
}

caf::actor start_node(caf::actor_system& sys, std::shared_ptr<node_env> env) {
  env->started_at_ms = now_ms();
  std::vector<std::string> names;
  for (auto& m : env->config.members) names.push_back(m.name);
  env->ring = std::make_unique<hash_ring>(names);
  env_ptr ro = env;
  // Handles are filled in before any message flows: the actors read them only when handling.
  env->frontend = sys.spawn(frontend_actor, ro);
  env->admin = sys.spawn(admin_actor, ro);
  env->matching = spawn_matching(sys, ro);
  env->shards.reserve(env->config.num_shards);
  for (uint32_t i = 0; i < env->config.num_shards; ++i)
    env->shards.push_back(spawn_shard(sys, ro, i));
  // Only now, with every handle in place, may messages flow: recovery dispatches tasks.
  for (auto& shard : env->shards) caf::anon_send(shard, recover_atom::value);
  return sys.spawn(node_actor, ro);
}

}  // namespace chronicle
