// The workflows the benchmark runs, one per shape, and the registry its in-process worker serves.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worker/sdk/registry.hpp"

namespace chronicle::bench {

// A workload: what the bench starts and how it is named on the command line.
struct shape {
  std::string name;           // --shape value, e.g. "one-activity"
  std::string workflow_type;  // registered workflow type; empty when the shape cannot run yet
  std::string missing;        // why it cannot run (empty when it can)
};

// Every shape of the issue, in the order of the matrix.
const std::vector<shape>& shapes();

// The shape named `name`, or nullopt.
std::optional<shape> find_shape(const std::string& name);

// A registry with "BenchOneActivity", "BenchTenActivities", "BenchHundredActivities",
// "BenchTimer100ms", "BenchSignalRoundtrip", "BenchSleepHour", "BenchNoop" (completes at once)
// and the activity "BenchEcho" (returns its input).
std::shared_ptr<const sdk::registry> make_registry();

}  // namespace chronicle::bench
