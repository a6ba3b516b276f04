// workflow_context: local activities. See workflow_context.hpp for the contract, and
// replay_machine_local.cpp for how their markers are recorded and replayed.
#include <stdexcept>
#include <utility>

#include "worker/sdk/local_activity.hpp"
#include "worker/sdk/workflow_context.hpp"

namespace chronicle::sdk {

activity_awaitable workflow_context::local_activity(std::string type, json input) {
  return local_activity(std::move(type), std::move(input), local_activity_options{});
}

activity_awaitable workflow_context::local_activity(std::string type, json input,
                                                    const local_activity_options& options) {
  if (type.empty()) throw std::invalid_argument("local activity type must not be empty");
  for (auto d : {options.schedule_to_close_timeout, options.start_to_close_timeout,
                 options.local_retry_threshold, options.retry.initial_interval,
                 options.retry.maximum_interval})
    if (d.count() < 0) throw std::invalid_argument("local activity timeouts must not be negative");
  pb::Payload payload = to_payload(input);  // may throw: before the id is taken
  auto* op = new_operation(detail::operation_kind::local_activity);
  if (op->canceled) return activity_awaitable{op};
  op->local = std::make_shared<detail::local_activity_state>();
  auto& r = op->local->request;
  r.workflow_id = workflow_id_;
  r.run_id = run_id_;
  r.activity_id = std::to_string(++local_activity_seq_);
  r.activity_type = std::move(type);
  r.input = std::move(payload);
  r.options = options;
  op->name = r.activity_id;
  return activity_awaitable{op};
}

}  // namespace chronicle::sdk
