// Collecting a job's targets and applying its operation. Pages come from the node's admin actor
// (the cluster-wide list, every member's shards); operations go through the node's frontend to
// the run's shard wherever it is, with the request ID batch/<job>/<run> so that applying a
// target again after a restart changes nothing (shards/batch_job.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/batch/batch_state.hpp"

namespace chronicle {

namespace {

constexpr int32_t page_size = 1000;
constexpr auto page_timeout = std::chrono::seconds(60);
constexpr auto op_timeout = std::chrono::seconds(30);
constexpr auto retry_delay = std::chrono::seconds(1);
// An operation that failed for a passing reason (unavailable, overloaded, no answer) is sent
// again after retry_delay, this many times at most; then the failure is counted.
constexpr int max_attempts = 30;
// Operations issued and not answered at most (the pace goes on as answers come).
constexpr int64_t max_in_flight = 1000;
constexpr int64_t progress_interval_ms = 200;

batch_runner_state::job* find(batch_runner_ptr self, const std::string& key) {
  auto it = self->state.jobs.find(key);
  return it == self->state.jobs.end() ? nullptr : &it->second;
}

void ask_page(batch_runner_ptr self, const std::string& key) {
  auto* j = find(self, key);
  if (!j || j->listing) return;
  j->listing = true;
  auto gen = self->state.generation;
  auto retry = [self, gen, key] {
    self->delayed_send(self, retry_delay, bat_page_atom::value, gen, key);
  };
  self->request(self->state.env->admin, page_timeout, list_atom::value,
                encode(page_request(j->rec)))
    .then(
      [=](const std::string& reply) {
        if (gen != self->state.generation) return;
        auto* j = find(self, key);
        if (!j) return;
        j->listing = false;
        if (j->rec.state() != pb::BATCH_JOB_STATE_COLLECTING) return;  // stopped meanwhile
        auto resp = decode<pb::ListWorkflowsResponse>(reply, "ListWorkflowsResponse");
        if (!resp) return retry();
        if (!resp->missing_nodes().empty()) {
          spdlog::info("batch job '{}': members did not answer the list ({}...), reading again",
                       j->rec.definition().job_id(), resp->missing_nodes(0));
          return retry();
        }
        add_batch_page(j->rec, targets_of(*resp), hex_of(resp->next_page_token()), now_ms());
        write_job(self, key, [self, gen, key](const storage::status& s) {
          if (s.ok() && gen == self->state.generation) drive(self, key);
        });
      },
      [=](caf::error& err) {
        if (gen != self->state.generation) return;
        auto* j = find(self, key);
        if (!j) return;
        j->listing = false;
        if (j->rec.state() != pb::BATCH_JOB_STATE_COLLECTING) return;
        if (static_cast<errc>(chronicle_code(err)) == errc::invalid_argument) {
          stop_batch_job(j->rec, "list query: " + error_text(err), now_ms());
          write_job(self, key);
          return;
        }
        spdlog::info("batch job '{}': list failed: {} (again in 1 s)",
                     j->rec.definition().job_id(), error_text(err));
        retry();
      });
}

// Issues the operations that are due and arms a tick for the next one.
void pump(batch_runner_ptr self, const std::string& key) {
  auto* j = find(self, key);
  if (!j || j->rec.state() != pb::BATCH_JOB_STATE_RUNNING) return;
  auto now = now_ms();
  int64_t in_flight = j->next - j->rec.position();
  auto slot = batch_ready(j->rec, in_flight, now);
  int64_t count = std::min(slot.count, max_in_flight - in_flight);
  if (count > 0) {
    note_batch_issued(j->rec, count, now);
    for (int64_t i = 0; i < count; ++i) issue(self, key, j->next++);
  }
  if (count < slot.count) return;  // at the in-flight cap: answers pump again
  auto due = slot.next_due_ms;
  if (due == 0 || (j->tick_at != 0 && j->tick_at <= due)) return;
  j->tick_at = due;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(due - now, 0)),
                     bat_tick_atom::value, self->state.generation, key);
}

// The request that applies the job's operation to `t`.
std::pair<caf::atom_value, std::string> operation_request(const pb::BatchJobDefinition& def,
                                                          const pb::BatchTarget& t) {
  auto reason = def.reason().empty() ? "batch job " + def.job_id() : def.reason();
  auto identity = def.identity().empty() ? "batch " + def.job_id() : def.identity();
  auto request_id = batch_request_id(def.job_id(), t);
  const auto& op = def.operation();
  if (op.has_terminate()) {
    pb::TerminateWorkflowRequest r;
    r.set_namespace_(def.namespace_());
    r.set_workflow_id(t.workflow_id());
    r.set_run_id(t.run_id());
    r.set_reason(reason);
    r.set_identity(identity);
    return {terminate_atom::value, encode(r)};
  }
  if (op.has_cancel()) {
    pb::RequestCancelWorkflowRequest r;
    r.set_namespace_(def.namespace_());
    r.set_workflow_id(t.workflow_id());
    r.set_run_id(t.run_id());
    r.set_reason(reason);
    r.set_identity(identity);
    r.set_request_id(request_id);
    return {cancel_atom::value, encode(r)};
  }
  if (op.has_signal()) {
    pb::SignalWorkflowRequest r;
    r.set_namespace_(def.namespace_());
    r.set_workflow_id(t.workflow_id());
    r.set_run_id(t.run_id());
    r.set_signal_name(op.signal().name());
    *r.mutable_input() = op.signal().input();
    r.set_identity(identity);
    r.set_request_id(request_id);
    return {signal_atom::value, encode(r)};
  }
  pb::ResetWorkflowRequest r;
  r.set_namespace_(def.namespace_());
  r.set_workflow_id(t.workflow_id());
  r.set_run_id(t.run_id());
  r.set_reset_type(op.reset().reset_type());
  r.set_reapply_type(op.reset().reapply_type());
  r.set_reason(reason);
  r.set_identity(identity);
  r.set_request_id(request_id);
  return {reset_atom::value, encode(r)};
}

// Whether an error may pass by itself: try the operation again.
bool passing(const caf::error& err) {
  auto code = static_cast<errc>(chronicle_code(err));
  return chronicle_code(err) == 0 || code == errc::unavailable || code == errc::overloaded;
}

}  // namespace

void drive(batch_runner_ptr self, const std::string& key) {
  auto* j = find(self, key);
  if (!j) return;
  if (j->rec.state() == pb::BATCH_JOB_STATE_COLLECTING) ask_page(self, key);
  else if (j->rec.state() == pb::BATCH_JOB_STATE_RUNNING) pump(self, key);
}

pb::ListWorkflowsRequest page_request(const pb::BatchJobRecord& rec) {
  pb::ListWorkflowsRequest req;
  req.set_namespace_(rec.definition().namespace_());
  req.set_query(rec.definition().query());
  req.set_page_size(page_size);
  req.set_next_page_token(unhex(rec.collect_page_token()));
  // Terminate, cancel and signal apply to running runs; a reset to any run the query matches.
  if (!rec.definition().operation().has_reset())
    req.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  return req;
}

std::vector<pb::BatchTarget> targets_of(const pb::ListWorkflowsResponse& resp) {
  std::vector<pb::BatchTarget> out;
  out.reserve(resp.executions_size());
  for (auto& e : resp.executions()) {
    pb::BatchTarget t;
    t.set_workflow_id(e.workflow_id());
    t.set_run_id(e.run_id());
    out.push_back(std::move(t));
  }
  return out;
}

std::string hex_of(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string unhex(const std::string& hex) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};  // never written so: read from the start again
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

void issue(batch_runner_ptr self, const std::string& key, int64_t index) {
  auto* j = find(self, key);
  if (!j || j->rec.state() != pb::BATCH_JOB_STATE_RUNNING || index < j->rec.position()
      || index >= j->rec.targets_size())
    return;
  auto [atom, bytes] = operation_request(j->rec.definition(), j->rec.targets(static_cast<int>(index)));
  auto gen = self->state.generation;
  self->request(self->state.env->frontend, op_timeout, atom, std::move(bytes))
    .then(
      [=](const std::string&) {
        if (gen == self->state.generation) on_answer(self, key, index, {batch_outcome::done, ""});
      },
      [=](caf::error& err) {
        if (gen != self->state.generation) return;
        auto* j = find(self, key);
        if (!j) return;
        if (passing(err) && ++j->attempts[index] < max_attempts) {
          self->delayed_send(self, retry_delay, bat_op_atom::value, gen, key, index);
          return;
        }
        auto text = error_text(err);
        auto outcome = classify_batch_answer(j->rec.definition().operation(), false,
                                             static_cast<errc>(chronicle_code(err)), text);
        on_answer(self, key, index, {outcome, text});
      });
}

void on_answer(batch_runner_ptr self, const std::string& key, int64_t index, batch_answer a) {
  auto* j = find(self, key);
  if (!j) return;
  j->attempts.erase(index);
  j->answers[index] = std::move(a);
  auto before = j->rec.position();
  take_batch_answers(j->rec, j->answers, now_ms());
  if (j->rec.position() != before) {
    if (!batch_job_open(j->rec))
      spdlog::info("batch job '{}': completed, {} done ({} already), {} failed",
                   j->rec.definition().job_id(), j->rec.done(), j->rec.already_done(),
                   j->rec.failed());
    write_progress(self, key);
  }
  pump(self, key);
}

void write_progress(batch_runner_ptr self, const std::string& key) {
  auto* j = find(self, key);
  if (!j) return;
  j->dirty = true;
  if (j->writing || j->flush_armed) return;
  auto now = now_ms();
  auto every = progress_interval_ms + j->rec.targets_size() / 100;  // 100,000 targets: 1.2 s
  auto wait = j->last_write_ms + every - now;
  auto gen = self->state.generation;
  if (wait > 0 && batch_job_open(j->rec)) {
    j->flush_armed = true;
    self->delayed_send(self, std::chrono::milliseconds(wait), bat_flush_atom::value, gen, key);
    return;
  }
  j->writing = true;
  j->dirty = false;
  j->last_write_ms = now;
  write_job(self, key, [self, gen, key](const storage::status& s) {
    if (gen != self->state.generation) return;
    auto* j = find(self, key);
    if (!j) return;
    j->writing = false;
    if (s.ok() && j->dirty) write_progress(self, key);
  });
}

}  // namespace chronicle
