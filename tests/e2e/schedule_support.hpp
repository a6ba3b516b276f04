// What the schedule e2e tests share (schedule_test.cpp, schedule_policies_test.cpp): a
// schedule firing every second, waiting on describe, the runs a schedule started as listed.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "shards/schedule_state.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::testing {

// A schedule of `workflow_type` (input {"name": id}) on "greetings" every second.
inline pb::CreateScheduleRequest every_second(const std::string& id, pb::ScheduleOverlapPolicy overlap,
                                              int64_t catchup_ms = 0,
                                              const std::string& workflow_type = "Greeting") {
  pb::CreateScheduleRequest req;
  req.set_namespace_("default");
  req.set_schedule_id(id);
  auto* def = req.mutable_definition();
  def->mutable_spec()->add_interval()->set_every_ms(1000);
  def->mutable_action()->set_workflow_type(workflow_type);
  def->mutable_action()->set_task_queue("greetings");
  *def->mutable_action()->mutable_input() = sdk::to_payload({{"name", id}});
  def->mutable_policies()->set_overlap(overlap);
  def->mutable_policies()->set_catchup_window_ms(catchup_ms);
  return req;
}

// Polls describe until `pred` holds; fails the test after `limit`.
template <class Pred>
pb::ScheduleDescription wait_schedule(client& c, const std::string& id, Pred pred, const char* what,
                                      std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  pb::ScheduleDescription last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = c.describe_schedule("default", id);
    if (d) {
      last = *d;
      if (pred(*d)) return *d;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("timed out waiting until " << std::string(what) << ": " << last.DebugString());
  return last;
}

// Every run whose workflow ID starts with `prefix`, as listed (each run once: a run listed twice
// fails the test), oldest start first.
inline std::vector<pb::WorkflowExecutionInfo> runs_of(client& c, const std::string& prefix) {
  std::vector<pb::WorkflowExecutionInfo> out;
  std::set<std::string> seen;
  pb::ListWorkflowsRequest req;
  req.set_namespace_("default");
  req.set_workflow_id_prefix(prefix);
  req.set_page_size(1000);
  while (true) {
    auto page = c.list(req);
    REQUIRE_MESSAGE(page, error_text(page));
    for (auto& e : page->executions()) {
      CHECK_MESSAGE(seen.insert(e.workflow_id() + " " + e.run_id()).second,
                    "run listed twice: " << e.workflow_id() << " " << e.run_id());
      out.push_back(e);
    }
    if (page->next_page_token().empty()) break;
    req.set_next_page_token(page->next_page_token());
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return a.start_time_ms() != b.start_time_ms() ? a.start_time_ms() < b.start_time_ms()
                                                  : a.workflow_id() < b.workflow_id();
  });
  return out;
}

// Workflow ID -> number of runs, of the runs whose workflow ID starts with `prefix`.
inline std::map<std::string, int> runs_by_id(client& c, const std::string& prefix) {
  std::map<std::string, int> out;
  for (auto& e : runs_of(c, prefix)) ++out[e.workflow_id()];
  return out;
}

// The recent actions (at most 10) that closed with `status`.
inline int recent_with(const pb::ScheduleDescription& d, pb::WorkflowExecutionStatus status) {
  int n = 0;
  for (auto& a : d.info().recent_actions()) n += a.status() == status;
  return n;
}

inline int completed(const pb::ScheduleDescription& d) {
  return recent_with(d, pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

// Pauses schedule `id`; its description once paused.
inline pb::ScheduleDescription pause_schedule(client& c, const std::string& id) {
  pb::PatchScheduleRequest p;
  p.set_namespace_("default");
  p.set_schedule_id(id);
  p.set_pause(true);
  auto paused = c.patch_schedule(p);
  REQUIRE_MESSAGE(paused, error_text(paused));
  return *paused;
}

// Whether every running action's start was answered (its run ID known).
inline bool starts_answered(const pb::ScheduleDescription& d) {
  for (auto& r : d.info().running())
    if (r.run_id().empty()) return false;
  return true;
}

// Wall-clock milliseconds since the Unix epoch (the node's clock: the same machine).
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

}  // namespace chronicle::testing
