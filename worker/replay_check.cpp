// The replay check of a live cluster: see replay_check.hpp for the contract.
#include "worker/replay_check.hpp"

#include "worker/worker.hpp"

namespace chronicle {

namespace {

pb::ListWorkflowsRequest closed_runs(const std::string& workflow_type,
                                     const replay_check_options& options) {
  pb::ListWorkflowsRequest req;
  req.set_namespace_(options.ns);
  req.set_workflow_type(workflow_type);  // indexed: the per-type index answers
  req.set_close_time_from_ms(1);         // set: only closed runs
  req.set_query(options.query);
  req.set_page_size(options.page_size);
  return req;
}

// Replays one run; a history that cannot be read is an error of the report.
void check_run(client& c, const pb::WorkflowExecutionInfo& run, const sdk::registry& reg,
               const std::string& ns, replay_check_report& report) {
  auto history = c.history(ns, run.workflow_id(), run.run_id());
  if (!history) {
    report.errors.push_back("workflow '" + run.workflow_id() + "' run " + run.run_id() +
                            ": history not read: " + error_text(history.error()));
    return;
  }
  ++report.runs_checked;
  auto result = sdk::replay_history(reg, *history);
  if (!result.ok()) report.failed.push_back({run.workflow_id(), run.run_id(), std::move(result)});
}

}  // namespace

caf::expected<replay_check_report> replay_closed_runs(client& c, const std::string& workflow_type,
                                                      const sdk::registry& reg,
                                                      const replay_check_options& options) {
  replay_check_report report;
  auto req = closed_runs(workflow_type, options);
  int64_t seen = 0;
  for (;;) {
    auto page = c.list(req);
    if (!page) return page.error();
    for (const auto& node : page->missing_nodes())
      report.errors.push_back("member " + node + " did not answer the list: its runs are missing");
    for (const auto& run : page->executions()) {
      if (options.max_runs > 0 && seen >= options.max_runs) return report;
      ++seen;
      check_run(c, run, reg, options.ns, report);
    }
    if (page->next_page_token().empty()) return report;
    req.set_next_page_token(page->next_page_token());
  }
}

int replay_check_main(caf::actor_system& sys, const std::string& addresses,
                      const std::string& workflow_type, const sdk::registry& reg,
                      const replay_check_options& options, std::ostream& out, std::ostream& err) {
  std::string host;
  uint16_t port = 0;
  std::vector<std::string> more;
  if (auto bad = parse_addresses(addresses, &host, &port, &more); !bad.empty()) {
    err << "replay check: address '" << bad << "' is not host:port\n";
    return 2;
  }
  more.insert(more.begin(), host + ":" + std::to_string(port));
  auto c = client::connect(sys, more);
  if (!c) {
    err << "replay check: " << error_text(c.error()) << "\n";
    return 2;
  }
  auto report = replay_closed_runs(*c, workflow_type, reg, options);
  if (!report) {
    err << "replay check: listing the closed runs of '" << workflow_type
        << "' failed: " << error_text(report.error()) << "\n";
    return 2;
  }
  for (const auto& f : report->failed)
    out << "FAIL " << f.workflow_id << " " << f.run_id << ": " << sdk::describe(f.result) << "\n";
  for (const auto& e : report->errors) err << "replay check: " << e << "\n";
  out << "replay check of '" << workflow_type << "': " << report->runs_checked
      << " closed runs replayed, " << report->failed.size() << " failed"
      << (report->errors.empty() ? "" : ", check incomplete") << "\n";
  return report->ok() ? 0 : 1;
}

}  // namespace chronicle
