// Batch operations: the pure job (see batch_job.hpp).
#include "shards/batch_job.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace chronicle {

namespace {

double rps_of(const pb::BatchJobRecord& job) {
  double rps = job.definition().rps();
  return rps > 0 ? rps : default_batch_rps;
}

int64_t interval_ms(const pb::BatchJobRecord& job) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(1000.0 / rps_of(job))));
}

void add_failure(pb::BatchJobRecord& job, const std::string& wid, const std::string& run,
                 const std::string& reason) {
  job.set_failed(job.failed() + 1);
  if (job.failures_size() >= max_batch_failures) return;
  auto* f = job.add_failures();
  f->set_workflow_id(wid);
  f->set_run_id(run);
  f->set_reason(reason);
}

void close_job(pb::BatchJobRecord& job, pb::BatchJobState state, int64_t now) {
  job.set_state(state);
  job.set_close_time_ms(now);
  job.clear_collect_page_token();
}

}  // namespace

std::string check_batch_definition(const pb::BatchJobDefinition& def) {
  if (def.job_id().empty()) return "a batch job needs a job ID";
  if (def.job_id().size() > 200) return "batch job ID is over 200 bytes";
  if (def.query().empty()) return "a batch job needs a list query (--query)";
  if (!std::isfinite(def.rps()) || def.rps() < 0 || def.rps() > max_batch_rps)
    return "rps must be between 0 (default " + std::to_string(int(default_batch_rps)) + ") and "
           + std::to_string(int(max_batch_rps));
  const auto& op = def.operation();
  switch (op.kind_case()) {
    case pb::BatchOperation::kTerminate:
    case pb::BatchOperation::kCancel:
      return {};
    case pb::BatchOperation::kSignal:
      return op.signal().name().empty() ? "a batch signal needs a signal name" : "";
    case pb::BatchOperation::kReset:
      if (op.reset().reset_type() != pb::RESET_TYPE_FIRST_WORKFLOW_TASK
          && op.reset().reset_type() != pb::RESET_TYPE_LAST_WORKFLOW_TASK)
        return "a batch reset needs a reset type (first or last)";
      return {};
    default:
      return "a batch job needs an operation (terminate, cancel, signal or reset)";
  }
}

pb::BatchJobRecord new_batch_job(const pb::BatchJobDefinition& def, int64_t now) {
  pb::BatchJobRecord job;
  *job.mutable_definition() = def;
  job.set_state(pb::BATCH_JOB_STATE_COLLECTING);
  job.set_start_time_ms(now);
  return job;
}

void add_batch_page(pb::BatchJobRecord& job, const std::vector<pb::BatchTarget>& runs,
                    const std::string& next_page_token, int64_t now) {
  if (job.state() != pb::BATCH_JOB_STATE_COLLECTING) return;
  std::set<std::pair<std::string, std::string>> have;
  for (auto& t : job.targets()) have.emplace(t.workflow_id(), t.run_id());
  for (auto& r : runs) {
    if (!have.emplace(r.workflow_id(), r.run_id()).second) continue;  // listed twice
    if (job.targets_size() >= max_batch_targets) {
      add_failure(job, r.workflow_id(), r.run_id(),
                  "too many runs: a job takes at most " + std::to_string(max_batch_targets));
      continue;
    }
    *job.add_targets() = r;
  }
  job.set_collect_page_token(next_page_token);
  if (!next_page_token.empty()) return;
  if (job.targets_size() == 0) close_job(job, pb::BATCH_JOB_STATE_COMPLETED, now);
  else job.set_state(pb::BATCH_JOB_STATE_RUNNING);
}

batch_slot batch_ready(const pb::BatchJobRecord& job, int64_t in_flight, int64_t now) {
  batch_slot slot;
  if (job.state() != pb::BATCH_JOB_STATE_RUNNING) return slot;
  int64_t left = job.targets_size() - job.position() - in_flight;
  if (left <= 0) return slot;
  auto every = interval_ms(job);
  int64_t due = job.last_op_time_ms() == 0 ? now : job.last_op_time_ms() + every;
  if (due > now) {
    slot.next_due_ms = due;
    return slot;
  }
  // No burst after an idle time (a restart): at most one second's worth at once.
  int64_t burst = std::max<int64_t>(1, static_cast<int64_t>(rps_of(job)));
  slot.count = std::min({left, 1 + (now - due) / every, burst});
  slot.next_due_ms = slot.count < left ? due + slot.count * every : 0;
  if (slot.next_due_ms != 0 && slot.next_due_ms < now) slot.next_due_ms = now + every;
  return slot;
}

void note_batch_issued(pb::BatchJobRecord& job, int64_t count, int64_t now) {
  if (count <= 0) return;
  auto every = interval_ms(job);
  int64_t from = job.last_op_time_ms() == 0 ? now - every : job.last_op_time_ms();
  // Keep the pace (not the wall clock) unless it fell a second behind: then start from now.
  if (now - from > 1000 + every) from = now - every;
  job.set_last_op_time_ms(from + count * every);
}

batch_outcome classify_batch_answer(const pb::BatchOperation& op, bool ok, errc code,
                                    const std::string& message) {
  if (ok) return batch_outcome::done;
  bool closes = op.has_terminate() || op.has_cancel();
  if (closes && code == errc::not_found && message.find(" is closed (") != std::string::npos)
    return batch_outcome::already_done;
  return batch_outcome::failed;
}

void take_batch_answers(pb::BatchJobRecord& job, std::map<int64_t, batch_answer>& answers,
                        int64_t now) {
  if (job.state() != pb::BATCH_JOB_STATE_RUNNING) return;
  for (auto it = answers.find(job.position()); it != answers.end();
       it = answers.find(job.position())) {
    const auto& target = job.targets(static_cast<int>(job.position()));
    switch (it->second.outcome) {
      case batch_outcome::done:
        job.set_done(job.done() + 1);
        break;
      case batch_outcome::already_done:
        job.set_done(job.done() + 1);
        job.set_already_done(job.already_done() + 1);
        break;
      case batch_outcome::failed:
        add_failure(job, target.workflow_id(), target.run_id(), it->second.reason);
        break;
    }
    answers.erase(it);
    job.set_position(job.position() + 1);
  }
  // Answers of targets before the position (a repeat after a restart) are not counted twice.
  answers.erase(answers.begin(), answers.lower_bound(job.position()));
  if (job.position() >= job.targets_size()) close_job(job, pb::BATCH_JOB_STATE_COMPLETED, now);
}

void stop_batch_job(pb::BatchJobRecord& job, const std::string& reason, int64_t now) {
  if (!batch_job_open(job)) return;
  job.set_stop_reason(reason);
  close_job(job, pb::BATCH_JOB_STATE_STOPPED, now);
}

bool batch_job_open(const pb::BatchJobRecord& job) {
  return job.state() == pb::BATCH_JOB_STATE_COLLECTING || job.state() == pb::BATCH_JOB_STATE_RUNNING;
}

std::string batch_request_id(const std::string& job_id, const pb::BatchTarget& target) {
  return "batch/" + job_id + "/" + target.run_id();
}

pb::BatchJobDescription describe_batch_job(const pb::BatchJobRecord& job) {
  pb::BatchJobDescription d;
  *d.mutable_definition() = job.definition();
  d.set_state(job.state());
  d.set_start_time_ms(job.start_time_ms());
  d.set_close_time_ms(job.close_time_ms());
  d.set_total(job.targets_size());
  d.set_position(job.position());
  d.set_done(job.done());
  d.set_already_done(job.already_done());
  d.set_failed(job.failed());
  *d.mutable_failures() = job.failures();
  d.set_stop_reason(job.stop_reason());
  return d;
}

std::string batch_operation_name(const pb::BatchOperation& op) {
  switch (op.kind_case()) {
    case pb::BatchOperation::kTerminate: return "terminate";
    case pb::BatchOperation::kCancel: return "cancel";
    case pb::BatchOperation::kSignal: return "signal " + op.signal().name();
    case pb::BatchOperation::kReset: return "reset";
    default: return "none";
  }
}

}  // namespace chronicle
