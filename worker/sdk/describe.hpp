// One-line, human-readable renderings of history events and commands, used in non-determinism
// messages and logs. Examples: "ActivityTaskScheduled(activity_id=1, type=ComposeGreeting)",
// "StartTimer(timer_id=2)", "CompleteWorkflowExecution". Events and commands without identifying
// attributes render as their type name.
// not_registered_message names a type the registry does not know, with the ones it does.
#pragma once

#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace chronicle::sdk {

std::string describe_event(const pb::HistoryEvent& event);
std::string describe_command(const pb::Command& command);

// "a, b, c", or "none" when `names` is empty.
std::string join_names(const std::vector<std::string>& names);

// "<kind> type '<type>' is not registered on this worker (registered: <join_names(known)>)".
std::string not_registered_message(const std::string& kind, const std::string& type,
                                   const std::vector<std::string>& known);

}  // namespace chronicle::sdk
