// One-line, human-readable renderings of history events and commands, used in non-determinism
// messages and logs. Examples: "ActivityTaskScheduled(activity_id=1, type=ComposeGreeting)",
// "StartTimer(timer_id=2)", "CompleteWorkflowExecution". Events and commands without identifying
// attributes render as their type name.
#pragma once

#include <string>

#include "protocol/messages.hpp"

namespace chronicle::sdk {

std::string describe_event(const pb::HistoryEvent& event);
std::string describe_command(const pb::Command& command);

}  // namespace chronicle::sdk
