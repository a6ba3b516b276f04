// The batch runner's state and what its two files share (batch_runner.cpp: requests, records,
// writes; batch_ops.cpp: collecting targets and applying the operation).
#pragma once

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "actors/execution/commit_pipeline.hpp"
#include "actors/node/node_env.hpp"
#include "protocol/messages.hpp"
#include "shards/batch_job.hpp"

namespace chronicle {

using bat_tick_atom = caf::atom_constant<caf::atom("battick")>;      // (gen, key): pace a job
using bat_commit_atom = caf::atom_constant<caf::atom("batcommit")>;  // a write's outcome
using bat_reload_atom = caf::atom_constant<caf::atom("batreload")>;  // reload after a failure
using bat_page_atom = caf::atom_constant<caf::atom("batpage")>;      // (gen, key): list again
using bat_op_atom = caf::atom_constant<caf::atom("batop")>;          // (gen, key, index): again
using bat_flush_atom = caf::atom_constant<caf::atom("batflush")>;    // (gen, key): write progress

struct batch_runner_state {
  struct job {
    pb::BatchJobRecord rec;
    int64_t next = 0;                          // the next target to issue (position.. are out)
    std::map<int64_t, batch_answer> answers;   // answers not yet counted (by target index)
    std::map<int64_t, int> attempts;           // transient failures of a target so far
    bool listing = false;                      // a list page is asked
    bool writing = false;                      // a record write is out
    bool dirty = false;                        // progress not yet submitted
    bool flush_armed = false;                  // a progress write waits for its turn
    int64_t last_write_ms = 0;                 // when the last progress write was submitted
    int64_t tick_at = 0;                       // a pace tick is armed for then (0: none)
  };
  env_ptr env;
  uint32_t shard = 0;
  std::shared_ptr<storage::commit_log> log;
  std::unique_ptr<commit_pipeline> pipe;
  uint64_t generation = 0;         // of `pipe` and the jobs: answers of an older one are dropped
  std::map<std::string, job> jobs; // key: ns '\0' job_id
  std::set<std::string> starting;  // a start is reading the first page
};

using batch_runner_ptr = caf::stateful_actor<batch_runner_state>*;

std::string batch_key(const std::string& ns, const std::string& job_id);

// Writes the job's record through the commit pipeline now; `done` (optional) is called once it
// (and every write before it) is durable, or with the error.
void write_job(batch_runner_ptr self, const std::string& key,
               std::function<void(const storage::status&)> done = nullptr);
// Progress (answers counted): written at most one write out per job and one per
// progress_interval_ms (longer for a record with many targets); a change made meanwhile goes
// with the next write. A crash loses at most that much progress, which is applied again.
void write_progress(batch_runner_ptr self, const std::string& key);

// --- batch_ops.cpp ---
// Moves an open job on: asks the next list page while collecting, issues the operations that
// are due while running.
void drive(batch_runner_ptr self, const std::string& key);
// The list request of a job's next page (its status filter: running runs unless a reset).
pb::ListWorkflowsRequest page_request(const pb::BatchJobRecord& rec);
// A page of targets from a list answer (added to the record by add_batch_page).
std::vector<pb::BatchTarget> targets_of(const pb::ListWorkflowsResponse& resp);
// Bytes as lowercase hex and back (the record keeps the list's page token as hex).
std::string hex_of(const std::string& bytes);
std::string unhex(const std::string& hex);
// An answer of target `index` came: counted in order, written, and the next ones issued.
void on_answer(batch_runner_ptr self, const std::string& key, int64_t index, batch_answer a);
// Issues the operation of target `index` again (after a transient failure).
void issue(batch_runner_ptr self, const std::string& key, int64_t index);

}  // namespace chronicle
