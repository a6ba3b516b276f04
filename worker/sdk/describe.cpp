#include "worker/sdk/describe.hpp"

namespace chronicle::sdk {

std::string describe_event(const pb::HistoryEvent& event) {
  std::string name = event_type_name(event.event_type());
  switch (event.event_type()) {
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      const auto& a = event.activity_task_scheduled();
      return name + "(activity_id=" + a.activity_id() + ", type=" + a.activity_type().name() + ")";
    }
    case pb::EVENT_TYPE_TIMER_STARTED:
      return name + "(timer_id=" + event.timer_started().timer_id() + ")";
    case pb::EVENT_TYPE_TIMER_FIRED:
      return name + "(timer_id=" + event.timer_fired().timer_id() + ")";
    default:
      return name;
  }
}

std::string describe_command(const pb::Command& command) {
  switch (command.attributes_case()) {
    case pb::Command::kScheduleActivityTask: {
      const auto& a = command.schedule_activity_task();
      return "ScheduleActivityTask(activity_id=" + a.activity_id() +
             ", type=" + a.activity_type().name() + ")";
    }
    case pb::Command::kStartTimer:
      return "StartTimer(timer_id=" + command.start_timer().timer_id() + ")";
    case pb::Command::kCompleteWorkflowExecution:
      return "CompleteWorkflowExecution";
    case pb::Command::kFailWorkflowExecution:
      return "FailWorkflowExecution";
    default:
      return "EmptyCommand";
  }
}

}  // namespace chronicle::sdk
