#include "worker/worker.hpp"

#include "protocol/runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <optional>

#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "worker/sdk/activity_runner.hpp"
#include "worker/sdk/heartbeat_throttle.hpp"
#include "worker/sdk/local_activity.hpp"
#include "worker/sdk/query.hpp"
#include "worker/sdk/workflow_cache.hpp"

namespace chronicle {

namespace {

using namespace std::string_literals;

// A task the worker was handed: where its answers go (the task queue that sent it, or the one
// that kept it after a reconnect, see HeldTasks) and, once answered, when.
struct held_task {
  caf::actor queue;
  pb::TaskToken token;
  std::optional<std::chrono::steady_clock::time_point> answered_at;
  bool activity = false;
  std::string fairness_key;  // an activity's (flow control; reported while it runs)
};

// The controls of the activities running in this worker's runners, by task ID: a runner adds
// its activity's when it starts it and removes it when it ends; the worker sets cancel_requested
// when a heartbeat's answer says so. Shared by the worker and its runners (threads).
struct activity_controls {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<sdk::activity_control>> by_id;

  std::shared_ptr<sdk::activity_control> find(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second;
  }
};

// A running activity that heartbeats: its throttle (see heartbeat_throttle.hpp).
struct beating_activity {
  sdk::heartbeat_throttle throttle;
  bool flush_armed = false;  // a timer will send the kept heartbeat when its window ends
};

// A workflow task held open while its local activities run (sdk/local_activity.hpp): answered
// once none runs or waits for a retry here, or at its budget's end.
struct open_task {
  caf::actor queue;
  std::string id;                          // task_id of its token
  pb::TaskToken token;
  pb::RespondWorkflowTaskCompleted first;  // the answer before them (its update rejections)
  sdk::detail::local_activity_session session{0};
  std::map<std::string, std::string> running;  // activity ID -> its control's ID in `controls`
  uint64_t generation = 0;
};

using local_atom = caf::atom_constant<caf::atom("localact")>;

struct node_address {
  std::string host;
  uint16_t port = 0;
  bool operator==(const node_address& o) const { return host == o.host && port == o.port; }
};

struct worker_state {
  worker_options opts;
  // Where the worker connects: opts' host/port, opts.addresses, then members it learned; it
  // moves to the next one whenever the current one cannot be reached or is lost.
  std::vector<node_address> targets;
  size_t target = 0;
  const node_address& at() const { return targets[target]; }
  std::shared_ptr<const sdk::registry> reg;
  caf::actor node;
  int64_t backoff_ms = 100;
  bool registered = false;  // the current connection's first registration succeeded
  uint64_t connection = 0;  // counts connections; a re-registration tick names its connection
  std::vector<caf::actor> idle_runners;  // activity runners waiting for a task (see run_activity)
  std::unique_ptr<sdk::workflow_cache> cache;
  std::map<std::string, held_task> held;  // by task_id
  std::shared_ptr<activity_controls> controls = std::make_shared<activity_controls>();
  std::map<std::string, beating_activity> beating;  // by task_id, from the first heartbeat on
  std::map<std::string, open_task> open;  // by run (workflow ID, run ID)
  uint64_t generation = 0;                // names open tasks, so late messages find theirs
  std::vector<caf::actor> idle_local_runners;
};

using self_ptr = caf::stateful_actor<worker_state>*;

constexpr int64_t max_backoff_ms = 1000;
// A task answered this recently is still reported held: its answer may be on its way to the task
// queue behind the registration (the task queue then keeps it until the answer arrives).
constexpr auto answered_grace = std::chrono::seconds(1);

std::string task_id(const pb::TaskToken& t) {
  return t.run_id() + '\0' + t.workflow_id() + '\0' + std::to_string(t.scheduled_event_id()) + '\0'
         + std::to_string(t.attempt());
}

// The task queue that answers about task `id` go to: the one that kept it (or sent it).
caf::actor queue_of(self_ptr self, const std::string& id, const caf::actor& fallback) {
  auto it = self->state.held.find(id);
  return it != self->state.held.end() && it->second.queue ? it->second.queue : fallback;
}

void mark_answered(self_ptr self, const std::string& id) {
  auto it = self->state.held.find(id);
  if (it != self->state.held.end()) it->second.answered_at = std::chrono::steady_clock::now();
}
// Registrations are repeated: a task queue that moved or whose node restarted learns of the worker
// again within this interval.
constexpr auto reregister_interval = std::chrono::seconds(2);

void schedule_reconnect(self_ptr self) {
  auto& st = self->state;
  st.target = (st.target + 1) % st.targets.size();
  self->delayed_send(self, std::chrono::milliseconds(st.backoff_ms), retry_atom::value);
  st.backoff_ms = std::min(st.backoff_ms * 2, max_backoff_ms);
}

void learn_members(self_ptr self);

void register_with(self_ptr self) {
  auto& st = self->state;
  pb::RegisterWorkerRequest req;
  req.set_namespace_(st.opts.ns);
  req.set_task_queue(st.opts.task_queue);
  req.set_workflows(!st.reg->workflow_names().empty());
  req.set_activities(!st.reg->activity_names().empty());
  req.set_workflow_slots(st.opts.workflow_slots);
  req.set_activity_slots(st.opts.activity_slots);
  req.set_task_queue_activities_per_second(st.opts.task_queue_activities_per_second);
  req.set_max_running_activities_per_key(st.opts.max_running_activities_per_key);
  req.set_identity(st.opts.identity);
  req.set_build_id(st.opts.build_id);
  req.set_sticky_cache_size(static_cast<int32_t>(
    std::min<size_t>(st.opts.sticky_cache_size, std::numeric_limits<int32_t>::max())));
  for (auto& n : st.reg->workflow_names()) req.add_workflow_types(n);
  for (auto& n : st.reg->activity_names()) req.add_activity_types(n);
  // What it holds: the task queue reports any task it handed to this worker and the worker does
  // not hold (lost with a connection) to its shard, which retries it at once.
  req.set_reports_held(true);
  auto now = std::chrono::steady_clock::now();
  for (auto it = st.held.begin(); it != st.held.end();) {
    if (it->second.answered_at && now - *it->second.answered_at >= answered_grace) {
      it = st.held.erase(it);
      continue;
    }
    *req.add_held() = it->second.token;
    if (it->second.activity && !it->second.answered_at) {
      // A queue that restarted counts it as running for its key (docs/semantics.md "Flow control").
      auto* a = req.add_held_activities();
      *a->mutable_token() = it->second.token;
      a->set_fairness_key(it->second.fairness_key);
    }
    ++it;
  }
  self->request(st.node, request_timeout, register_atom::value, encode(req))
    .then(
      [=](const std::string&) {
        self->state.backoff_ms = 100;
        if (self->state.registered) return;
        self->state.registered = true;
        if (self->state.opts.stats) self->state.opts.stats->registered = true;
        self->delayed_send(self, reregister_interval, tick_atom::value, self->state.connection);
        spdlog::info("worker '{}' registered on task queue '{}' at {}:{}", self->state.opts.identity,
                     self->state.opts.task_queue, self->state.at().host, self->state.at().port);
        if (self->state.opts.learn_members) learn_members(self);
      },
      [=](caf::error& err) {
        spdlog::error("worker: registration refused: {}", error_text(err));
        if (self->state.node) self->demonitor(self->state.node);
        self->state.node = nullptr;
        schedule_reconnect(self);
      });
}

// Asks the node it registered with for the cluster's members and adds their addresses to the
// places it connects to when that node goes away. A refusal (e.g. a key without read) only
// means the worker keeps the addresses it was given.
void learn_members(self_ptr self) {
  pb::ClusterStatusRequest req;
  self->request(self->state.node, request_timeout, cluster_atom::value, encode(req))
    .then(
      [=](const std::string& bytes) {
        auto status = decode<pb::ClusterStatusResponse>(bytes, "ClusterStatusResponse");
        if (!status) return;
        auto& targets = self->state.targets;
        for (auto& n : status->nodes()) {
          node_address a;
          if (!parse_address(n.address(), &a.host, &a.port)) continue;
          if (std::find(targets.begin(), targets.end(), a) != targets.end()) continue;
          spdlog::debug("worker: learned node {} at {}", n.node(), n.address());
          targets.push_back(std::move(a));
        }
      },
      [=](caf::error& err) {
        spdlog::debug("worker: no member list from the node: {}", error_text(err));
      });
}

// Presents the API key (when one is set), then registers.
void present_key(self_ptr self, caf::actor node) {
  if (self->state.opts.api_key.empty()) {
    register_with(self);
    return;
  }
  self->request(node, std::chrono::seconds(5), apikey_atom::value, self->state.opts.api_key)
    .then([=](const std::string&) { register_with(self); },
          [=](caf::error& err) {
            spdlog::error("worker: the node refused our API key: {}", error_text(err));
            self->demonitor(node);
            self->state.node = nullptr;
            schedule_reconnect(self);
          });
}

void connect(self_ptr self) {
  auto& st = self->state;
  auto mm = network_handle(self->system());
  self->request(mm, std::chrono::seconds(5), caf::connect_atom::value, st.at().host, st.at().port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto node = caf::actor_cast<caf::actor>(ptr);
        if (!node) {
          schedule_reconnect(self);
          return;
        }
        self->state.node = node;
        self->state.registered = false;
        ++self->state.connection;
        self->monitor(node);
        if (self->state.opts.secret.empty()) {
          present_key(self, node);
          return;
        }
        self->request(node, std::chrono::seconds(5), auth_atom::value, self->state.opts.secret)
          .then([=](const std::string&) { present_key(self, node); },
                [=](caf::error& err) {
                  spdlog::error("worker: the node refused our cluster secret: {}", error_text(err));
                  self->demonitor(node);
                  self->state.node = nullptr;
                  schedule_reconnect(self);
                });
      },
      [=](caf::error& err) {
        spdlog::debug("worker: cannot reach {}:{}: {}", self->state.at().host,
                      self->state.at().port, error_text(err));
        schedule_reconnect(self);
      });
}

// A worker's answers are one-way: the task queue frees the slot when it arrives and the
// execution records it (or refuses a stale one); no reply comes back. An answer lost with its
// node is the same as a worker lost before answering: the task runs again.
template <class Atom, class Msg>
void answer(const caf::actor& queue, Atom atom, const Msg& msg) {
  caf::anon_send(queue, atom, encode(msg));
}

bool start_local(self_ptr self, const caf::actor& queue, const std::string& id,
                 const pb::RespondWorkflowTaskCompleted& done);
void abandon_open(self_ptr self, const std::string& key);
std::string run_key(const pb::TaskToken& t) { return t.workflow_id() + '\0' + t.run_id(); }

void answer_workflow_task(self_ptr self, const caf::actor& sender, pb::WorkflowTask task) {
  auto& st = self->state;
  auto workflow_id = task.token().workflow_id();
  auto id = task_id(task.token());
  auto queue = queue_of(self, id, sender);
  abandon_open(self, run_key(task.token()));  // a newer task of the run: the old one is over
  auto res = st.cache->run(*st.reg, std::move(task), st.opts.identity);
  if (st.opts.stats) {
    const auto& c = st.cache->stats();
    st.opts.stats->full = c.full;
    st.opts.stats->resumed = c.resumed;
    st.opts.stats->replayed = c.replayed;
    st.opts.stats->evicted = c.evicted;
  }
  if (auto* done = std::get_if<pb::RespondWorkflowTaskCompleted>(&res))
    if (start_local(self, queue, id, *done)) return;  // answered when they are done
  mark_answered(self, id);
  if (auto* done = std::get_if<pb::RespondWorkflowTaskCompleted>(&res)) {
    done->set_build_id(st.opts.build_id);  // recorded on WorkflowTaskCompleted
    answer(queue, wf_done_atom::value, *done);
  } else {
    auto& failed = std::get<pb::RespondWorkflowTaskFailed>(res);
    spdlog::warn("worker: workflow task of {} failed: {}", workflow_id, failed.failure().message());
    answer(queue, wf_fail_atom::value, failed);
  }
}

// --- Local activities: a workflow task held open while they run on runner threads. ---

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string control_id(const std::string& key, const std::string& activity_id, int32_t attempt) {
  return "local\0"s + key + '\0' + activity_id + '\0' + std::to_string(attempt);
}

void forget_control(self_ptr self, const std::string& id) {
  std::lock_guard<std::mutex> lock(self->state.controls->mutex);
  self->state.controls->by_id.erase(id);
}

void tell_running(self_ptr self, open_task& t, const std::string& activity_id,
                  const std::string& why) {
  auto it = t.running.find(activity_id);
  if (it == t.running.end()) return;
  if (auto control = self->state.controls->find(it->second)) control->request_cancel(why);
  forget_control(self, it->second);
  t.running.erase(it);
}

// The task's answer goes out (its commands so far, or the failure) and it is forgotten; running
// functions are told (their results will be dropped).
template <class Msg>
void close_open(self_ptr self, const std::string& key, caf::atom_value atom, const Msg& msg) {
  auto it = self->state.open.find(key);
  if (it == self->state.open.end()) return;
  auto& t = it->second;
  for (auto& id : t.session.ids()) tell_running(self, t, id, "the workflow task is over");
  caf::anon_send(queue_of(self, t.id, t.queue), atom, encode(msg));
  mark_answered(self, t.id);
  self->state.open.erase(it);
}

void abandon_open(self_ptr self, const std::string& key) {
  auto it = self->state.open.find(key);
  if (it == self->state.open.end()) return;
  for (auto& id : it->second.session.ids()) tell_running(self, it->second, id, "task abandoned");
  self->state.cache->abandon_local(it->second.token);
  self->state.open.erase(it);
}

// Records an outcome in the run's code; false when the code failed (the task answered so).
bool deliver_local(self_ptr self, const std::string& key,
                   const sdk::detail::local_activity_outcome& outcome) {
  auto& t = self->state.open.at(key);
  auto failed = self->state.cache->deliver_local_activity(t.token, outcome,
                                                          self->state.opts.identity);
  if (!failed) return true;
  spdlog::warn("worker: workflow task of {} failed: {}", t.token.workflow_id(),
               failed->failure().message());
  close_open(self, key, wf_fail_atom::value, *failed);
  return false;
}

// A local activity runner: a detached actor (activities may block) reused for one attempt after
// another; it answers the worker that sent the attempt.
caf::behavior local_runner(caf::event_based_actor* self, std::shared_ptr<const sdk::registry> reg,
                           std::string identity, std::shared_ptr<activity_controls> controls) {
  return {
    [=](local_atom, const std::string& key, uint64_t generation, const std::string& control_id,
        const std::string& bytes) {
      auto worker = caf::actor_cast<caf::actor>(self->current_sender());
      pb::ActivityTask task;
      if (!worker || !task.ParseFromString(bytes)) return;
      sdk::detail::local_activity_request r;
      r.workflow_id = task.token().workflow_id();
      r.run_id = task.token().run_id();
      r.attempt = task.token().attempt();
      r.activity_id = task.activity_id();
      r.activity_type = task.activity_type();
      *r.input.mutable_data() = task.input().data();
      *r.input.mutable_metadata() = task.input().metadata();
      auto result = sdk::detail::run_local_attempt(*reg, r, identity, controls->find(control_id));
      std::string out = result.ok ? result.result.SerializeAsString()
                                  : result.failure.SerializeAsString();
      self->send(worker, local_atom::value, key, generation, r.activity_id, r.attempt, result.ok,
                 out, caf::actor{self});
    },
  };
}

void start_attempt(self_ptr self, open_task& t, const std::string& key,
                   const sdk::detail::local_activity_request& r) {
  auto& st = self->state;
  pb::ActivityTask task;
  task.mutable_token()->set_workflow_id(r.workflow_id);
  task.mutable_token()->set_run_id(r.run_id);
  task.mutable_token()->set_attempt(r.attempt);
  task.set_activity_id(r.activity_id);
  task.set_activity_type(r.activity_type);
  *task.mutable_input() = r.input;
  auto id = control_id(key, r.activity_id, r.attempt);
  {
    std::lock_guard<std::mutex> lock(st.controls->mutex);
    st.controls->by_id[id] = std::make_shared<sdk::activity_control>();
  }
  t.running[r.activity_id] = id;
  caf::actor runner;
  if (st.idle_local_runners.empty()) {
    runner = self->spawn<caf::detached + caf::linked>(local_runner, st.reg, st.opts.identity,
                                                      st.controls);
  } else {
    runner = std::move(st.idle_local_runners.back());
    st.idle_local_runners.pop_back();
  }
  self->send(runner, local_atom::value, key, t.generation, id, task.SerializeAsString());
}

// Moves an open task on at the present time: attempts past their deadline, outcomes recorded,
// new requests of the code taken, canceled ones forgotten, due attempts started; answers the
// task when nothing is left, else looks again at the next deadline.
void pump_local(self_ptr self, const std::string& key, uint64_t generation) {
  auto& st = self->state;
  auto it = st.open.find(key);
  if (it == st.open.end() || it->second.generation != generation) return;
  auto& t = it->second;
  for (bool again = true; again;) {
    const int64_t now = wall_ms();
    std::vector<std::string> timed_out;
    auto outcomes = t.session.expire(now, &timed_out);
    for (auto& id : timed_out) tell_running(self, t, id, "local activity attempt timed out");
    for (auto& o : outcomes)
      if (!deliver_local(self, key, o)) return;
    auto requests = st.cache->take_local_activities(t.token);
    again = !outcomes.empty() || !requests.empty();
    t.session.add(std::move(requests), now);
    for (auto& id : t.session.ids()) {
      if (st.cache->wants_local_activity(t.token, id)) continue;
      t.session.forget(id);  // canceled by the code, or the code finished
      tell_running(self, t, id, "the workflow canceled the local activity");
    }
    for (auto& r : t.session.start_due(now)) start_attempt(self, t, key, r);
  }
  if (!t.session.busy()) {
    auto res = st.cache->finish_local(t.token, st.opts.identity, t.first);
    if (auto* done = std::get_if<pb::RespondWorkflowTaskCompleted>(&res))
      close_open(self, key, wf_done_atom::value, *done);
    else
      close_open(self, key, wf_fail_atom::value, std::get<pb::RespondWorkflowTaskFailed>(res));
    return;
  }
  auto wait = std::max<int64_t>(t.session.next_wakeup() - wall_ms(), 0);
  self->delayed_send(self, std::chrono::milliseconds(wait), local_atom::value, key, generation);
}

// A runner's attempt ended.
void on_local_result(self_ptr self, const std::string& key, uint64_t generation,
                     const std::string& activity_id, int32_t attempt, bool ok,
                     const std::string& bytes) {
  auto it = self->state.open.find(key);
  if (it == self->state.open.end() || it->second.generation != generation) return;
  auto& t = it->second;
  auto run = t.running.find(activity_id);
  if (run != t.running.end() && run->second == control_id(key, activity_id, attempt)) {
    forget_control(self, run->second);
    t.running.erase(run);
  }
  sdk::detail::attempt_result result;
  result.ok = ok;
  if (!(ok ? result.result.ParseFromString(bytes) : result.failure.ParseFromString(bytes)))
    result = {false, {}, sdk::worker_failure("Error", "a malformed local activity result")};
  if (auto outcome = t.session.finish(activity_id, attempt, result, wall_ms()))
    if (!deliver_local(self, key, *outcome)) return;
  pump_local(self, key, generation);
}

bool start_local(self_ptr self, const caf::actor& queue, const std::string& id,
                 const pb::RespondWorkflowTaskCompleted& done) {
  auto& st = self->state;
  auto requests = st.cache->take_local_activities(done.token());
  if (requests.empty()) return false;
  auto key = run_key(done.token());
  const int64_t now = wall_ms();
  open_task t;
  t.queue = queue;
  t.id = id;
  t.token = done.token();
  t.first = done;
  t.session = sdk::detail::local_activity_session(now + st.opts.workflow_task_timeout.count() * 8 / 10);
  t.session.add(std::move(requests), now);
  t.generation = ++st.generation;
  auto generation = t.generation;
  st.open[key] = std::move(t);
  pump_local(self, key, generation);
  return true;
}

void on_workflow_task(self_ptr self, const std::string& bytes) {
  auto queue = caf::actor_cast<caf::actor>(self->current_sender());
  auto task = decode<pb::WorkflowTask>(bytes, "WorkflowTask");
  if (!task || !queue) {
    spdlog::error("worker: dropped a malformed workflow task");
    return;
  }
  auto& st = self->state;
  st.held[task_id(task->token())] = held_task{queue, task->token(), std::nullopt, false, {}};
  if (st.cache->can_answer(*task)) {
    answer_workflow_task(self, queue, std::move(*task));
    return;
  }
  // Only the new events, and this worker does not hold the earlier ones (evicted, or a task it
  // missed): the whole task from the run's execution, through the task queue.
  if (st.opts.stats) ++st.opts.stats->fetched;
  pb::GetWorkflowTaskHistory req;
  *req.mutable_token() = task->token();
  req.set_identity(st.opts.identity);
  self->request(queue, request_timeout, wt_history_atom::value, encode(req))
    .then(
      [=](const std::string& whole) {
        auto full = decode<pb::WorkflowTask>(whole, "WorkflowTask");
        if (!full || full->first_event_id() > 1) {
          spdlog::error("worker: the node sent a malformed workflow task history");
          return;  // the task times out and is handed out again
        }
        answer_workflow_task(self, queue, std::move(*full));
      },
      [=](caf::error& err) {
        auto code = chronicle_code(err);
        if (code == static_cast<uint8_t>(errc::stale_task)
            || code == static_cast<uint8_t>(errc::not_found)) {
          self->state.held.erase(task_id(req.token()));
          return;  // the task is over (timed out, run closed): nothing to answer
        }
        // Fail the attempt: the next one is sent with the whole history.
        spdlog::warn("worker: cannot get the history of {}: {}", req.token().workflow_id(),
                     error_text(err));
        pb::RespondWorkflowTaskFailed failed;
        *failed.mutable_token() = req.token();
        failed.set_identity(self->state.opts.identity);
        failed.mutable_failure()->set_type("WorkflowTaskHistoryUnavailable");
        failed.mutable_failure()->set_message("the worker could not get the history: "
                                              + error_text(err));
        failed.mutable_failure()->set_source("worker");
        auto id = task_id(req.token());
        answer(queue_of(self, id, queue), wf_fail_atom::value, failed);
        mark_answered(self, id);
      });
}

// Runs one activity on the calling (runner) thread. Its heartbeats and its answer go one-way to
// the worker, which throttles the heartbeats and passes them and the answer to the task queue
// that holds the task now (see HeldTasks). Returns false for a malformed task (nothing to answer).
bool run_activity(const caf::actor& worker, const caf::actor& runner, const std::string& id,
                  const std::string& bytes, const sdk::registry& reg,
                  const std::string& identity, activity_controls& controls) {
  auto task = decode<pb::ActivityTask>(bytes, "ActivityTask");
  if (!task) {
    spdlog::error("worker: dropped a malformed activity task");
    return false;
  }
  auto interval = sdk::heartbeat_throttle_interval(task->heartbeat_timeout_ms(),
                                                   task->start_to_close_timeout_ms());
  auto heartbeat = [worker, id, token = task->token(), identity,
                    interval_ms = static_cast<int64_t>(interval.count())](const pb::Payload& details) {
    pb::RecordActivityTaskHeartbeat beat;
    *beat.mutable_token() = token;
    *beat.mutable_details() = details;
    beat.set_identity(identity);
    caf::anon_send(worker, act_beat_atom::value, id, encode(beat), interval_ms);
  };
  auto control = std::make_shared<sdk::activity_control>();
  {
    std::lock_guard<std::mutex> lock(controls.mutex);
    controls.by_id[id] = control;
  }
  auto res = sdk::run_activity_task(reg, *task, identity, heartbeat, control);
  {
    std::lock_guard<std::mutex> lock(controls.mutex);
    controls.by_id.erase(id);
  }
  auto send = [&](auto atom, const auto& msg) {
    caf::anon_send(worker, act_task_atom::value, runner, id, caf::atom_value{atom}, encode(msg));
  };
  if (auto* done = std::get_if<pb::RespondActivityTaskCompleted>(&res))
    send(act_done_atom::value, *done);
  else if (auto* failed = std::get_if<pb::RespondActivityTaskFailed>(&res))
    send(act_fail_atom::value, *failed);
  else if (auto* canceled = std::get_if<pb::RespondActivityTaskCanceled>(&res))
    send(act_cancel_atom::value, *canceled);
  else
    send(act_async_atom::value, std::get<pb::ActivityTaskAsync>(res));
  return true;
}

// Sends a heartbeat to the task queue that holds the task and tells the running activity when
// the answer says the workflow asked to cancel it, or that its attempt is no longer current (as
// Temporal's SDKs do: the activity's context is canceled).
void send_heartbeat(self_ptr self, const std::string& id, std::string bytes) {
  auto it = self->state.held.find(id);
  if (it == self->state.held.end() || !it->second.queue) return;
  auto controls = self->state.controls;
  self->request(it->second.queue, request_timeout, act_beat_atom::value, std::move(bytes))
    .then(
      [=](const std::string& reply) {
        pb::RecordActivityTaskHeartbeatResponse resp;
        if (!resp.ParseFromString(reply) || !resp.cancel_requested()) return;
        if (auto control = controls->find(id))
          control->request_cancel("the workflow asked to cancel the activity");
      },
      [=](caf::error& err) {
        auto code = chronicle_code(err);
        if (code != static_cast<uint8_t>(errc::stale_task)
            && code != static_cast<uint8_t>(errc::not_found)) {
          spdlog::debug("worker: a heartbeat was not recorded: {}", error_text(err));
          return;
        }
        if (auto control = controls->find(id))
          control->request_cancel("the activity attempt is no longer current: " + error_text(err));
      });
}

// Arms the timer that sends a kept heartbeat when its throttle window ends.
void arm_heartbeat_flush(self_ptr self, const std::string& id, beating_activity& b) {
  auto at = b.throttle.due_at();
  if (!at || b.flush_armed) return;
  b.flush_armed = true;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
    *at - std::chrono::steady_clock::now());
  self->delayed_send(self, std::max(wait, std::chrono::milliseconds(0)), act_beat_atom::value, id);
}

// A runner's heartbeat: sent now, or kept until its throttle window ends.
void on_heartbeat(self_ptr self, const std::string& id, std::string bytes, int64_t interval_ms) {
  if (!self->state.held.count(id)) return;  // answered already
  auto it = self->state.beating.find(id);
  if (it == self->state.beating.end())
    it = self->state.beating
           .emplace(id, beating_activity{sdk::heartbeat_throttle(std::chrono::milliseconds(interval_ms))})
           .first;
  if (auto now = it->second.throttle.offer(std::move(bytes), std::chrono::steady_clock::now()))
    send_heartbeat(self, id, std::move(*now));
  else
    arm_heartbeat_flush(self, id, it->second);
}

// The activity ended: a heartbeat still kept by the throttle goes first (its details reach the
// next attempt when this one failed), unless the activity completed.
void flush_heartbeat(self_ptr self, const std::string& id, caf::atom_value answer) {
  auto it = self->state.beating.find(id);
  if (it == self->state.beating.end()) return;
  auto kept = it->second.throttle.take();
  self->state.beating.erase(it);
  if (!kept || answer == act_done_atom::value) return;
  auto held = self->state.held.find(id);
  if (held != self->state.held.end() && held->second.queue)
    caf::anon_send(held->second.queue, act_beat_atom::value, std::move(*kept));
}

// An activity runner: a detached actor (its own thread, so activities may block) linked to its
// worker, reused for one activity after another. After each activity it tells the worker it is
// idle again. Runners are spawned on demand and kept, so there are at most as many as the
// activities ever in flight at once (the worker's activity slots).
// It holds no handle of its worker (that would be a reference cycle keeping both alive): it
// answers the sender of the task.
caf::behavior activity_runner(caf::event_based_actor* self,
                              std::shared_ptr<const sdk::registry> reg, std::string identity,
                              std::shared_ptr<activity_controls> controls) {
  return {
    [=](act_task_atom, const std::string& id, const std::string& bytes) {
      auto worker = caf::actor_cast<caf::actor>(self->current_sender());
      if (!worker) return;
      if (!run_activity(worker, caf::actor{self}, id, bytes, *reg, identity, *controls))
        self->send(worker, act_task_atom::value, caf::actor{self});
    },
  };
}

caf::behavior worker_actor(self_ptr self, worker_options opts,
                           std::shared_ptr<const sdk::registry> reg) {
  self->state.opts = std::move(opts);
  self->state.reg = std::move(reg);
  self->state.cache = std::make_unique<sdk::workflow_cache>(self->state.opts.sticky_cache_size);
  self->state.targets.push_back({self->state.opts.host, self->state.opts.port});
  for (auto& text : self->state.opts.addresses) {
    node_address a;
    if (parse_address(text, &a.host, &a.port)) self->state.targets.push_back(std::move(a));
    else spdlog::warn("worker: ignoring node address '{}' (not host:port)", text);
  }
  self->set_down_handler([=](caf::down_msg& msg) {
    if (msg.source != self->state.node) return;
    spdlog::warn("worker: lost node {}:{} ({}), reconnecting", self->state.at().host,
                 self->state.at().port, error_text(msg.reason));
    self->state.node = nullptr;
    self->state.backoff_ms = 100;
    schedule_reconnect(self);
  });
  connect(self);
  return {
    [=](retry_atom) {
      if (!self->state.node) connect(self);
    },
    [=](tick_atom, uint64_t connection) {
      if (!self->state.node || connection != self->state.connection) return;
      register_with(self);
      self->delayed_send(self, reregister_interval, tick_atom::value, connection);
    },
    [=](wf_task_atom, const std::string& bytes) { on_workflow_task(self, bytes); },
    [=](query_atom, const std::string& bytes) -> caf::result<std::string> {
      auto task = decode<pb::QueryTask>(bytes, "QueryTask");
      if (!task) return task.error();
      auto answer = sdk::run_query(*self->state.reg, *task);
      if (auto* err = std::get_if<std::string>(&answer))
        return make_error(errc::invalid_argument, *err);
      pb::QueryWorkflowResponse resp;
      resp.set_run_id(task->run_id());
      *resp.mutable_result() = sdk::to_payload(std::get<sdk::json>(answer));
      return encode(resp);
    },
    [=](act_task_atom, const std::string& bytes) {
      auto queue = caf::actor_cast<caf::actor>(self->current_sender());
      if (!queue) return;
      pb::TaskToken token;
      if (!peek_token(bytes, &token)) {
        spdlog::error("worker: dropped a malformed activity task");
        return;
      }
      auto id = task_id(token);
      pb::ActivityTask task;  // its fairness key, reported while it runs
      std::string fairness_key;
      if (task.ParseFromString(bytes)) fairness_key = task.fairness_key();
      self->state.held[id] = held_task{queue, token, std::nullopt, true, std::move(fairness_key)};
      auto& idle = self->state.idle_runners;
      caf::actor runner;
      if (idle.empty()) {
        runner = self->spawn<caf::detached + caf::linked>(activity_runner,
                                                          self->state.reg,
                                                          self->state.opts.identity,
                                                          self->state.controls);
      } else {
        runner = std::move(idle.back());
        idle.pop_back();
      }
      self->send(runner, act_task_atom::value, id, bytes);
    },
    [=](act_task_atom, caf::actor& runner) {
      self->state.idle_runners.push_back(std::move(runner));
    },
    // A runner finished an activity: its answer goes to the task queue that holds the task now.
    [=](act_task_atom, caf::actor& runner, const std::string& id, caf::atom_value atom,
        std::string& bytes) {
      flush_heartbeat(self, id, atom);
      auto it = self->state.held.find(id);
      if (it != self->state.held.end() && it->second.queue) {
        caf::anon_send(it->second.queue, atom, std::move(bytes));
        it->second.answered_at = std::chrono::steady_clock::now();
      }
      self->state.idle_runners.push_back(std::move(runner));
    },
    [=](local_atom, const std::string& key, uint64_t generation) {
      pump_local(self, key, generation);
    },
    [=](local_atom, const std::string& key, uint64_t generation, const std::string& activity_id,
        int32_t attempt, bool ok, const std::string& bytes, caf::actor& runner) {
      self->state.idle_local_runners.push_back(std::move(runner));
      on_local_result(self, key, generation, activity_id, attempt, ok, bytes);
    },
    [=](act_beat_atom, const std::string& id, std::string& bytes, int64_t interval_ms) {
      on_heartbeat(self, id, std::move(bytes), interval_ms);
    },
    // A throttle window ended: its kept heartbeat goes now.
    [=](act_beat_atom, const std::string& id) {
      auto it = self->state.beating.find(id);
      if (it == self->state.beating.end()) return;
      it->second.flush_armed = false;
      if (auto kept = it->second.throttle.due(std::chrono::steady_clock::now()))
        send_heartbeat(self, id, std::move(*kept));
      else
        arm_heartbeat_flush(self, id, it->second);
    },
    // A task queue kept these tasks for this worker across a reconnect: answers go to it now.
    [=](held_atom, const std::string& bytes) {
      auto kept = decode<pb::HeldTasks>(bytes, "HeldTasks");
      auto queue = caf::actor_cast<caf::actor>(self->current_sender());
      if (!kept || !queue) return;
      for (auto& tok : kept->tokens()) {
        auto it = self->state.held.find(task_id(tok));
        if (it != self->state.held.end()) it->second.queue = queue;
      }
    },
  };
}

}  // namespace

std::string parse_addresses(const std::string& list, std::string* host, uint16_t* port,
                            std::vector<std::string>* more) {
  size_t at = 0;
  for (bool first = true;; first = false) {
    auto comma = list.find(',', at);
    auto item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    std::string h;
    uint16_t p = 0;
    if (!parse_address(item, &h, &p)) return item.empty() ? "(an empty entry)" : item;
    if (first) {
      *host = h;
      *port = p;
    } else {
      more->push_back(item);
    }
    if (comma == std::string::npos) return "";
    at = comma + 1;
  }
}

bool parse_address(const std::string& address, std::string* host, uint16_t* port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  try {
    size_t used = 0;
    auto p = std::stol(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1 || p < 1 || p > 65535) return false;
    *host = address.substr(0, colon);
    *port = static_cast<uint16_t>(p);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::string secret_from_env() {
  const char* s = std::getenv("CHRONICLE_CLUSTER_SECRET");
  return s ? s : "";
}

std::string api_key_from_env() {
  const char* s = std::getenv("CHRONICLE_API_KEY");
  return s ? s : "";
}

caf::expected<caf::actor> connect_node(caf::actor_system& sys, const std::string& host,
                                       uint16_t port, std::chrono::milliseconds timeout,
                                       const std::string& secret, const std::string& api_key) {
  caf::scoped_actor self{sys};
  caf::expected<caf::actor> result = caf::actor{};
  self->request(network_handle(sys), timeout, caf::connect_atom::value, host, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto node = caf::actor_cast<caf::actor>(ptr);
        if (node) result = node;
        else result = make_error(errc::unavailable, "no node published at " + host + ":"
                                                      + std::to_string(port));
      },
      [&](caf::error& err) {
        result = make_error(errc::unavailable, "cannot connect to node at " + host + ":"
                                                 + std::to_string(port) + ": " + error_text(err));
      });
  if (result && !secret.empty())
    self->request(*result, timeout, auth_atom::value, secret)
      .receive([](const std::string&) {},
               [&](caf::error& err) {
                 result = make_error(errc::unauthenticated, "node at " + host + ":"
                                                              + std::to_string(port)
                                                              + " refused the cluster secret: "
                                                              + error_text(err));
               });
  if (result && !api_key.empty())
    self->request(*result, timeout, apikey_atom::value, api_key)
      .receive([](const std::string&) {},
               [&](caf::error& err) {
                 result = make_error(errc::unauthenticated, "node at " + host + ":"
                                                              + std::to_string(port)
                                                              + " refused the API key: "
                                                              + error_text(err));
               });
  return result;
}

caf::actor spawn_worker(caf::actor_system& sys, worker_options opts,
                        std::shared_ptr<const sdk::registry> reg) {
  if (opts.secret.empty()) opts.secret = secret_from_env();
  if (opts.api_key.empty()) opts.api_key = api_key_from_env();
  if (opts.identity.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    opts.identity = std::string(host) + ":" + std::to_string(getpid());
  }
  return sys.spawn(worker_actor, std::move(opts), std::move(reg));
}

}  // namespace chronicle
