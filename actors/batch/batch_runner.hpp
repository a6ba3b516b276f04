// The batch runner: one per shard while the shard serves (spawned by the shard actor when it
// becomes ready, stopped when it stops or steps down), like the scheduler. It owns the batch jobs
// whose job ID falls on the shard (shards/batch_job.hpp decides every change): it collects a
// job's targets page by page through the cluster-wide list, applies the operation through the
// node's frontend at the job's rate, and writes the record through the shard's commit log
// (replicated like any transition) as the job moves. After kill -9 or a leader change the new
// runner loads the records and goes on from each job's position (docs/operations.md "Batch
// operations").
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "actors/node/node_env.hpp"
#include "storage/commit_log.hpp"

namespace chronicle {

struct validation_limits;

// Spawns the runner of `shard`; it loads the shard's jobs from the store at once and resumes
// the open ones.
caf::actor spawn_batch_runner(caf::local_actor* parent, env_ptr env, uint32_t shard,
                              std::shared_ptr<storage::commit_log> log);

// Whether `atom` is a batch request the shard hands to its runner.
bool is_batch_request(caf::atom_value atom);

// The catalog's validator of batch requests (namespace field 1, job ID field 2): the namespace
// defaulted and known, the job ID a valid identifier. A start without a job ID gets one here,
// before routing: "batch-" and a hash of its request ID (a retry goes to the same job), or a
// random one without a request ID.
caf::error validate_batch_request(const validation_limits& lim, caf::atom_value& kind,
                                  std::string& bytes);

}  // namespace chronicle
