// chronicle: the command-line client. `chronicle --help` and `chronicle workflow <cmd> --help`.
#include <CLI/CLI.hpp>
#include <tuple>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <iostream>
#include <random>

#include "protocol/runtime.hpp"
#include "tools/render.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/worker.hpp"

using namespace chronicle;

namespace {

struct globals {
  std::string address = "127.0.0.1:7233";
  std::string ns = "default";
};

int fail(const std::string& msg, int code = 1) {
  std::cerr << "chronicle: " << msg << "\n";
  return code;
}

std::string random_id() {
  std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

// Connects to the node named by --address; prints the error and returns nullopt on failure.
std::optional<client> connect(caf::actor_system& sys, const globals& g) {
  std::string host;
  uint16_t port = 0;
  if (!parse_address(g.address, &host, &port)) {
    fail("--address '" + g.address + "' is not host:port");
    return std::nullopt;
  }
  auto c = client::connect(sys, host, port, std::chrono::seconds(2));
  if (!c) {
    fail(error_text(c.error()));
    return std::nullopt;
  }
  return std::move(*c);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chronicle: start, inspect and wait for Chronicle workflows"};
  app.require_subcommand(1);
  globals g;
  if (const char* env = std::getenv("CHRONICLE_ADDRESS")) g.address = env;
  app.add_option("--address", g.address, "node to talk to, host:port (env CHRONICLE_ADDRESS)")
    ->capture_default_str();
  app.add_option("-n,--namespace", g.ns, "namespace")->capture_default_str();

  auto* wf = app.add_subcommand("workflow", "operate on workflow executions");
  wf->require_subcommand(1);

  // workflow start
  std::string type, queue, wid, input = "null", request_id;
  bool as_json = false;
  auto* start = wf->add_subcommand("start", "start a workflow execution; prints its run ID");
  start->add_option("-t,--type", type, "workflow type")->required();
  start->add_option("-q,--task-queue", queue, "task queue")->required();
  start->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  start->add_option("-i,--input", input, "input as JSON")->capture_default_str();
  start->add_option("--request-id", request_id, "idempotency key for retried starts");
  std::string execution_timeout, run_timeout;
  start->add_option("--execution-timeout", execution_timeout,
                    "workflow execution timeout, e.g. 30s, 5m, 250ms (default: none)");
  start->add_option("--run-timeout", run_timeout, "workflow run timeout, e.g. 30s (default: none)");
  std::string reuse_policy, conflict_policy;
  const std::map<std::string, pb::WorkflowIdReusePolicy> reuse_policies{
    {"allow-duplicate", pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE},
    {"allow-duplicate-failed-only", pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY},
    {"reject-duplicate", pb::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE},
    {"terminate-if-running", pb::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING}};
  const std::map<std::string, pb::WorkflowIdConflictPolicy> conflict_policies{
    {"fail", pb::WORKFLOW_ID_CONFLICT_POLICY_FAIL},
    {"use-existing", pb::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
    {"terminate-existing", pb::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING}};
  start->add_option("--id-reuse-policy", reuse_policy,
                    "when the ID's last run is closed (default allow-duplicate)")
    ->check(CLI::IsMember(reuse_policies));
  start->add_option("--id-conflict-policy", conflict_policy,
                    "when a run of the ID is running (default fail)")
    ->check(CLI::IsMember(conflict_policies));

  // workflow list
  std::string status_filter, started_after, started_before, closed_after, closed_before,
    id_prefix, page_token;
  int32_t page_size = 0;
  bool all_pages = false;
  auto* list = wf->add_subcommand("list", "list runs from the visibility index, newest first");
  list->add_option("-s,--status", status_filter,
                   "only runs with this status (running, completed, failed, canceled, "
                   "terminated, timed-out, continued-as-new)");
  list->add_option("-t,--type", type, "only runs of this workflow type");
  list->add_option("-p,--prefix", id_prefix, "only workflow IDs starting with this");
  for (auto [flag, var, what] :
       {std::tuple{"--started-after", &started_after, "started at or after"},
        std::tuple{"--started-before", &started_before, "started before"},
        std::tuple{"--closed-after", &closed_after, "closed at or after (only closed runs)"},
        std::tuple{"--closed-before", &closed_before, "closed before (only closed runs)"}})
    list->add_option(flag, *var,
                     std::string(what) + ": 2026-11-30T10:00:00Z, epoch ms, or a duration ago (10m)");
  list->add_option("--page-size", page_size, "runs per page (default 100)")
    ->check(CLI::Range(1, 1000));
  list->add_option("--next-page-token", page_token, "continue after a previous page (hex)");
  list->add_flag("--all", all_pages, "fetch every page");
  list->add_flag("--json", as_json, "print as JSON");

  // workflow result
  std::string run_id;
  int64_t timeout_s = 3600;
  auto* result = wf->add_subcommand("result", "wait for a workflow's result and print it as JSON");
  result->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  result->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  result->add_option("--timeout", timeout_s, "seconds to wait")->capture_default_str()
    ->check(CLI::Range(int64_t{1}, int64_t{365} * 24 * 3600));

  // workflow show
  auto* show = wf->add_subcommand("show", "print the event history, one line per event");
  show->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  show->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  show->add_flag("--json", as_json, "print the history as JSON");

  // workflow describe
  // workflow query
  std::string query_type, query_input = "null";
  auto* query = wf->add_subcommand("query", "ask a worker a query answered from the workflow's state");
  query->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  query->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  query->add_option("-t,--type", query_type, "query type (a handler registered with on_query)")
    ->required();
  query->add_option("-i,--input", query_input, "query arguments as JSON")->capture_default_str();

  auto* describe = wf->add_subcommand("describe", "ask the admin actor for an execution's state");
  describe->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  describe->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  describe->add_flag("--json", as_json, "print as JSON");

  // workflow signal / signal-with-start / terminate / cancel
  std::string signal_name, signal_input = "null", reason;
  auto* signal = wf->add_subcommand("signal", "send a signal to a running workflow");
  signal->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  signal->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  signal->add_option("--name", signal_name, "signal name")->required();
  signal->add_option("-i,--input", signal_input, "signal input as JSON")->capture_default_str();
  auto* sigstart = wf->add_subcommand(
    "signal-with-start", "signal a workflow, starting it first if it is not running; prints its run ID");
  sigstart->add_option("-t,--type", type, "workflow type")->required();
  sigstart->add_option("-q,--task-queue", queue, "task queue")->required();
  sigstart->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  sigstart->add_option("-i,--input", input, "workflow input as JSON")->capture_default_str();
  sigstart->add_option("--name", signal_name, "signal name")->required();
  sigstart->add_option("--signal-input", signal_input, "signal input as JSON")->capture_default_str();
  sigstart->add_option("--request-id", request_id, "idempotency key for retried requests");
  auto* terminate = wf->add_subcommand("terminate", "close a running workflow at once as Terminated");
  terminate->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  terminate->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  terminate->add_option("--reason", reason, "why (recorded in the history)");
  auto* cancel = wf->add_subcommand("cancel", "ask a running workflow to cancel itself");
  cancel->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  cancel->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  cancel->add_option("--reason", reason, "why (recorded in the history)");

  // cluster status / shards
  auto* cluster = app.add_subcommand("cluster", "ask the admin actors about the cluster");
  cluster->require_subcommand(1);
  auto* cstatus = cluster->add_subcommand("status", "members: up/down, address, uptime, shards, workflows");
  cstatus->add_flag("--json", as_json, "print as JSON");
  auto* cshards = cluster->add_subcommand("shards", "shard -> node map with open and closed counts");
  cshards->add_flag("--json", as_json, "print as JSON");

  CLI11_PARSE(app, argc, argv);

  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto c = connect(sys, g);
  if (!c) return 1;

  if (start->parsed()) {
    pb::StartWorkflowRequest req;
    req.set_namespace_(g.ns);
    req.set_workflow_id(wid);
    req.set_workflow_type(type);
    req.set_task_queue(queue);
    req.set_request_id(request_id.empty() ? random_id() : request_id);
    req.set_identity("chronicle-cli");
    auto j = nlohmann::json::parse(input, nullptr, false);
    if (j.is_discarded()) return fail("--input is not valid JSON: " + input, 2);
    *req.mutable_input() = sdk::to_payload(j);
    for (auto [flag, text, set] : {std::tuple{"--execution-timeout", &execution_timeout,
                                              &pb::StartWorkflowRequest::set_workflow_execution_timeout_ms},
                                   std::tuple{"--run-timeout", &run_timeout,
                                              &pb::StartWorkflowRequest::set_workflow_run_timeout_ms}}) {
      if (text->empty()) continue;
      auto ms = cli::parse_duration_ms(*text);
      if (ms < 0) return fail(std::string(flag) + " '" + *text + "' is not a duration (e.g. 30s)", 2);
      (req.*set)(ms);
    }
    if (!reuse_policy.empty()) req.set_id_reuse_policy(reuse_policies.at(reuse_policy));
    if (!conflict_policy.empty())
      req.set_id_conflict_policy(conflict_policies.at(conflict_policy));
    auto resp = c->start(req);
    if (!resp) return fail(error_text(resp.error()));
    std::cout << resp->run_id() << "\n";
    return 0;
  }
  if (result->parsed()) {
    auto resp = c->result(g.ns, wid, run_id, std::chrono::seconds(timeout_s));
    if (!resp) return fail(error_text(resp.error()));
    if (resp->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) {
      std::cout << cli::payload_text(resp->result()) << "\n";
      return 0;
    }
    if (resp->status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED)
      return fail("workflow '" + wid + "' was terminated: " + resp->failure().message());
    if (resp->status() == pb::WORKFLOW_EXECUTION_STATUS_CANCELED)
      return fail("workflow '" + wid + "' was canceled");
    if (resp->status() == pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT)
      return fail("workflow '" + wid + "' timed out: " + resp->failure().message());
    return fail(std::string("workflow ") + status_name(resp->status()) + ": "
                + resp->failure().message());
  }
  if (signal->parsed() || sigstart->parsed()) {
    auto j = nlohmann::json::parse(signal_input, nullptr, false);
    if (j.is_discarded()) return fail("signal input is not valid JSON: " + signal_input, 2);
    if (signal->parsed()) {
      auto resp = c->signal(g.ns, wid, run_id, signal_name, sdk::to_payload(j), "chronicle-cli");
      if (!resp) return fail(error_text(resp.error()));
      std::cout << "signaled workflow '" << wid << "' (run " << resp->run_id() << ")\n";
      return 0;
    }
    auto wf_input = nlohmann::json::parse(input, nullptr, false);
    if (wf_input.is_discarded()) return fail("--input is not valid JSON: " + input, 2);
    pb::StartWorkflowRequest req;
    req.set_namespace_(g.ns);
    req.set_workflow_id(wid);
    req.set_workflow_type(type);
    req.set_task_queue(queue);
    req.set_request_id(request_id.empty() ? random_id() : request_id);
    req.set_identity("chronicle-cli");
    *req.mutable_input() = sdk::to_payload(wf_input);
    auto resp = c->signal_with_start(req, signal_name, sdk::to_payload(j));
    if (!resp) return fail(error_text(resp.error()));
    std::cout << resp->run_id() << "\n";
    return 0;
  }
  if (terminate->parsed()) {
    auto resp = c->terminate(g.ns, wid, run_id, reason, "chronicle-cli");
    if (!resp) return fail(error_text(resp.error()));
    std::cout << "terminated workflow '" << wid << "' (run " << resp->run_id() << ")\n";
    return 0;
  }
  if (cancel->parsed()) {
    auto resp = c->cancel(g.ns, wid, run_id, reason, "chronicle-cli");
    if (!resp) return fail(error_text(resp.error()));
    std::cout << "requested cancellation of workflow '" << wid << "' (run " << resp->run_id()
              << ")\n";
    return 0;
  }
  if (show->parsed()) {
    auto resp = c->history(g.ns, wid, run_id);
    if (!resp) return fail(error_text(resp.error()));
    if (as_json) {
      std::cout << cli::to_json(*resp).dump(2) << "\n";
    } else {
      for (auto& ev : resp->events()) std::cout << cli::event_line(ev) << "\n";
    }
    return 0;
  }
  if (cstatus->parsed() || cshards->parsed()) {
    auto resp = c->cluster_status(cshards->parsed());
    if (!resp) return fail(error_text(resp.error()));
    if (as_json) std::cout << cli::to_json(*resp).dump(2) << "\n";
    else std::cout << (cshards->parsed() ? cli::shards_text(*resp) : cli::cluster_text(*resp));
    return 0;
  }
  if (query->parsed()) {
    auto j = nlohmann::json::parse(query_input, nullptr, false);
    if (j.is_discarded()) return fail("--input is not valid JSON: " + query_input, 2);
    auto resp = c->query(g.ns, wid, run_id, query_type, sdk::to_payload(j));
    if (!resp) return fail(error_text(resp.error()));
    std::cout << cli::payload_text(resp->result()) << "\n";
    return 0;
  }
  if (list->parsed()) {
    pb::ListWorkflowsRequest req;
    req.set_namespace_(g.ns);
    if (!status_filter.empty()) {
      auto st = cli::parse_status(status_filter);
      if (st == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED)
        return fail("--status '" + status_filter + "' is not a status (running, completed, failed, "
                    "canceled, terminated, timed-out, continued-as-new)", 2);
      req.set_status(st);
    }
    req.set_workflow_type(type);
    req.set_workflow_id_prefix(id_prefix);
    req.set_page_size(page_size);
    auto now = now_ms();
    for (auto [flag, text, set] :
         {std::tuple{"--started-after", &started_after, &pb::ListWorkflowsRequest::set_start_time_from_ms},
          std::tuple{"--started-before", &started_before, &pb::ListWorkflowsRequest::set_start_time_to_ms},
          std::tuple{"--closed-after", &closed_after, &pb::ListWorkflowsRequest::set_close_time_from_ms},
          std::tuple{"--closed-before", &closed_before, &pb::ListWorkflowsRequest::set_close_time_to_ms}}) {
      if (text->empty()) continue;
      auto ms = cli::parse_time_ms(*text, now);
      if (ms < 0)
        return fail(std::string(flag) + " '" + *text
                    + "' is not a time (2026-11-30T10:00:00Z, epoch ms, or a duration ago like 10m)", 2);
      (req.*set)(ms);
    }
    if (!page_token.empty()) {
      auto token = cli::from_hex(page_token);
      if (!token) return fail("--next-page-token '" + page_token + "' is not hex", 2);
      req.set_next_page_token(*token);
    }
    pb::ListWorkflowsResponse all;
    while (true) {
      auto resp = c->list(req);
      if (!resp) return fail(error_text(resp.error()));
      for (auto& e : *resp->mutable_executions()) *all.add_executions() = std::move(e);
      for (auto& m : resp->missing_nodes())
        if (std::find(all.missing_nodes().begin(), all.missing_nodes().end(), m) == all.missing_nodes().end())
          all.add_missing_nodes(m);
      all.set_next_page_token(resp->next_page_token());
      if (!all_pages || resp->next_page_token().empty()) break;
      req.set_next_page_token(resp->next_page_token());
    }
    if (as_json) {
      auto j = cli::to_json(all);
      if (!all.next_page_token().empty()) j["nextPageToken"] = cli::to_hex(all.next_page_token());
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << cli::list_text(all);
      if (!all.next_page_token().empty())
        std::cout << "(more: --next-page-token " << cli::to_hex(all.next_page_token()) << ")\n";
    }
    for (auto& m : all.missing_nodes())
      std::cerr << "chronicle: warning: node " << m << " did not answer; its runs are missing\n";
    return 0;
  }
  if (describe->parsed()) {
    auto resp = c->describe(g.ns, wid, run_id);
    if (!resp) return fail(error_text(resp.error()));
    if (as_json) std::cout << cli::to_json(*resp).dump(2) << "\n";
    else std::cout << cli::describe_text(*resp);
    return 0;
  }
  return fail("no command given", 2);
}
