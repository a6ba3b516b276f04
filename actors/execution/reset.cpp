#include "actors/execution/reset.hpp"

#include <spdlog/spdlog.h>

#include "shards/reset.hpp"

namespace chronicle {

namespace {

// The run `run_id` of the workflow (empty: the current one), from memory or the store.
caf::expected<pb::MutableState> run_of(execution_self self, const std::string& run_id) {
  auto& st = self->state;
  const auto& wid = st.args.workflow_id;
  if (!st.run) return make_error(errc::not_found, "workflow '" + wid + "' not found");
  if (run_id.empty() || run_id == st.run->run_id()) return *st.run;
  storage::status sst;
  auto other = st.args.env->store->load_state(
    storage::run_key{st.args.shard_id, st.args.ns, wid, run_id}, &sst);
  if (!sst.ok()) return make_error(errc::internal, sst.message());
  if (!other)
    return make_error(errc::not_found, "run " + run_id + " of workflow '" + wid + "' not found");
  return std::move(*other);
}

// The whole history of `run` (the current run's from the cache, which holds what is applied in
// memory; another run's from the store).
caf::expected<std::vector<pb::HistoryEvent>> history_of(execution_self self,
                                                        const pb::MutableState& run) {
  auto& st = self->state;
  if (st.run && run.run_id() == st.run->run_id()) {
    if (auto err = st.cache_history()) return err;
    pb::WorkflowTask task;  // the cache holds WorkflowTask.history fields
    if (!task.ParseFromString(st.history.wire()))
      return make_error(errc::internal, "history cache of " + st.args.workflow_id + " unreadable");
    return std::vector<pb::HistoryEvent>(task.history().begin(), task.history().end());
  }
  std::vector<pb::HistoryEvent> events;
  auto sst = st.args.env->store->read_history(
    storage::run_key{st.args.shard_id, st.args.ns, st.args.workflow_id, run.run_id()}, &events);
  if (!sst.ok()) return make_error(errc::internal, sst.message());
  return events;
}

std::string reset_response(const std::string& run_id) {
  pb::ResetWorkflowResponse resp;
  resp.set_run_id(run_id);
  return encode(resp);
}

// Answers `rp` with `bytes` once every write so far is durable.
void answer_durable(execution_self self, caf::response_promise rp, std::string bytes) {
  self->state.when_durable([rp, bytes = std::move(bytes)](const caf::error& err) mutable {
    if (err) rp.deliver(err);
    else rp.deliver(std::move(bytes));
  });
}

void purge_run(execution_self self, caf::response_promise rp, const pb::MutableState& ms) {
  auto& st = self->state;
  const auto& cfg = st.args.env->config;
  auto info = visibility_info(ms, cfg.search_attributes_of(st.args.ns));
  auto at = ms.close_time_ms() + cfg.retention_of(st.args.ns);
  st.purge(self, info, at, [rp, run_id = ms.run_id()](const storage::status& sst) mutable {
    if (!sst.ok()) {
      rp.deliver(make_error(sst.is_unavailable() ? errc::unavailable : errc::internal,
                            "delete failed: " + sst.message()));
      return;
    }
    pb::DeleteWorkflowResponse resp;
    resp.set_run_id(run_id);
    rp.deliver(encode(resp));
  });
}

}  // namespace

caf::result<std::string> on_reset(execution_self self, const std::string& bytes,
                                  const std::string& new_run_id) {
  touch(self);
  auto& st = self->state;
  if (auto err = st.load()) return err;
  auto req = decode<pb::ResetWorkflowRequest>(bytes, "ResetWorkflowRequest");
  if (!req) return req.error();
  if (!st.run) return make_error(errc::not_found, "workflow '" + st.args.workflow_id + "' not found");
  if (!req->request_id().empty() && st.run->reset_request_id() == req->request_id()) {
    auto rp = self->make_response_promise();
    answer_durable(self, rp, reset_response(st.run->run_id()));  // made by this request before
    return caf::delegated<std::string>{};
  }
  auto base = run_of(self, req->run_id());
  if (!base) return base.error();
  auto history = history_of(self, *base);
  if (!history) return history.error();
  input::reset_workflow in;
  in.type = req->reset_type();
  in.event_id = req->event_id();
  in.reason = req->reason();
  in.identity = req->identity();
  in.request_id = req->request_id();
  in.reapply_signals = req->reapply_type() != pb::RESET_REAPPLY_TYPE_NONE;
  auto res = decide_reset(*st.run, *base, *history, in, new_run_id, now_ms());
  if (auto* rej = std::get_if<rejection>(&res)) return make_error(rej->code, rej->message);
  auto base_id = base->run_id();
  auto rp = self->make_response_promise();
  st.settle(self, std::move(res), false, [self, rp, base_id, reason = req->reason()](caf::error err) mutable {
    if (err) {
      rp.deliver(err);
      return;
    }
    auto& st = self->state;
    spdlog::info("reset workflow {}/{} run {} to run {} (event {}){}", st.args.ns,
                 st.args.workflow_id, base_id, st.run->run_id(), st.run->reset_event_id(),
                 reason.empty() ? "" : ": " + reason);
    answer_durable(self, rp, reset_response(st.run->run_id()));
  });
  return caf::delegated<std::string>{};
}

caf::result<std::string> on_delete(execution_self self, const std::string& bytes) {
  touch(self);
  auto& st = self->state;
  if (auto err = st.load()) return err;
  auto req = decode<pb::DeleteWorkflowRequest>(bytes, "DeleteWorkflowRequest");
  if (!req) return req.error();
  auto target = run_of(self, req->run_id());
  if (!target) return target.error();
  auto rp = self->make_response_promise();
  if (!is_running(*target)) {
    // Earlier writes of the run (its close) must be on disk before it is read back and deleted.
    st.when_durable([self, rp, ms = std::move(*target)](const caf::error& err) mutable {
      if (err) rp.deliver(err);
      else purge_run(self, rp, ms);
    });
    return caf::delegated<std::string>{};
  }
  spdlog::info("deleting running workflow {}/{} run {}: terminated first", st.args.ns,
               st.args.workflow_id, target->run_id());
  st.step(self, input::terminate_workflow{"deleted", req->identity()},
          [self, rp](caf::error err) mutable {
            if (err) {
              rp.deliver(err);
              return;
            }
            self->state.when_durable([self, rp](const caf::error& err) mutable {
              auto& st = self->state;
              if (err) rp.deliver(err);
              else if (!st.run) rp.deliver(make_error(errc::not_found, "workflow not found"));
              else purge_run(self, rp, *st.run);
            });
          });
  return caf::delegated<std::string>{};
}

}  // namespace chronicle
