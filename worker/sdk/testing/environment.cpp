// The time-skipping test environment: the loop, the virtual clock and the client calls. See
// environment.hpp for the contract; the rules themselves are decide's (shards/decide.hpp).
#include "worker/sdk/testing/environment.hpp"

#include <algorithm>
#include <exception>

#include "worker/sdk/query.hpp"
#include "worker/sdk/testing/environment_impl.hpp"

namespace chronicle::sdk::testing {

std::optional<rejection> environment::impl::step(const decide_input& in) {
  auto result = decide(state, in, now);
  if (auto* r = std::get_if<rejection>(&result)) return *r;
  take(std::get<transition>(result));
  return std::nullopt;
}

// What the execution actor does with a transition once written (execution_state::effects,
// apply_in_memory): the events and state kept, the tasks dispatched, the timers armed.
void environment::impl::take(transition& t) {
  const bool was_speculative =
      state.has_workflow_task() && state.workflow_task().speculative();
  history.insert(history.end(), t.events.begin(), t.events.end());
  state = std::move(t.state);
  for (const auto& r : t.transfers_removed)
    std::erase_if(transfers, [&](const pb::TransferRecord& q) {
      return q.kind() == r.kind() && q.scheduled_event_id() == r.scheduled_event_id();
    });
  for (const auto& r : t.transfers_added) transfers.push_back(r);
  for (const auto& r : t.timers_removed)
    std::erase_if(timers, [&](const pb::TimerRecord& q) { return same_timer(q, r); });
  for (const auto& r : t.timers_added) timers.push_back(r);
  // A speculative workflow task (an update's) has no record: it is dispatched when scheduled.
  const auto& wt = state.workflow_task();
  if (state.has_workflow_task() && wt.speculative() && wt.started_event_id() == 0 &&
      !was_speculative) {
    pb::TransferRecord r;
    r.set_kind(pb::TRANSFER_KIND_WORKFLOW_TASK);
    r.set_scheduled_event_id(wt.scheduled_event_id());
    transfers.push_back(r);
  }
  settle_updates();
  if (t.next_run) start_next_run(*t.next_run);
}

// Continue-as-new: the environment goes on with the new run, as a node's current-run record
// names it (history() is then the new run's).
void environment::impl::start_next_run(transition& next) {
  ++runs;
  history = std::move(next.events);
  state = std::move(next.state);
  run_id = state.run_id();
  workflow_type = state.workflow_type();
  // The closed run's tasks and timers are stale; its messages to other workflows (and parent
  // close policies) are still delivered, as a node delivers them.
  std::erase_if(transfers, [](const pb::TransferRecord& q) {
    return q.kind() != pb::TRANSFER_KIND_CHILD_POLICY &&
           q.kind() != pb::TRANSFER_KIND_SIGNAL_EXTERNAL &&
           q.kind() != pb::TRANSFER_KIND_CANCEL_EXTERNAL;
  });
  std::erase_if(timers, [&](const pb::TimerRecord& q) { return q.run_id() != run_id; });
  for (const auto& r : next.transfers_added) transfers.push_back(r);
  for (const auto& r : next.timers_added) timers.push_back(r);
}

void environment::impl::dispatch(const pb::TransferRecord& r) {
  switch (r.kind()) {
    case pb::TRANSFER_KIND_WORKFLOW_TASK: return run_workflow_task(r);
    case pb::TRANSFER_KIND_ACTIVITY_TASK: return run_activity_task(r);
    case pb::TRANSFER_KIND_START_CHILD: return run_child(r);
    case pb::TRANSFER_KIND_PARENT_NOTIFY: return notify_parent();
    case pb::TRANSFER_KIND_CHILD_POLICY: return apply_close_policy(r);
    case pb::TRANSFER_KIND_SIGNAL_EXTERNAL:
    case pb::TRANSFER_KIND_CANCEL_EXTERNAL: return deliver_external(r);
    default:
      return;
  }
}

environment::impl* environment::world::find(const std::string& workflow_id) const {
  for (auto it = executions.rbegin(); it != executions.rend(); ++it)
    if ((*it)->started && (*it)->workflow_id == workflow_id) return *it;
  return nullptr;
}

bool environment::impl::dispatch_one() {
  // By index: a dispatch may add an execution (a child) to the list.
  for (size_t i = 0; i < w.executions.size(); ++i) {
    auto* e = w.executions[i];
    if (e->transfers.empty()) continue;
    pb::TransferRecord r = std::move(e->transfers.front());
    e->transfers.pop_front();
    e->dispatch(r);
    return true;
  }
  return false;
}

std::string environment::impl::world_error() const {
  for (const auto* e : w.executions)
    if (!e->error.empty()) return e->label.empty() ? e->error : e->label + ": " + e->error;
  return {};
}

// The clock jumps to the earliest timer of any execution or callback, which runs.
bool environment::impl::advance() {
  impl* owner = nullptr;
  const pb::TimerRecord* timer = nullptr;
  for (auto* e : w.executions)
    for (const auto& t : e->timers)
      if (!timer || t.fire_time_ms() < timer->fire_time_ms()) {
        timer = &t;
        owner = e;
      }
  auto callback = callbacks.begin();
  const bool has_timer = timer != nullptr, has_callback = callback != callbacks.end();
  if (!has_timer && !has_callback) return false;
  if (has_callback && (!has_timer || callback->first <= timer->fire_time_ms())) {
    now = std::max(now, callback->first);
    auto fn = std::move(callback->second);
    callbacks.erase(callback);
    fn();
    return true;
  }
  pb::TimerRecord due = *timer;
  std::erase_if(owner->timers, [&](const pb::TimerRecord& q) { return same_timer(q, due); });
  now = std::max(now, due.fire_time_ms());
  owner->fire(due);
  return true;
}

workflow_outcome environment::impl::run_until_closed() {
  auto others_running = [this] {
    for (const auto* e : w.executions)
      if (e != this && is_running(e->state)) return true;
    return false;
  };
  for (;;) {
    while (world_error().empty() && dispatch_one()) {
    }
    if (auto stop = world_error(); !stop.empty()) {
      error = stop;
      return outcome();
    }
    // Closed: the other workflows (children left running, targets of its messages) go on while
    // anything can move them, so that what the close did to them is seen.
    if (!is_running(state) && !others_running()) return outcome();
    if (!advance()) {
      if (!is_running(state)) return outcome();
      error = "the workflow is blocked: no timer, activity or callback is left to wake it "
              "(virtual time " + std::to_string(now - start_ms) + " ms after the start)";
      return outcome();
    }
  }
}

// A due durable timer, as the shard's timer queue hands it to the execution. Stale ones (a
// record decide no longer wants) are refused by decide and dropped here.
void environment::impl::fire(const pb::TimerRecord& timer) {
  switch (timer.kind()) {
    case pb::TIMER_KIND_USER:
      step(input::timer_fired{timer.started_event_id()});
      break;
    case pb::TIMER_KIND_ACTIVITY:
      step(input::activity_timer{timer.started_event_id(), timer.fire_time_ms()});
      break;
    case pb::TIMER_KIND_WORKFLOW_TIMEOUT:
      step(input::workflow_timed_out{timer.fire_time_ms()});
      break;
    default:
      break;
  }
}

workflow_outcome environment::impl::outcome() const {
  workflow_outcome out;
  out.status = state.status();
  if (!error.empty()) {
    out.status = pb::WORKFLOW_EXECUTION_STATUS_RUNNING;
    out.error = error;
    return out;
  }
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    switch (it->event_type()) {
      case pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        out.result = from_payload(it->workflow_execution_completed().result());
        return out;
      case pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        out.failure = it->workflow_execution_failed().failure();
        return out;
      case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        out.failure.set_type("TimedOut");
        out.failure.set_message("workflow " + it->workflow_execution_timed_out().timeout() +
                                " timeout");
        return out;
      case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        out.failure.set_type("Canceled");
        out.failure.set_message("workflow canceled");
        return out;
      case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        out.failure.set_type("Terminated");
        out.failure.set_message(it->workflow_execution_terminated().reason());
        return out;
      default:
        break;
    }
  }
  return out;
}

pb::TaskToken environment::impl::token(int64_t scheduled_event_id, int32_t attempt) const {
  pb::TaskToken t;
  t.set_namespace_(test_namespace);
  t.set_workflow_id(workflow_id);
  t.set_run_id(run_id);
  t.set_scheduled_event_id(scheduled_event_id);
  t.set_attempt(attempt);
  return t;
}

namespace {

workflow_outcome stopped(std::string error) {
  workflow_outcome out;
  out.error = std::move(error);
  return out;
}

}  // namespace

environment::environment(const registry& reg, int64_t start_time_ms)
    : impl_(std::make_unique<impl>(reg, start_time_ms)) {}

environment::~environment() = default;

void environment::mock_activity(const std::string& type, activity_fn fn) {
  impl_->mocks.register_activity(type, std::move(fn));
}

void environment::at(std::chrono::milliseconds delay, std::function<void()> fn) {
  impl_->callbacks.emplace(impl_->start_ms + delay.count(), std::move(fn));
}

std::string environment::impl::start(const std::string& type, const json& input,
                                     const start_options& options, const pb::ParentInfo* parent,
                                     pb::ParentClosePolicy policy) {
  started = true;
  first_run_id = run_id;
  workflow_type = type;
  workflow_id = options.workflow_id;
  pb::StartWorkflowRequest req;
  req.set_namespace_(test_namespace);
  req.set_workflow_id(options.workflow_id);
  req.set_workflow_type(type);
  req.set_task_queue(options.task_queue);
  req.set_identity(test_identity);
  req.set_request_id("test-start");
  req.set_workflow_execution_timeout_ms(options.execution_timeout.count());
  if (parent) {
    *req.mutable_parent() = *parent;
    req.set_parent_close_policy(policy);
  }
  try {
    *req.mutable_input() = to_payload(input);
  } catch (const std::exception& e) {
    return std::string("workflow input: ") + e.what();
  }
  if (auto r = step(input::start_workflow{req, run_id}))
    return "the start was refused: " + r->message;
  return {};
}

workflow_outcome environment::execute(const std::string& workflow_type, const json& input,
                                      const start_options& options) {
  auto& s = *impl_;
  if (s.started) return stopped("execute was called already (one per environment)");
  if (auto refused = s.start(workflow_type, input, options, nullptr, {}); !refused.empty())
    return stopped(refused);
  return s.run_until_closed();
}

bool environment::signal(const std::string& name, const json& input) {
  auto& s = *impl_;
  if (!s.started || !is_running(s.state)) return false;
  return !s.step(input::signal_workflow{name, to_payload(input), test_identity, {}});
}

bool environment::cancel(const std::string& reason) {
  auto& s = *impl_;
  if (!s.started || !is_running(s.state)) return false;
  return !s.step(input::request_cancel_workflow{reason, test_identity, {}});
}

std::variant<json, std::string> environment::query(const std::string& name, const json& args) {
  auto& s = *impl_;
  if (!s.started) return std::string("no workflow was started");
  pb::QueryTask task;
  task.set_namespace_(test_namespace);
  task.set_workflow_id(s.workflow_id);
  task.set_run_id(s.run_id);
  task.set_workflow_type(s.workflow_type);
  for (const auto& event : s.history) *task.add_history() = event;
  task.set_query_type(name);
  *task.mutable_args() = to_payload(args);
  return run_query(s.reg, task);
}

int64_t environment::now_ms() const { return impl_->now; }

workflow_outcome environment::outcome_of(const std::string& workflow_id) const {
  const auto* e = impl_->w.find(workflow_id);
  if (!e) return stopped("no workflow '" + workflow_id + "' in this environment");
  return e->outcome();
}

std::vector<pb::HistoryEvent> environment::history_of(const std::string& workflow_id) const {
  const auto* e = impl_->w.find(workflow_id);
  return e ? e->history : std::vector<pb::HistoryEvent>{};
}

const std::vector<pb::HistoryEvent>& environment::history() const { return impl_->history; }

}  // namespace chronicle::sdk::testing
