// Batch operations (issue 18 item 4, part 2): the pure job. A job collects the runs its list
// query matches (page by page, into its durable record), then applies its operation (terminate,
// cancel, signal, reset) to them in order at most `rps` per second, counting each outcome. The
// record is written as it progresses by its owner (actors/batch/batch_runner.cpp); after a
// crash the targets from `position` on are applied again, which is harmless because every operation is idempotent for a run: terminate and cancel of a run that
// is closed count as already done, signal / cancel / reset carry batch_request_id (the run
// records it once; a reset answers the run it made).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chronicle/v1/batch.pb.h"
#include "protocol/codec.hpp"

namespace chronicle {

inline constexpr double default_batch_rps = 50;
inline constexpr double max_batch_rps = 10'000;
inline constexpr int max_batch_failures = 100;        // failures kept with their reasons
inline constexpr int64_t max_batch_targets = 100'000;  // runs one job may take

// Why `def` is refused (empty: it is fine): job ID, query present, one operation (a signal
// needs a name, a reset a type), rps within 0..max_batch_rps.
std::string check_batch_definition(const pb::BatchJobDefinition& def);

// A new job (state COLLECTING, started at `now`).
pb::BatchJobRecord new_batch_job(const pb::BatchJobDefinition& def, int64_t now);

// A page of the query's runs was read (`next_page_token` empty: the last page): running runs
// become targets, each (workflow ID, run ID) once, at most max_batch_targets (the rest is
// reported as failures "too many runs"). After the last page the job is RUNNING, or COMPLETED
// when nothing matched. No-op unless COLLECTING.
void add_batch_page(pb::BatchJobRecord& job, const std::vector<pb::BatchTarget>& runs,
                    const std::string& next_page_token, int64_t now);

// The rate limit: operations are spaced 1000 / rps ms apart. `in_flight` operations were issued
// and not answered (targets position .. position + in_flight - 1). count: how many more may be
// issued at `now` (at most the targets left); next_due_ms: when the one after them is due.
struct batch_slot {
  int64_t count = 0;
  int64_t next_due_ms = 0;
};
batch_slot batch_ready(const pb::BatchJobRecord& job, int64_t in_flight, int64_t now);
// `count` operations were issued at `now` (after batch_ready): the pace moves on.
void note_batch_issued(pb::BatchJobRecord& job, int64_t count, int64_t now);

enum class batch_outcome { done, already_done, failed };
// The outcome of one operation from its answer: `ok`, or the error's code and message. Terminate
// and cancel of a closed run ("... is closed (...)") are already done; everything else that is
// not ok failed (with the message as the reason).
batch_outcome classify_batch_answer(const pb::BatchOperation& op, bool ok, errc code,
                                    const std::string& message);

// Answers that came back (by target index, any order) are counted in target order: those from
// `position` on that are contiguous leave `answers` and move `position`; after the last target
// the job is COMPLETED at `now`.
struct batch_answer {
  batch_outcome outcome = batch_outcome::done;
  std::string reason;
};
void take_batch_answers(pb::BatchJobRecord& job, std::map<int64_t, batch_answer>& answers,
                        int64_t now);

// Stops a job that is not closed: STOPPED with the reason; the rest is not applied.
void stop_batch_job(pb::BatchJobRecord& job, const std::string& reason, int64_t now);
[[nodiscard]] bool batch_job_open(const pb::BatchJobRecord& job);

// The request ID a job's operation on a target carries (the same after every restart).
std::string batch_request_id(const std::string& job_id, const pb::BatchTarget& target);

// What describe, list, start and stop show: the record without its targets (their number).
pb::BatchJobDescription describe_batch_job(const pb::BatchJobRecord& job);

// The operation's name for people: "terminate", "cancel", "signal <name>", "reset".
std::string batch_operation_name(const pb::BatchOperation& op);

}  // namespace chronicle
