// A user's test of their workflow code against the installed package (Chronicle::testing): a
// week-long timer in the time-skipping environment. Exit code 0 when the workflow completed.
#include <chrono>
#include <iostream>

#include "worker/sdk/testing/environment.hpp"

using namespace chronicle;
using sdk::json;

sdk::task<json> reminder(sdk::workflow_context& ctx, json input) {
  co_await ctx.sleep(std::chrono::hours(24 * 7));
  co_return co_await ctx.activity("Remind", input);
}

int main() {
  sdk::registry reg;
  reg.register_workflow("Reminder", reminder);
  sdk::testing::environment env(reg);
  env.mock_activity("Remind", [](const sdk::activity_info&, const json& in) { return in; });
  auto outcome = env.execute("Reminder", "water the plants");
  if (!outcome.completed()) {
    std::cerr << "workflow did not complete: " << outcome.error << "\n";
    return 1;
  }
  std::cout << "workflow test: " << outcome.result.dump() << " after a virtual week\n";
  return 0;
}
