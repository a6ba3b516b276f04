// registry: the workflow and activity implementations a worker serves, by type name.
//
// Contract: names are non-empty and unique per kind (registering twice, an empty name or an empty
// function throws std::invalid_argument). Lookups return nullptr for unknown names; pointers stay
// valid until the registry is modified or destroyed. Name lists are sorted. A workflow function
// object (and what a lambda captures) must outlive the coroutines it creates: the registry keeps
// it, so do not modify a registry while tasks run. A const registry may serve tasks on several
// threads at once (the functions themselves then must be thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "worker/sdk/payload.hpp"
#include "worker/sdk/task.hpp"
#include "worker/sdk/workflow_context.hpp"

namespace chronicle::sdk {

using workflow_fn = std::function<task<json>(workflow_context&, json input)>;

// What the worker tells a running activity (shared with it; any thread): whether the workflow
// asked to cancel it, and whether the function asked not to be completed on return.
struct activity_control {
  std::atomic<bool> cancel_requested{false};
  std::atomic<bool> completes_async{false};
  mutable std::mutex mutex;
  std::string cancel_reason;  // under mutex; set before cancel_requested

  void request_cancel(const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (cancel_requested) return;
      cancel_reason = reason;
    }
    cancel_requested = true;
  }
  std::string reason() const {
    std::lock_guard<std::mutex> lock(mutex);
    return cancel_reason;
  }
};

// What an activity function knows about its task. Heartbeats: heartbeat(details) tells the server
// the attempt is alive (resetting its heartbeat timeout) and keeps `details`; when the attempt
// fails or times out, the next attempt finds the last details in heartbeat_details (null when
// none). heartbeat() never blocks: the worker sends at most one heartbeat per throttle interval
// (80 % of the heartbeat timeout, see heartbeat_throttle.hpp; the last details win) and the node's
// answer arrives later. It may be called from any thread while the activity function runs;
// without a server connection (tests) it only checks for cancellation.
//
// Cancellation: once an answer to an earlier heartbeat said the workflow asked to cancel the
// activity (or that its attempt is no longer current: timed out, run closed),
// is_cancel_requested() is true and heartbeat() throws activity_canceled_error; letting it escape
// records ActivityTaskCanceled. An activity that never heartbeats never hears of a cancellation.
//
// Asynchronous completion: do_not_complete_on_return() says the function's return value is not
// the result: another system completes the attempt by `task_token` (`chronicle activity complete
// --task-token`, the client library, HTTP). The attempt's timeouts still apply.
struct activity_info {
  std::string workflow_id;
  std::string run_id;
  std::string activity_id;
  std::string activity_type;
  int32_t attempt = 0;  // the task token's attempt, as the server numbers it (from 1)
  json heartbeat_details = nullptr;  // the last heartbeat of an earlier attempt
  std::string task_token;  // this attempt's token as text (protocol/task_token.hpp)
  std::function<void(const json&)> heartbeat_sink;
  std::shared_ptr<activity_control> control;  // set by the activity runner

  void heartbeat(const json& details = nullptr) const;
  bool is_cancel_requested() const { return control && control->cancel_requested; }
  void do_not_complete_on_return() const {
    if (control) control->completes_async = true;
  }
};

using activity_fn = std::function<json(const activity_info&, const json& input)>;

class registry {
 public:
  void register_workflow(std::string name, workflow_fn fn);
  void register_activity(std::string name, activity_fn fn);

  // Typed registration (typed.hpp): fn is task<Out>(workflow_context&, In) for a workflow and
  // Out(const activity_info&, In) for an activity; mismatches are compile errors.
  template <class In, class Out, class Fn>
  void register_workflow(std::string name, Fn fn);
  template <class In, class Out, class Fn>
  void register_activity(std::string name, Fn fn);
  template <class In, class Out, class Fn>
  void register_activity(const activity_def<In, Out>& def, Fn fn) {
    register_activity<In, Out>(def.name, std::move(fn));
  }

  const workflow_fn* find_workflow(const std::string& name) const;
  const activity_fn* find_activity(const std::string& name) const;

  std::vector<std::string> workflow_names() const;
  std::vector<std::string> activity_names() const;

 private:
  std::map<std::string, workflow_fn> workflows_;
  std::map<std::string, activity_fn> activities_;
};

template <class In, class Out, class Fn>
void registry::register_workflow(std::string name, Fn fn) {
  static_assert(detail::json_value_v<In>,
                "register_workflow<In, Out>: In needs to_json and from_json (nlohmann) conversions");
  static_assert(detail::json_result_v<Out>,
                "register_workflow<In, Out>: Out needs to_json and from_json (nlohmann) conversions");
  static_assert(detail::returns_v<task<Out>, Fn, workflow_context&, In>(),
                "register_workflow<In, Out>: the function must be task<Out>(workflow_context&, In)");
  register_workflow(std::move(name),
                    workflow_fn([fn = std::move(fn)](workflow_context& ctx, json input) -> task<json> {
                      In in = detail::convert<In>(input, "workflow input");
                      if constexpr (std::is_void_v<Out>) {
                        co_await fn(ctx, std::move(in));
                        co_return nullptr;
                      } else {
                        Out out = co_await fn(ctx, std::move(in));
                        co_return json(std::move(out));
                      }
                    }));
}

template <class In, class Out, class Fn>
void registry::register_activity(std::string name, Fn fn) {
  static_assert(detail::json_value_v<In>,
                "register_activity<In, Out>: In needs to_json and from_json (nlohmann) conversions");
  static_assert(detail::json_result_v<Out>,
                "register_activity<In, Out>: Out needs to_json and from_json (nlohmann) conversions");
  static_assert(detail::returns_v<Out, Fn, const activity_info&, In>(),
                "register_activity<In, Out>: the function must be Out(const activity_info&, In)");
  register_activity(std::move(name),
                    activity_fn([fn = std::move(fn)](const activity_info& info, const json& input) {
                      In in = detail::convert<In>(input, "activity input");
                      if constexpr (std::is_void_v<Out>) {
                        fn(info, std::move(in));
                        return json(nullptr);
                      } else {
                        return json(fn(info, std::move(in)));
                      }
                    }));
}

}  // namespace chronicle::sdk
