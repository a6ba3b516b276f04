// Messages from one workflow execution to another: the start of a child, the notification of a
// parent when its child closed, the parent close policy, signals and cancel requests to other
// workflows (ctx.signal_external / cancel_external). Each is queued in the sender's mutable state
// (and a transfer record) by the transition that causes it, sent through the frontend (so it
// reaches the owning shard on any node) after that transition is durable, retried while the
// receiver is unavailable, and removed when answered. Receivers are idempotent (request IDs,
// "not pending" checks), so a message sent twice after a crash does no harm. Recovery wakes the
// current run of a workflow ID, which lists the messages of the runs it replaced that are still
// unanswered (carry_outbound in shards/).
#include <spdlog/spdlog.h>

#include "actors/execution/execution_state.hpp"

namespace chronicle {

namespace {

constexpr auto outbound_timeout = std::chrono::seconds(30);
constexpr auto outbound_retry = std::chrono::seconds(1);

bool is_external(const pb::TransferRecord& rec) {
  return rec.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL
         || rec.kind() == pb::TRANSFER_KIND_CANCEL_EXTERNAL;
}

// "<sending run>/<initiated event>": unique per message, the same for each of its retries.
std::string external_request_id(const pb::TransferRecord& rec) {
  return rec.run_id() + "/" + std::to_string(rec.scheduled_event_id());
}

bool permanent(const caf::error& err) {
  auto code = chronicle_code(err);
  return code == static_cast<uint8_t>(errc::invalid_argument)
         || code == static_cast<uint8_t>(errc::not_found)
         || code == static_cast<uint8_t>(errc::already_started)
         || code == static_cast<uint8_t>(errc::bad_message)
         || code == static_cast<uint8_t>(errc::stale_task);
}

}  // namespace

void execution_state::send_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec) {
  caf::atom_value kind = start_atom::value;
  std::string bytes;
  switch (rec.kind()) {
    case pb::TRANSFER_KIND_START_CHILD: {
      if (!run || run->run_id() != rec.run_id()) return;
      auto it = run->pending_children().find(rec.scheduled_event_id());
      if (it == run->pending_children().end()) return;
      auto& pc = it->second;
      pb::StartWorkflowRequest req;
      req.set_namespace_(pc.namespace_());
      req.set_workflow_id(pc.workflow_id());
      req.set_workflow_type(pc.workflow_type());
      req.set_task_queue(pc.task_queue());
      *req.mutable_input() = pc.input();
      req.set_identity("parent " + run->workflow_id());
      // The same request ID for every retry: a child that started already answers with its run.
      req.set_request_id(run->run_id() + "/" + std::to_string(pc.initiated_event_id()));
      req.set_workflow_execution_timeout_ms(pc.workflow_execution_timeout_ms());
      req.set_workflow_run_timeout_ms(pc.workflow_run_timeout_ms());
      req.set_id_reuse_policy(pc.workflow_id_reuse_policy());
      auto* parent = req.mutable_parent();
      parent->set_namespace_(run->namespace_());
      parent->set_workflow_id(run->workflow_id());
      parent->set_run_id(run->run_id());
      parent->set_initiated_event_id(pc.initiated_event_id());
      req.set_parent_close_policy(pc.parent_close_policy());
      req.set_priority(run->priority());  // a child inherits its parent's priority (Temporal's rule)
      bytes = encode(req);
      break;
    }
    case pb::TRANSFER_KIND_PARENT_NOTIFY: {
      if (!run || run->run_id() != rec.run_id() || !run->has_parent()) return;
      kind = child_done_atom::value;
      pb::ChildWorkflowClosed msg;
      *msg.mutable_parent() = run->parent();
      msg.set_namespace_(run->namespace_());
      msg.mutable_child()->set_workflow_id(run->workflow_id());
      msg.mutable_child()->set_run_id(run->run_id());
      msg.set_workflow_type(run->workflow_type());
      msg.set_status(run->status());
      *msg.mutable_result() = run->result();
      *msg.mutable_failure() = run->failure();
      bytes = encode(msg);
      break;
    }
    case pb::TRANSFER_KIND_CHILD_POLICY: {
      // The child's current run: a child that continued as new is still the child.
      std::string reason = "parent workflow " + rec.workflow_id() + " closed";
      if (rec.policy() == pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL) {
        kind = cancel_atom::value;
        pb::RequestCancelWorkflowRequest req;
        req.set_namespace_(rec.target_namespace());
        req.set_workflow_id(rec.target_workflow_id());
        req.set_reason(reason + " (parent close policy: request cancel)");
        req.set_identity("chronicle");
        req.set_request_id(rec.run_id() + "/" + std::to_string(rec.scheduled_event_id()));
        bytes = encode(req);
      } else {
        kind = terminate_atom::value;
        pb::TerminateWorkflowRequest req;
        req.set_namespace_(rec.target_namespace());
        req.set_workflow_id(rec.target_workflow_id());
        req.set_reason(reason + " (parent close policy: terminate)");
        req.set_identity("chronicle");
        bytes = encode(req);
      }
      break;
    }
    case pb::TRANSFER_KIND_SIGNAL_EXTERNAL: {
      // The same request ID for every retry: the target records the signal once.
      kind = signal_atom::value;
      pb::SignalWorkflowRequest req;
      req.set_namespace_(rec.target_namespace());
      req.set_workflow_id(rec.target_workflow_id());
      req.set_run_id(rec.target_run_id());
      req.set_signal_name(rec.signal_name());
      *req.mutable_input() = rec.input();
      req.set_identity("workflow " + rec.workflow_id());
      req.set_request_id(external_request_id(rec));
      bytes = encode(req);
      break;
    }
    case pb::TRANSFER_KIND_CANCEL_EXTERNAL: {
      kind = cancel_atom::value;
      pb::RequestCancelWorkflowRequest req;
      req.set_namespace_(rec.target_namespace());
      req.set_workflow_id(rec.target_workflow_id());
      req.set_run_id(rec.target_run_id());
      req.set_reason(rec.reason().empty() ? "requested by workflow " + rec.workflow_id()
                                          : rec.reason());
      req.set_identity("workflow " + rec.workflow_id());
      req.set_request_id(external_request_id(rec));
      bytes = encode(req);
      break;
    }
    default:
      return;
  }
  ++outbound_in_flight;
  auto retry = [this, self, rec] {
    self->delayed_send(self, outbound_retry, outbound_atom::value, encode(rec));
  };
  self->request(args.env->frontend, outbound_timeout, kind, std::move(bytes))
    .then(
      [this, self, rec](const std::string& reply) {
        --outbound_in_flight;
        if (rec.kind() == pb::TRANSFER_KIND_START_CHILD) {
          auto resp = decode<pb::StartWorkflowResponse>(reply, "StartWorkflowResponse");
          self->send(self, child_started_atom::value, rec.scheduled_event_id(),
                     resp ? resp->run_id() : std::string{}, std::string{});
          return;
        }
        if (is_external(rec)) {
          // Signal and cancel responses both carry the target's run ID as field 1.
          auto resp = decode<pb::SignalWorkflowResponse>(reply, "SignalWorkflowResponse");
          self->send(self, external_done_atom::value, encode(rec),
                     resp ? resp->run_id() : std::string{}, std::string{}, std::string{});
          return;
        }
        ack_outbound(self, rec);
      },
      [this, self, rec, retry](caf::error& err) {
        --outbound_in_flight;
        if (!permanent(err)) {
          spdlog::debug("{}/{}: retrying a message to another workflow: {}", args.ns,
                        args.workflow_id, error_text(err));
          retry();
          return;
        }
        if (rec.kind() == pb::TRANSFER_KIND_START_CHILD) {
          auto cause = chronicle_code(err) == static_cast<uint8_t>(errc::already_started)
                         ? std::string("WorkflowExecutionAlreadyStarted")
                         : error_text(err);
          self->send(self, child_started_atom::value, rec.scheduled_event_id(), std::string{},
                     cause);
          return;
        }
        if (is_external(rec)) {
          auto cause = chronicle_code(err) == static_cast<uint8_t>(errc::not_found)
                         ? std::string("ExternalWorkflowExecutionNotFound")
                         : std::string("ExternalWorkflowExecutionRefused");
          self->send(self, external_done_atom::value, encode(rec), std::string{}, cause,
                     error_text(err));
          return;
        }
        ack_outbound(self, rec);  // the receiver is gone or closed: nothing left to tell it
      });
}

void execution_state::ack_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec) {
  auto remove = [&rec](pb::MutableState& ms) {
    auto* out = ms.mutable_outbound();
    for (int i = 0; i < out->size(); ++i)
      if (same_outbound(out->Get(i), rec)) {
        out->DeleteSubrange(i, 1);
        return true;
      }
    return false;
  };
  // The message is listed by the run that sent it and, when a later run replaced that one, by
  // the current run (carry_outbound): both forget it in one write.
  storage::write_batch batch = new_batch();
  bool changed = false;
  std::shared_ptr<pb::MutableState> current;
  if (run) {
    current = std::make_shared<pb::MutableState>(*run);
    if (remove(*current)) {
      put_durable_state(batch, storage::run_key{args.shard_id, args.ns, args.workflow_id,
                                                current->run_id()},
                        *current);
      changed = true;
    } else {
      current.reset();
    }
  }
  if (!run || run->run_id() != rec.run_id()) {
    storage::run_key k{args.shard_id, args.ns, args.workflow_id, rec.run_id()};
    storage::status st;
    auto sender = args.env->store->load_state(k, &st);
    if (sender && remove(*sender)) {
      batch.put_state(k, *sender);
      changed = true;
    }
  }
  if (!changed) return;
  batch.delete_transfer(args.shard_id, rec);
  write(self, std::move(batch), [this, current](const storage::status& st) {
    if (!st.ok()) {
      spdlog::error("{}/{}: acknowledging a message failed: {}", args.ns, args.workflow_id,
                    st.message());
      return;
    }
    if (current && run && run->run_id() == current->run_id()) *run = std::move(*current);
  });
}

void execution_state::purge(caf::event_based_actor* self, const pb::WorkflowExecutionInfo& info,
                            int64_t delete_at_ms, std::function<void(const storage::status&)> done) {
  storage::run_key k{args.shard_id, args.ns, args.workflow_id, info.run_id()};
  storage::write_batch batch = new_batch();
  if (auto st = args.env->store->delete_history(k, batch); !st.ok()) {
    spdlog::error("deleting {}/{}: {}", args.ns, args.workflow_id, st.message());
    if (done) done(st);
    return;
  }
  storage::status st;
  auto ms = args.env->store->load_state(k, &st);
  if (ms) {
    for (auto& rec : ms->outbound()) batch.delete_transfer(args.shard_id, rec);
    if (is_running(*ms)) {  // never deletes a running run
      if (done) done(storage::status::error("run " + info.run_id() + " is running"));
      return;
    }
  }
  batch.delete_state(k);
  batch.delete_visibility(args.shard_id, info);
  batch.delete_retention(args.shard_id, delete_at_ms, info);
  bool current = run && run->run_id() == info.run_id();
  if (current) batch.delete_current(args.shard_id, args.ns, args.workflow_id);
  write(self, std::move(batch),
        [this, current, run_id = info.run_id(), done = std::move(done)](const storage::status& st) {
          if (!st.ok()) {
            spdlog::error("deleting {}/{}: {}", args.ns, args.workflow_id, st.message());
          } else {
            spdlog::debug("deleted {}/{} run {}", args.ns, args.workflow_id, run_id);
            if (current && run && run->run_id() == run_id) {
              run.reset();
              history.reset(false);
            }
          }
          if (done) done(st);
        });
}

}  // namespace chronicle
