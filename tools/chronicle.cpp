// chronicle: the command-line client. `chronicle --help` and `chronicle workflow <cmd> --help`.
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <tuple>

#include "protocol/runtime.hpp"
#include "tools/completion.hpp"
#include "tools/follow.hpp"
#include "tools/render.hpp"
#include "tools/session.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using cli::fail;
using cli::usage;

namespace {

std::string random_id() {
  std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chronicle: start, inspect and wait for Chronicle workflows"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: `workflow list -o json`
  cli::globals g;
  if (const char* env = std::getenv("CHRONICLE_ADDRESS")) g.address = env;
  app.add_option("--address", g.address, "node to talk to, host:port (env CHRONICLE_ADDRESS)")
    ->capture_default_str();
  app.add_option("-n,--namespace", g.ns, "namespace")->capture_default_str();
  app.add_option("-o,--output", g.output, "output format: table (for people) or json")
    ->capture_default_str()
    ->check(CLI::IsMember({"table", "json"}));

  auto* wf = app.add_subcommand("workflow", "operate on workflow executions");
  wf->require_subcommand(1);

  // workflow start
  std::string type, queue, wid, input = "null", request_id;
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
  start->add_flag("--json", g.json, "print as JSON (same as -o json)");

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
  list->add_flag("--json", g.json, "print as JSON (same as -o json)");

  // workflow result
  std::string run_id;
  int64_t timeout_s = 3600;
  bool follow = false;
  auto* result = wf->add_subcommand("result", "wait for a workflow's result and print it as JSON");
  result->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  result->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  result->add_option("--timeout", timeout_s, "seconds to wait")->capture_default_str()
    ->check(CLI::Range(int64_t{1}, int64_t{365} * 24 * 3600));
  result->add_flag("-f,--follow", follow,
                   "print the events as they happen (across continue-as-new), then the result");
  result->add_flag("--json", g.json, "print as JSON (same as -o json)");

  // workflow show
  auto* show = wf->add_subcommand("show", "print the event history, one line per event");
  show->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  show->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  show->add_flag("--json", g.json, "print the history as JSON (same as -o json)");

  // workflow describe
  // workflow query
  std::string query_type, query_input = "null";
  auto* query = wf->add_subcommand("query", "ask a worker a query answered from the workflow's state");
  query->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  query->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  query->add_option("-t,--type", query_type, "query type (a handler registered with on_query)")
    ->required();
  query->add_option("-i,--input", query_input, "query arguments as JSON")->capture_default_str();
  query->add_flag("--json", g.json, "print as JSON (same as -o json)");

  auto* describe = wf->add_subcommand("describe", "ask the admin actor for an execution's state");
  describe->add_option("-w,--workflow-id", wid, "workflow ID")->required();
  describe->add_option("-r,--run-id", run_id, "run ID (default: current run)");
  describe->add_flag("--json", g.json, "print as JSON (same as -o json)");

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
  for (auto* cmd : {signal, sigstart, terminate, cancel})
    cmd->add_flag("--json", g.json, "print as JSON (same as -o json)");

  // cluster status / shards
  auto* cluster = app.add_subcommand("cluster", "ask the admin actors about the cluster");
  cluster->require_subcommand(1);
  auto* cstatus = cluster->add_subcommand("status", "members: up/down, address, uptime, shards, workflows");
  cstatus->add_flag("--json", g.json, "print as JSON (same as -o json)");
  auto* cshards = cluster->add_subcommand("shards", "shard -> node map with open and closed counts");
  cshards->add_flag("--json", g.json, "print as JSON (same as -o json)");

  // completion bash|zsh
  std::string shell;
  auto* completion = app.add_subcommand(
    "completion", "print a shell completion script: source <(chronicle completion bash)");
  completion->add_option("shell", shell, "bash or zsh")
    ->required()
    ->check(CLI::IsMember({"bash", "zsh"}));

  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli::parse_failed(app, e, args);
  }
  if (completion->parsed()) {
    std::cout << (shell == "bash" ? cli::bash_completion(app, "chronicle")
                                  : cli::zsh_completion(app, "chronicle"));
    return 0;
  }
  if (g.output == "json") g.json = true;

  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto c = cli::connect(sys, g);
  if (!c) return 1;
  // A failed request; a workflow that is not found gets a hint at similar IDs.
  auto failed = [&](const caf::error& err) {
    auto text = error_text(err);
    bool missing = chronicle_code(err) == static_cast<uint8_t>(errc::not_found)
                   && text.find("not found") != std::string::npos;
    bool by_id = !wid.empty() && run_id.empty();
    return fail(g, text, missing && by_id ? cli::not_found_hint(*c, g, wid) : std::string());
  };
  // Prints a JSON object compactly, or `text` for people.
  auto print = [&](const nlohmann::json& j, const std::string& text) {
    std::cout << (g.json ? j.dump() : text) << "\n";
    return 0;
  };

  if (start->parsed() || sigstart->parsed()) {
    pb::StartWorkflowRequest req;
    req.set_namespace_(g.ns);
    req.set_workflow_id(wid);
    req.set_workflow_type(type);
    req.set_task_queue(queue);
    req.set_request_id(request_id.empty() ? random_id() : request_id);
    req.set_identity("chronicle-cli");
    auto j = nlohmann::json::parse(input, nullptr, false);
    if (j.is_discarded()) return usage(g, "--input is not valid JSON: " + input);
    *req.mutable_input() = sdk::to_payload(j);
    for (auto [flag, text, set] : {std::tuple{"--execution-timeout", &execution_timeout,
                                              &pb::StartWorkflowRequest::set_workflow_execution_timeout_ms},
                                   std::tuple{"--run-timeout", &run_timeout,
                                              &pb::StartWorkflowRequest::set_workflow_run_timeout_ms}}) {
      if (text->empty()) continue;
      auto ms = cli::parse_duration_ms(*text);
      if (ms < 0) return usage(g, std::string(flag) + " '" + *text + "' is not a duration (e.g. 30s)");
      (req.*set)(ms);
    }
    if (!reuse_policy.empty()) req.set_id_reuse_policy(reuse_policies.at(reuse_policy));
    if (!conflict_policy.empty())
      req.set_id_conflict_policy(conflict_policies.at(conflict_policy));
    if (start->parsed()) {
      auto resp = c->start(req);
      if (!resp) return failed(resp.error());
      return print({{"run_id", resp->run_id()}, {"started", resp->started()}}, resp->run_id());
    }
    auto sig = nlohmann::json::parse(signal_input, nullptr, false);
    if (sig.is_discarded()) return usage(g, "--signal-input is not valid JSON: " + signal_input);
    auto resp = c->signal_with_start(req, signal_name, sdk::to_payload(sig));
    if (!resp) return failed(resp.error());
    return print({{"run_id", resp->run_id()}, {"started", resp->started()}}, resp->run_id());
  }
  if (result->parsed()) {
    cli::result_request req{g.ns, wid, run_id, std::chrono::seconds(timeout_s)};
    auto resp = follow ? cli::follow_result(*c, req, g.json, std::cout)
                       : cli::wait_result(*c, req, isatty(STDERR_FILENO) ? &std::cerr : nullptr);
    if (!resp) return failed(resp.error());
    if (resp->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) {
      std::cout << cli::payload_text(resp->result()) << "\n";
      return 0;
    }
    auto text = cli::result_failure_text(*resp, wid);
    if (!g.json) return fail(g, text);
    auto j = cli::error_json(text);
    j["status"] = status_name(resp->status());
    j["run_id"] = resp->run_id();
    if (resp->has_failure()) j["failure"] = cli::to_json(resp->failure());
    std::cout << j.dump() << "\n";
    return 1;
  }
  if (signal->parsed()) {
    auto j = nlohmann::json::parse(signal_input, nullptr, false);
    if (j.is_discarded()) return usage(g, "--input is not valid JSON: " + signal_input);
    auto resp = c->signal(g.ns, wid, run_id, signal_name, sdk::to_payload(j), "chronicle-cli");
    if (!resp) return failed(resp.error());
    return print({{"workflow_id", wid}, {"run_id", resp->run_id()}, {"signaled", true}},
                 "signaled workflow '" + wid + "' (run " + resp->run_id() + ")");
  }
  if (terminate->parsed()) {
    auto resp = c->terminate(g.ns, wid, run_id, reason, "chronicle-cli");
    if (!resp) return failed(resp.error());
    return print({{"workflow_id", wid}, {"run_id", resp->run_id()}, {"terminated", true}},
                 "terminated workflow '" + wid + "' (run " + resp->run_id() + ")");
  }
  if (cancel->parsed()) {
    auto resp = c->cancel(g.ns, wid, run_id, reason, "chronicle-cli");
    if (!resp) return failed(resp.error());
    return print({{"workflow_id", wid}, {"run_id", resp->run_id()}, {"cancel_requested", true}},
                 "requested cancellation of workflow '" + wid + "' (run " + resp->run_id() + ")");
  }
  if (show->parsed()) {
    auto resp = c->history(g.ns, wid, run_id);
    if (!resp) return failed(resp.error());
    if (g.json) {
      std::cout << cli::to_json(*resp).dump(2) << "\n";
    } else {
      for (auto& ev : resp->events()) std::cout << cli::event_line(ev) << "\n";
    }
    return 0;
  }
  if (cstatus->parsed() || cshards->parsed()) {
    auto resp = c->cluster_status(cshards->parsed());
    if (!resp) return failed(resp.error());
    if (g.json) std::cout << cli::to_json(*resp).dump(2) << "\n";
    else std::cout << (cshards->parsed() ? cli::shards_text(*resp) : cli::cluster_text(*resp));
    return 0;
  }
  if (query->parsed()) {
    auto j = nlohmann::json::parse(query_input, nullptr, false);
    if (j.is_discarded()) return usage(g, "--input is not valid JSON: " + query_input);
    auto resp = c->query(g.ns, wid, run_id, query_type, sdk::to_payload(j));
    if (!resp) return failed(resp.error());
    std::cout << cli::payload_text(resp->result()) << "\n";
    return 0;
  }
  if (list->parsed()) {
    pb::ListWorkflowsRequest req;
    req.set_namespace_(g.ns);
    if (!status_filter.empty()) {
      auto st = cli::parse_status(status_filter);
      if (st == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED)
        return usage(g, "--status '" + status_filter + "' is not a status (running, completed, "
                        "failed, canceled, terminated, timed-out, continued-as-new)");
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
        return usage(g, std::string(flag) + " '" + *text
                          + "' is not a time (2026-11-30T10:00:00Z, epoch ms, or a duration ago like 10m)");
      (req.*set)(ms);
    }
    if (!page_token.empty()) {
      auto token = cli::from_hex(page_token);
      if (!token) return usage(g, "--next-page-token '" + page_token + "' is not hex");
      req.set_next_page_token(*token);
    }
    pb::ListWorkflowsResponse all;
    while (true) {
      auto resp = c->list(req);
      if (!resp) return failed(resp.error());
      for (auto& e : *resp->mutable_executions()) *all.add_executions() = std::move(e);
      for (auto& m : resp->missing_nodes())
        if (std::find(all.missing_nodes().begin(), all.missing_nodes().end(), m) == all.missing_nodes().end())
          all.add_missing_nodes(m);
      all.set_next_page_token(resp->next_page_token());
      if (!all_pages || resp->next_page_token().empty()) break;
      req.set_next_page_token(resp->next_page_token());
    }
    if (g.json) {
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
    if (!resp) return failed(resp.error());
    if (g.json) std::cout << cli::to_json(*resp).dump(2) << "\n";
    else std::cout << cli::describe_text(*resp);
    return 0;
  }
  return usage(g, "no command given");
}
