// decide for a completed workflow task: checks its commands (all or nothing), then records one
// event per command. See decide.hpp for the contract.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "shards/activity_policy.hpp"
#include "shards/transition_builder.hpp"

namespace chronicle::detail {

pb::Failure workflow_task_failure(const pb::HistoryEvent& ev) {
  if (ev.has_workflow_task_failed()) return ev.workflow_task_failed().failure();
  pb::Failure f;
  f.set_message("workflow task timed out: " + ev.workflow_task_timed_out().cause());
  f.set_type("TimeoutError");
  f.set_source("server");
  return f;
}

namespace {

constexpr int64_t max_timer_ms = int64_t{100} * 365 * 24 * 3600 * 1000;  // 100 years

struct bad_commands {
  pb::WorkflowTaskFailedCause cause = pb::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED;
  std::string message;
};

bool closes_workflow(const pb::Command& c) {
  return c.has_complete_workflow_execution() || c.has_fail_workflow_execution()
         || c.has_cancel_workflow_execution() || c.has_continue_as_new_workflow_execution();
}

// Checks one command on its own; returns an empty string when valid, else the reason.
std::string validate(const pb::Command& c, pb::WorkflowTaskFailedCause* cause) {
  switch (c.attributes_case()) {
    case pb::Command::kScheduleActivityTask:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES;
      if (c.schedule_activity_task().activity_type().name().empty())
        return "ScheduleActivityTask without activity type";
      if (c.schedule_activity_task().activity_id().empty())
        return "ScheduleActivityTask without activity id";
      if (auto why = check_activity_options(c.schedule_activity_task()); !why.empty())
        return "ScheduleActivityTask: " + why;
      return {};
    case pb::Command::kStartTimer: {
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES;
      auto ms = c.start_timer().start_to_fire_timeout_ms();
      if (ms < 0 || ms > max_timer_ms) return "StartTimer with invalid duration";
      if (c.start_timer().timer_id().empty()) return "StartTimer without timer id";
      return {};
    }
    case pb::Command::kRequestCancelActivityTask:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES;
      if (c.request_cancel_activity_task().scheduled_event_id() <= 0)
        return "RequestCancelActivityTask without scheduled event id";
      return {};
    case pb::Command::kCancelTimer:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES;
      if (c.cancel_timer().timer_id().empty()) return "CancelTimer without timer id";
      return {};
    case pb::Command::kCompleteWorkflowExecution:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES;
      return {};
    case pb::Command::kFailWorkflowExecution:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES;
      return {};
    case pb::Command::kCancelWorkflowExecution:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES;
      return {};
    case pb::Command::kStartChildWorkflowExecution: {
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES;
      auto& a = c.start_child_workflow_execution();
      if (a.workflow_id().empty() || a.workflow_id().size() > 1000)
        return "StartChildWorkflowExecution needs a workflow ID of 1 to 1000 bytes";
      if (a.workflow_type().empty() || a.workflow_type().size() > 1000)
        return "StartChildWorkflowExecution needs a workflow type of 1 to 1000 bytes";
      if (a.workflow_execution_timeout_ms() < 0 || a.workflow_run_timeout_ms() < 0)
        return "StartChildWorkflowExecution with a negative timeout";
      return {};
    }
    case pb::Command::kContinueAsNewWorkflowExecution:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES;
      if (c.continue_as_new_workflow_execution().workflow_run_timeout_ms() < 0)
        return "ContinueAsNewWorkflowExecution with a negative run timeout";
      return {};
    case pb::Command::kRecordMarker: {
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES;
      auto& name = c.record_marker().marker_name();
      if (name.empty() || name.size() > 1000) return "RecordMarker needs a marker name of 1 to 1000 bytes";
      return {};
    }
    case pb::Command::kAcceptWorkflowUpdate: {
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE;
      auto& a = c.accept_workflow_update();
      if (a.update_id().empty() || a.update_id().size() > 1000)
        return "AcceptWorkflowUpdate needs an update ID of 1 to 1000 bytes";
      if (a.name().empty() || a.name().size() > 1000)
        return "AcceptWorkflowUpdate needs an update name of 1 to 1000 bytes";
      return {};
    }
    case pb::Command::kCompleteWorkflowUpdate:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE;
      if (c.complete_workflow_update().update_id().empty())
        return "CompleteWorkflowUpdate without update ID";
      return {};
    case pb::Command::kSignalExternalWorkflowExecution:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES;
      return check_external_command(c);
    case pb::Command::kRequestCancelExternalWorkflowExecution:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES;
      return check_external_command(c);
    case pb::Command::kUpsertWorkflowSearchAttributes:  // checked by check_search_commands
    case pb::Command::kModifyWorkflowProperties:
      return {};
    default:
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED;
      return "unknown command";
  }
}

std::string label(size_t i) { return "command " + std::to_string(i + 1); }

// The command list on its own: every command valid, a closing command only last.
std::optional<bad_commands> validate_commands(const std::vector<pb::Command>& commands) {
  for (size_t i = 0; i < commands.size(); ++i) {
    bad_commands bad;
    auto reason = validate(commands[i], &bad.cause);
    if (!reason.empty()) {
      bad.message = label(i) + ": " + reason;
      return bad;
    }
    if (closes_workflow(commands[i]) && i + 1 != commands.size()) {
      bad.message = label(i) + " closes the workflow but is not the last";
      return bad;
    }
  }
  return std::nullopt;
}

// The first pending timer named `timer_id`, or null.
const pb::PendingTimer* timer_named(const pb::MutableState& s, const std::string& timer_id) {
  for (auto& [id, pt] : s.pending_timers())
    if (pt.timer_id() == timer_id) return &pt;
  return nullptr;
}

// The cancel commands against the state: each names a pending activity (by its scheduled event
// ID) or a pending timer (also one started by an earlier command of the list), at most once.
std::optional<bad_commands> check_against_state(const pb::MutableState& s,
                                                const std::vector<pb::Command>& commands) {
  std::set<int64_t> canceled_activities;
  std::multiset<std::string> open_timers;
  for (auto& [id, pt] : s.pending_timers()) open_timers.insert(pt.timer_id());
  for (size_t i = 0; i < commands.size(); ++i) {
    auto& c = commands[i];
    if (c.has_start_timer()) open_timers.insert(c.start_timer().timer_id());
    if (c.has_request_cancel_activity_task()) {
      auto id = c.request_cancel_activity_task().scheduled_event_id();
      auto pending = s.pending_activities().find(id);
      if (pending == s.pending_activities().end() || pending->second.cancel_requested_event_id() != 0
          || !canceled_activities.insert(id).second)
        return bad_commands{pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
                            label(i) + ": RequestCancelActivityTask names no pending activity not yet asked to cancel "
                              "(scheduled event " + std::to_string(id) + ")"};
    }
    if (c.has_cancel_timer()) {
      auto it = open_timers.find(c.cancel_timer().timer_id());
      if (it == open_timers.end())
        return bad_commands{pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
                            label(i) + ": CancelTimer names no pending timer '"
                              + c.cancel_timer().timer_id() + "'"};
      open_timers.erase(it);
    }
  }
  size_t index = 0;
  if (auto why = check_update_commands(s, commands, &index); !why.empty())
    return bad_commands{pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
                        label(index) + ": " + why};
  return std::nullopt;
}

// Buffered events the workflow code has not seen, once the CancelTimer commands dropped the fired
// events of their timers.
int unseen_buffered(const pb::MutableState& s, const std::vector<pb::Command>& commands) {
  int count = 0;
  for (auto& ev : s.buffered_events()) count += pause_event(ev) ? 0 : 1;  // not for the code
  for (auto& c : commands) {
    if (!c.has_cancel_timer()) continue;
    auto* pt = timer_named(s, c.cancel_timer().timer_id());
    if (pt && buffered_for_timer(s, pt->started_event_id())) --count;
  }
  return count;
}

decide_result fail_task(const pb::MutableState& s, const input::workflow_task_completed& in,
                        int64_t now, const bad_commands& bad, const std::string& type,
                        int32_t next_attempt) {
  return end_wt_unsuccessfully(s, in.scheduled_event_id, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED, now,
                               next_attempt, [&](pb::HistoryEvent& ev, int64_t started) {
                                 auto* a = ev.mutable_workflow_task_failed();
                                 a->set_scheduled_event_id(in.scheduled_event_id);
                                 a->set_started_event_id(started);
                                 a->mutable_failure()->set_message(bad.message);
                                 a->mutable_failure()->set_type(type);
                                 a->mutable_failure()->set_source("server");
                                 a->set_identity(in.identity);
                                 a->set_cause(bad.cause);
                               });
}

void schedule_activity(builder& b, const pb::ScheduleActivityTaskCommandAttributes& ca,
                       int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).mutable_activity_task_scheduled();
  a->set_activity_id(ca.activity_id());
  *a->mutable_activity_type() = ca.activity_type();
  a->set_task_queue(ca.task_queue().empty() ? b.state().task_queue() : ca.task_queue());
  *a->mutable_input() = ca.input();
  a->set_workflow_task_completed_event_id(completed_id);
  fill_activity_options(ca, a);
  auto queue = a->task_queue();
  b.commit();
  int64_t id = b.state().next_event_id() - 1;
  b.result().transfers_added.push_back(b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, id, queue));
  b.rearm_activity_timer(id);
}

void start_timer(builder& b, const pb::StartTimerCommandAttributes& ca, int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_TIMER_STARTED).mutable_timer_started();
  a->set_timer_id(ca.timer_id());
  a->set_start_to_fire_timeout_ms(ca.start_to_fire_timeout_ms());
  a->set_workflow_task_completed_event_id(completed_id);
  b.commit();
  auto& pt = b.state().pending_timers().at(b.state().next_event_id() - 1);
  b.result().timers_added.push_back(b.timer(pt));
}

// TRY_CANCEL: ActivityTaskCancelRequested, then ActivityTaskCanceled at once unless the result is
// already buffered (then the result stands and is written after this task) or a worker runs the
// attempt (then the activity stays pending, cancel-requested: its heartbeats are answered "cancel
// requested" and its RespondActivityTaskCanceled, or whatever outcome it reports, closes it).
void cancel_activity(builder& b, int64_t scheduled_id, int64_t completed_id,
                     const std::string& identity) {
  auto queue = b.state().pending_activities().at(scheduled_id).task_queue();
  auto armed = b.state().pending_activities().at(scheduled_id).timer_fire_ms();
  auto attempt = b.state().pending_activities().at(scheduled_id).attempt();
  bool running = b.state().pending_activities().at(scheduled_id).state() == pb::ACTIVITY_STATE_STARTED;
  bool result_in = buffered_for_activity(b.state(), scheduled_id);
  auto* r = b.add(pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED).mutable_activity_task_cancel_requested();
  r->set_scheduled_event_id(scheduled_id);
  r->set_workflow_task_completed_event_id(completed_id);
  b.commit();
  if (result_in || running) return;
  int64_t requested_id = b.state().next_event_id() - 1;
  auto* c = b.add(pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED).mutable_activity_task_canceled();
  c->set_scheduled_event_id(scheduled_id);
  c->set_latest_cancel_requested_event_id(requested_id);
  c->set_identity(identity);
  b.commit();
  b.result().transfers_removed.push_back(
    b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, scheduled_id, queue));
  if (armed != 0) b.result().timers_removed.push_back(b.activity_timer(scheduled_id, armed, attempt));
}

void cancel_timer(builder& b, const std::string& timer_id, int64_t completed_id,
                  const std::string& identity) {
  const pb::PendingTimer pt = *timer_named(b.state(), timer_id);
  auto& added = b.result().timers_added;
  auto same = [&](const pb::TimerRecord& r) { return r.started_event_id() == pt.started_event_id(); };
  if (auto it = std::find_if(added.begin(), added.end(), same); it != added.end())
    added.erase(it);  // started by this very task: never armed
  else if (buffered_for_timer(b.state(), pt.started_event_id()))
    b.drop_buffered_timer_fired(pt.started_event_id());  // its record went when it fired
  else
    b.result().timers_removed.push_back(b.timer(pt));
  auto* a = b.add(pb::EVENT_TYPE_TIMER_CANCELED).mutable_timer_canceled();
  a->set_timer_id(timer_id);
  a->set_started_event_id(pt.started_event_id());
  a->set_workflow_task_completed_event_id(completed_id);
  a->set_identity(identity);
  b.commit();
}

// The new run of a continue-as-new: same workflow ID, parent and execution deadline; history
// starts over with WorkflowExecutionStarted and a first workflow task (b.result().next_run).
void continue_as_new(builder& b, const pb::MutableState& open, const std::string& new_run_id) {
  auto& a = b.result().events.back().workflow_execution_continued_as_new();
  pb::StartWorkflowRequest req;
  req.set_namespace_(open.namespace_());
  req.set_workflow_id(open.workflow_id());
  req.set_workflow_type(a.workflow_type().name());
  req.set_task_queue(a.task_queue());
  *req.mutable_input() = a.input();
  req.set_workflow_run_timeout_ms(a.workflow_run_timeout_ms());
  req.set_request_id(open.start_request_id());
  if (open.has_parent()) {
    *req.mutable_parent() = open.parent();
    req.set_parent_close_policy(open.parent_close_policy());
  }
  // The new run keeps the search attributes and memo (Temporal's default).
  *req.mutable_search_attributes() = open.search_attributes();
  *req.mutable_memo() = open.memo();
  req.set_fairness_key(open.fairness_key());  // flow control: the chain keeps its key
  req.set_priority(open.priority());
  auto expiration = open.execution_expiration_ms();
  auto from = open.run_id();
  builder next = start_run(req, new_run_id, b.now(),
                           [&](pb::WorkflowExecutionStartedEventAttributes* s) {
                             s->set_continued_execution_run_id(from);
                             s->set_workflow_execution_expiration_time_ms(expiration);
                           });
  next.schedule_workflow_task(1);
  // The closing run's undelivered messages are re-sent by the new run after a crash (recovery
  // wakes the current run); their records are written by the closing run's part of the batch.
  carry_outbound(b.state(), next.state());
  b.result().next_run = std::make_shared<transition>(std::move(next.result()));
}

void start_child(builder& b, const pb::StartChildWorkflowExecutionCommandAttributes& ca,
                 int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
              .mutable_start_child_workflow_execution_initiated();
  a->set_namespace_(ca.namespace_().empty() ? b.state().namespace_() : ca.namespace_());
  a->set_workflow_id(ca.workflow_id());
  a->mutable_workflow_type()->set_name(ca.workflow_type());
  a->set_task_queue(ca.task_queue().empty() ? b.state().task_queue() : ca.task_queue());
  *a->mutable_input() = ca.input();
  a->set_workflow_execution_timeout_ms(ca.workflow_execution_timeout_ms());
  a->set_workflow_run_timeout_ms(ca.workflow_run_timeout_ms());
  a->set_parent_close_policy(ca.parent_close_policy() == pb::PARENT_CLOSE_POLICY_UNSPECIFIED
                               ? pb::PARENT_CLOSE_POLICY_TERMINATE
                               : ca.parent_close_policy());
  a->set_workflow_id_reuse_policy(ca.workflow_id_reuse_policy());
  a->set_workflow_task_completed_event_id(completed_id);
  b.commit();
  int64_t id = b.state().next_event_id() - 1;
  b.add_outbound(b.transfer(pb::TRANSFER_KIND_START_CHILD, id, ""));
}

// MarkerRecorded: the server records the marker and changes no state (the SDK reads it on replay).
void record_marker(builder& b, const pb::RecordMarkerCommandAttributes& ca, int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_MARKER_RECORDED).mutable_marker_recorded();
  a->set_marker_name(ca.marker_name());
  *a->mutable_details() = ca.details();
  if (ca.has_failure()) *a->mutable_failure() = ca.failure();
  a->set_workflow_task_completed_event_id(completed_id);
  b.commit();
}

// Records the closing command and drops every record of work that can no longer matter.
void close_workflow(builder& b, const pb::Command& c, int64_t completed_id,
                    const std::string& new_run_id) {
  const pb::MutableState open = b.state();
  if (c.has_complete_workflow_execution()) {
    auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED).mutable_workflow_execution_completed();
    *a->mutable_result() = c.complete_workflow_execution().result();
    a->set_workflow_task_completed_event_id(completed_id);
  } else if (c.has_fail_workflow_execution()) {
    auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED).mutable_workflow_execution_failed();
    *a->mutable_failure() = c.fail_workflow_execution().failure();
    a->set_workflow_task_completed_event_id(completed_id);
  } else if (c.has_cancel_workflow_execution()) {
    auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED).mutable_workflow_execution_canceled();
    *a->mutable_details() = c.cancel_workflow_execution().details();
    a->set_workflow_task_completed_event_id(completed_id);
  } else {
    auto& can = c.continue_as_new_workflow_execution();
    auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
                .mutable_workflow_execution_continued_as_new();
    a->set_new_execution_run_id(new_run_id);
    a->mutable_workflow_type()->set_name(can.workflow_type().empty() ? open.workflow_type()
                                                                     : can.workflow_type());
    a->set_task_queue(can.task_queue().empty() ? open.task_queue() : can.task_queue());
    *a->mutable_input() = can.input();
    a->set_workflow_run_timeout_ms(can.workflow_run_timeout_ms());
    a->set_workflow_task_completed_event_id(completed_id);
  }
  b.commit();
  b.drop_pending_records(open);  // also drops the records this very task added
  if (c.has_continue_as_new_workflow_execution()) continue_as_new(b, open, new_run_id);
}

}  // namespace

decide_result on_workflow_task_completed(const pb::MutableState& s,
                                         const input::workflow_task_completed& in, int64_t now) {
  if (!is_running(s) || !workflow_task_matches(s, in.scheduled_event_id) || !workflow_task_started(s))
    return reject(errc::stale_task, "workflow task is not started");
  auto bad = validate_commands(in.commands);
  if (!bad) bad = check_against_state(s, in.commands);
  if (!bad) {
    size_t index = 0;
    pb::WorkflowTaskFailedCause cause{};
    if (auto why = check_search_commands(in.commands, in.search_schema, &index, &cause); !why.empty())
      bad = bad_commands{cause, label(index) + ": " + why};
  }
  if (bad) {
    bad->message = "bad commands: " + bad->message;
    return fail_task(s, in, now, *bad, "BadCommand", s.workflow_task().attempt() + 1);
  }
  if (!in.commands.empty() && in.commands.back().has_continue_as_new_workflow_execution()
      && in.new_run_id.empty())
    return reject(errc::invalid_argument, "continue-as-new needs a new run ID");
  if (speculative_task(s) && !transient_task(s) && in.commands.empty()) {
    // Only rejections (or nothing): the speculative task leaves no trace.
    transition t;
    t.state = s;
    t.state.clear_workflow_task();
    t.memory_only = true;
    return t;
  }
  if (!in.commands.empty() && closes_workflow(in.commands.back())) {
    int unseen = unseen_buffered(s, in.commands) + in.undelivered_updates;
    if (unseen > 0) {
      bad_commands unhandled{pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
                             "unhandled command: " + std::to_string(unseen)
                               + " new event(s) or update(s) arrived while the workflow task ran; "
                                 "the workflow code runs again to see them before it may close"};
      return fail_task(s, in, now, unhandled, "UnhandledCommand", 1);
    }
  }
  builder b(s, now);
  b.materialize_speculative(false);
  b.remove_workflow_task_transfer();
  auto* done = b.add(pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED).mutable_workflow_task_completed();
  done->set_scheduled_event_id(in.scheduled_event_id);
  done->set_started_event_id(s.workflow_task().started_event_id());
  done->set_identity(in.identity);
  done->set_build_id(in.build_id);
  b.commit();
  int64_t completed_id = b.state().last_workflow_task_completed_event_id();
  for (auto& c : in.commands) {
    switch (c.attributes_case()) {
      case pb::Command::kScheduleActivityTask:
        schedule_activity(b, c.schedule_activity_task(), completed_id);
        break;
      case pb::Command::kStartTimer:
        start_timer(b, c.start_timer(), completed_id);
        break;
      case pb::Command::kRequestCancelActivityTask:
        cancel_activity(b, c.request_cancel_activity_task().scheduled_event_id(), completed_id,
                        in.identity);
        break;
      case pb::Command::kCancelTimer:
        cancel_timer(b, c.cancel_timer().timer_id(), completed_id, in.identity);
        break;
      case pb::Command::kStartChildWorkflowExecution:
        start_child(b, c.start_child_workflow_execution(), completed_id);
        break;
      case pb::Command::kRecordMarker:
        record_marker(b, c.record_marker(), completed_id);
        break;
      case pb::Command::kAcceptWorkflowUpdate:
        accept_update(b, c.accept_workflow_update(), completed_id);
        break;
      case pb::Command::kCompleteWorkflowUpdate:
        complete_update(b, c.complete_workflow_update(), completed_id);
        break;
      case pb::Command::kSignalExternalWorkflowExecution:
        signal_external(b, c.signal_external_workflow_execution(), completed_id);
        break;
      case pb::Command::kRequestCancelExternalWorkflowExecution:
        cancel_external(b, c.request_cancel_external_workflow_execution(), completed_id);
        break;
      case pb::Command::kUpsertWorkflowSearchAttributes:
        upsert_search_attributes(b, c.upsert_workflow_search_attributes(), completed_id);
        break;
      case pb::Command::kModifyWorkflowProperties:
        modify_workflow_properties(b, c.modify_workflow_properties(), completed_id);
        break;
      default:  // a closing command, the last one (validated above)
        close_workflow(b, c, completed_id, in.new_run_id);
        return std::move(b.result());
    }
  }
  if (b.state().buffered_events_size() > 0) {
    bool needs_task = buffered_needs_task(b.state());
    b.flush_buffered();
    if (needs_task) b.schedule_workflow_task(1);
  }
  return std::move(b.result());
}

}  // namespace chronicle::detail
