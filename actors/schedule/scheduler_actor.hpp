// The scheduler actor: one per shard while the shard serves (spawned by the shard actor when it
// becomes ready, stopped when it stops or steps down). It holds the shard's schedules
// (shards/schedule_state.hpp decides every change), writes each change through the shard's
// commit log (replicated like any transition) and, once a write is durable, starts, cancels or
// terminates the workflows it decided and watches the started ones until they close
// (docs/schedules.md).
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "actors/node/node_env.hpp"
#include "storage/commit_log.hpp"

namespace chronicle {

struct validation_limits;

// Spawns the scheduler of `shard`; it loads the shard's schedules from the store at once (the
// shard recovered), takes the action times it missed and restarts what was in flight.
caf::actor spawn_scheduler(caf::local_actor* parent, env_ptr env, uint32_t shard,
                           std::shared_ptr<storage::commit_log> log);

// Whether `atom` is a schedule request the shard hands to its scheduler.
bool is_schedule_request(caf::atom_value atom);

// The catalog's validator of schedule requests (all carry the namespace as field 1 and the
// schedule ID as field 2): the namespace defaulted and known, the schedule ID a valid identifier.
caf::error validate_schedule_request(const validation_limits& lim, caf::atom_value& kind,
                                     std::string& bytes);

}  // namespace chronicle
