// The shard actor: owns one shard's keys. Routes workflow messages to execution actors (spawned on
// demand, stopped when idle), runs the shard's timer queue, and on start rebuilds pending timers
// and tasks from RocksDB.
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"

namespace chronicle {

// Spawns the actor of shard `shard_id`; it recovers when it receives recover_atom.
caf::actor spawn_shard(caf::actor_system& sys, env_ptr env, uint32_t shard_id);

}  // namespace chronicle
