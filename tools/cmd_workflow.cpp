// chronicle workflow ...: start, inspect, wait for and act on workflow executions. One function
// per subcommand declares its options and returns what runs it; add_workflow_commands lists them
// in the order `chronicle workflow --help` shows (list is in cmd_workflow_list.cpp).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <tuple>

#include "tools/commands.hpp"
#include "tools/follow.hpp"
#include "tools/render.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::cli {

namespace {

const std::map<std::string, pb::WorkflowIdReusePolicy>& reuse_policies() {
  static const std::map<std::string, pb::WorkflowIdReusePolicy> policies{
    {"allow-duplicate", pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE},
    {"allow-duplicate-failed-only", pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY},
    {"reject-duplicate", pb::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE},
    {"terminate-if-running", pb::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING}};
  return policies;
}

const std::map<std::string, pb::WorkflowIdConflictPolicy>& conflict_policies() {
  static const std::map<std::string, pb::WorkflowIdConflictPolicy> policies{
    {"fail", pb::WORKFLOW_ID_CONFLICT_POLICY_FAIL},
    {"use-existing", pb::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
    {"terminate-existing", pb::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING}};
  return policies;
}

// The options of start and signal-with-start (the latter has no timeouts and policies).
struct start_options {
  std::string type, queue, workflow_id, input = "null", request_id;
  std::string execution_timeout, run_timeout, reuse_policy, conflict_policy;
  std::string signal_name, signal_input = "null";
  std::vector<std::string> search_attributes, memo;  // NAME=VALUE each
  std::string fairness_key;
  int32_t priority = 0;
};

// The options of the commands that name one run.
struct run_options {
  std::string workflow_id, run_id;
};

void add_start_options(CLI::App* sub, start_options& o, const std::string& input_help) {
  sub->add_option("-t,--type", o.type, "workflow type")->required();
  sub->add_option("-q,--task-queue", o.queue, "task queue")->required();
  sub->add_option("-w,--workflow-id", o.workflow_id, "workflow ID")->required();
  sub->add_option("-i,--input", o.input, input_help)->capture_default_str();
  sub->add_option("--fairness-key", o.fairness_key,
                  "flow control: the key of the run's activities (e.g. a customer ID); a task "
                  "queue with a per-key limit runs at most that many of one key at once");
  sub->add_option("--priority", o.priority,
                  "priority key of the run's workflow and activity tasks: 1 (highest) .. 5 "
                  "(lowest); default 3")
    ->check(CLI::Range(1, 5));
}

// Fills the request of start and signal-with-start; returns what is wrong with an argument.
std::string start_request(const globals& g, const start_options& o, pb::StartWorkflowRequest& req) {
  req.set_namespace_(g.ns);
  req.set_workflow_id(o.workflow_id);
  req.set_workflow_type(o.type);
  req.set_task_queue(o.queue);
  req.set_request_id(o.request_id.empty() ? new_request_id() : o.request_id);
  req.set_identity("chronicle-cli");
  auto input = json_payload(o.input);
  if (!input) return "--input is not valid JSON: " + o.input;
  *req.mutable_input() = std::move(*input);
  for (auto [flag, text, set] :
       {std::tuple{"--execution-timeout", &o.execution_timeout,
                   &pb::StartWorkflowRequest::set_workflow_execution_timeout_ms},
        std::tuple{"--run-timeout", &o.run_timeout,
                   &pb::StartWorkflowRequest::set_workflow_run_timeout_ms}}) {
    if (text->empty()) continue;
    auto ms = parse_duration_ms(*text);
    if (ms < 0) return std::string(flag) + " '" + *text + "' is not a duration (e.g. 30s)";
    (req.*set)(ms);
  }
  for (const auto& text : o.search_attributes) {
    auto field = named_payload(text);
    if (!field) return "--search-attribute '" + text + "' is not NAME=VALUE";
    (*req.mutable_search_attributes()->mutable_indexed_fields())[field->first] = field->second;
  }
  for (const auto& text : o.memo) {
    auto field = named_payload(text);
    if (!field) return "--memo '" + text + "' is not NAME=VALUE";
    (*req.mutable_memo()->mutable_fields())[field->first] = field->second;
  }
  req.set_fairness_key(o.fairness_key);
  req.set_priority(o.priority);
  if (!o.reuse_policy.empty()) req.set_id_reuse_policy(reuse_policies().at(o.reuse_policy));
  if (!o.conflict_policy.empty())
    req.set_id_conflict_policy(conflict_policies().at(o.conflict_policy));
  return {};
}

// The answer of start and signal-with-start: the run ID.
template <class Response>
int started(const context& ctx, const start_options& o, const caf::expected<Response>& resp) {
  if (!resp) return ctx.failed(resp.error(), o.workflow_id);
  return ctx.print({{"run_id", resp->run_id()}, {"started", resp->started()}}, resp->run_id());
}

// The answer of signal, terminate and cancel: the run acted on.
template <class Response>
int acted_on(const context& ctx, const run_options& o, const caf::expected<Response>& resp,
             const char* key, const std::string& done) {
  if (!resp) return ctx.failed(resp.error(), o.workflow_id, o.run_id);
  return ctx.print({{"workflow_id", o.workflow_id}, {"run_id", resp->run_id()}, {key, true}},
                   done + " workflow '" + o.workflow_id + "' (run " + resp->run_id() + ")");
}

command start_command(CLI::App* wf, globals& g) {
  auto o = std::make_shared<start_options>();
  auto* sub = wf->add_subcommand("start", "start a workflow execution; prints its run ID");
  add_start_options(sub, *o, "input as JSON");
  sub->add_option("--request-id", o->request_id, "idempotency key for retried starts");
  sub->add_option("--execution-timeout", o->execution_timeout,
                  "workflow execution timeout, e.g. 30s, 5m, 250ms (default: none)");
  sub->add_option("--run-timeout", o->run_timeout,
                  "workflow run timeout, e.g. 30s (default: none)");
  sub->add_option("--id-reuse-policy", o->reuse_policy,
                  "when the ID's last run is closed (default allow-duplicate)")
    ->check(CLI::IsMember(reuse_policies()));
  sub->add_option("--id-conflict-policy", o->conflict_policy,
                  "when a run of the ID is running (default fail)")
    ->check(CLI::IsMember(conflict_policies()));
  sub->add_option("--search-attribute", o->search_attributes,
                  "NAME=VALUE, repeatable: a search attribute the namespace registers; VALUE is "
                  "JSON (42, true, [\"a\",\"b\"], \"2026-12-01T00:00:00Z\") or else a string");
  sub->add_option("--memo", o->memo, "NAME=VALUE, repeatable: a memo field (VALUE as above)");
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            pb::StartWorkflowRequest req;
            auto wrong = start_request(ctx.g, *o, req);
            if (!wrong.empty()) return usage(ctx.g, wrong);
            return started(ctx, *o, ctx.c.start(req));
          })};
}

command result_command(CLI::App* wf, globals& g) {
  struct options : run_options {
    int64_t timeout_s = 3600;
    bool follow = false;
  };
  auto o = std::make_shared<options>();
  auto* sub = wf->add_subcommand("result", "wait for a workflow's result and print it as JSON");
  add_run_options(sub, o->workflow_id, o->run_id);
  sub->add_option("--timeout", o->timeout_s, "seconds to wait")->capture_default_str()
    ->check(CLI::Range(int64_t{1}, int64_t{365} * 24 * 3600));
  sub->add_flag("-f,--follow", o->follow,
                "print the events as they happen (across continue-as-new), then the result");
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            const globals& g = ctx.g;
            result_request req{g.ns, o->workflow_id, o->run_id, std::chrono::seconds(o->timeout_s)};
            auto resp = o->follow
                          ? follow_result(ctx.c, req, g.json, std::cout, std::cerr)
                          : wait_result(ctx.c, req, isatty(STDERR_FILENO) ? &std::cerr : nullptr);
            if (!resp) return ctx.failed(resp.error(), o->workflow_id, o->run_id);
            if (resp->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) {
              std::cout << payload_text(resp->result()) << "\n";
              return 0;
            }
            auto text = result_failure_text(*resp, o->workflow_id);
            if (!g.json) return fail(g, text);
            auto j = error_json(text);
            j["status"] = status_name(resp->status());
            j["run_id"] = resp->run_id();
            if (resp->has_failure()) j["failure"] = to_json(resp->failure());
            std::cout << j.dump() << "\n";
            return 1;
          })};
}

command show_command(CLI::App* wf, globals& g) {
  auto o = std::make_shared<run_options>();
  auto* sub = wf->add_subcommand("show", "print the event history, one line per event");
  add_run_options(sub, o->workflow_id, o->run_id);
  add_json_flag(sub, g, "print the history as JSON (same as -o json)");
  return {sub, with_node([o](const context& ctx) {
            auto resp = ctx.c.history(ctx.g.ns, o->workflow_id, o->run_id);
            if (!resp) return ctx.failed(resp.error(), o->workflow_id, o->run_id);
            std::string lines;
            for (auto& ev : resp->events()) lines += event_line(ev) + "\n";
            return ctx.print_document(to_json(*resp), lines);
          })};
}

command query_command(CLI::App* wf, globals& g) {
  struct options : run_options {
    std::string type, input = "null";
  };
  auto o = std::make_shared<options>();
  auto* sub =
    wf->add_subcommand("query", "ask a worker a query answered from the workflow's state");
  add_run_options(sub, o->workflow_id, o->run_id);
  sub->add_option("-t,--type", o->type, "query type (a handler registered with on_query)")
    ->required();
  sub->add_option("-i,--input", o->input, "query arguments as JSON")->capture_default_str();
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            auto args = json_payload(o->input);
            if (!args) return usage(ctx.g, "--input is not valid JSON: " + o->input);
            auto resp = ctx.c.query(ctx.g.ns, o->workflow_id, o->run_id, o->type, *args);
            if (!resp) return ctx.failed(resp.error(), o->workflow_id, o->run_id);
            std::cout << payload_text(resp->result()) << "\n";
            return 0;
          })};
}

command describe_command(CLI::App* wf, globals& g) {
  auto o = std::make_shared<run_options>();
  auto* sub = wf->add_subcommand("describe", "ask the admin actor for an execution's state");
  add_run_options(sub, o->workflow_id, o->run_id);
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            auto resp = ctx.c.describe(ctx.g.ns, o->workflow_id, o->run_id);
            if (!resp) return ctx.failed(resp.error(), o->workflow_id, o->run_id);
            return ctx.print_document(to_json(*resp), describe_text(*resp));
          })};
}

command signal_command(CLI::App* wf, globals& g) {
  struct options : run_options {
    std::string name, input = "null";
  };
  auto o = std::make_shared<options>();
  auto* sub = wf->add_subcommand("signal", "send a signal to a running workflow");
  add_run_options(sub, o->workflow_id, o->run_id);
  sub->add_option("--name", o->name, "signal name")->required();
  sub->add_option("-i,--input", o->input, "signal input as JSON")->capture_default_str();
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            auto input = json_payload(o->input);
            if (!input) return usage(ctx.g, "--input is not valid JSON: " + o->input);
            return acted_on(ctx, *o,
                            ctx.c.signal(ctx.g.ns, o->workflow_id, o->run_id, o->name, *input,
                                         "chronicle-cli"),
                            "signaled", "signaled");
          })};
}

command signal_with_start_command(CLI::App* wf, globals& g) {
  auto o = std::make_shared<start_options>();
  auto* sub = wf->add_subcommand(
    "signal-with-start",
    "signal a workflow, starting it first if it is not running; prints its run ID");
  add_start_options(sub, *o, "workflow input as JSON");
  sub->add_option("--name", o->signal_name, "signal name")->required();
  sub->add_option("--signal-input", o->signal_input, "signal input as JSON")
    ->capture_default_str();
  sub->add_option("--request-id", o->request_id, "idempotency key for retried requests");
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            pb::StartWorkflowRequest req;
            auto wrong = start_request(ctx.g, *o, req);
            if (!wrong.empty()) return usage(ctx.g, wrong);
            auto signal_input = json_payload(o->signal_input);
            if (!signal_input)
              return usage(ctx.g, "--signal-input is not valid JSON: " + o->signal_input);
            return started(ctx, *o, ctx.c.signal_with_start(req, o->signal_name, *signal_input));
          })};
}

// update: waits for the update's outcome; update-with-start with --start-type and --task-queue.
command update_command(CLI::App* wf, globals& g) {
  struct options : run_options {
    std::string name, input = "null", update_id, timeout = "60s";
    start_options start;
  };
  auto o = std::make_shared<options>();
  auto* sub = wf->add_subcommand(
    "update", "send an update to a workflow and wait for its handler's result (Workflow Update)");
  add_run_options(sub, o->workflow_id, o->run_id);
  sub->add_option("--name", o->name, "update name (a handler registered with on_update)")
    ->required();
  sub->add_option("-i,--input", o->input, "update input as JSON")->capture_default_str();
  sub->add_option("--update-id", o->update_id,
                  "idempotency key: the same ID gets the same outcome (default: a fresh one)");
  sub->add_option("--timeout", o->timeout, "how long to wait for the outcome, e.g. 60s")
    ->capture_default_str();
  sub->add_option("--start-type", o->start.type,
                  "update-with-start: start a workflow of this type first when none is running");
  sub->add_option("-q,--task-queue", o->start.queue, "update-with-start: its task queue");
  sub->add_option("--start-input", o->start.input, "update-with-start: workflow input as JSON")
    ->capture_default_str();
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            auto input = json_payload(o->input);
            if (!input) return usage(ctx.g, "--input is not valid JSON: " + o->input);
            auto timeout = parse_duration_ms(o->timeout);
            if (timeout <= 0) return usage(ctx.g, "--timeout '" + o->timeout + "' is not a duration");
            pb::UpdateWorkflowRequest req;
            req.set_namespace_(ctx.g.ns);
            req.set_workflow_id(o->workflow_id);
            req.set_run_id(o->run_id);
            req.set_update_id(o->update_id);
            req.set_name(o->name);
            *req.mutable_input() = std::move(*input);
            req.set_identity("chronicle-cli");
            if (!o->start.type.empty() || !o->start.queue.empty()) {
              if (o->start.type.empty() || o->start.queue.empty())
                return usage(ctx.g, "update-with-start needs both --start-type and --task-queue");
              o->start.workflow_id = o->workflow_id;
              auto wrong = start_request(ctx.g, o->start, *req.mutable_start());
              if (!wrong.empty()) return usage(ctx.g, wrong);
            }
            auto resp = ctx.c.update(req, std::chrono::milliseconds(timeout));
            if (!resp) return ctx.failed(resp.error(), o->workflow_id, o->run_id);
            const std::string what = "update '" + o->name + "' of workflow '" + o->workflow_id + "'";
            if (resp->rejected() || resp->has_failure()) {
              nlohmann::json j{{"workflow_id", o->workflow_id}, {"run_id", resp->run_id()},
                               {"update_id", resp->update_id()}, {"rejected", resp->rejected()},
                               {"failure", {{"type", resp->failure().type()},
                                            {"message", resp->failure().message()}}}};
              std::string text = what + (resp->rejected() ? " was rejected: " : " failed: ")
                                 + (resp->failure().type().empty() || resp->rejected()
                                      ? ""
                                      : resp->failure().type() + ": ")
                                 + resp->failure().message();
              if (ctx.g.json) ctx.print(j, text);
              else std::cerr << "chronicle: " << text << "\n";
              return 1;
            }
            if (ctx.g.json)
              return ctx.print({{"workflow_id", o->workflow_id}, {"run_id", resp->run_id()},
                                {"update_id", resp->update_id()}, {"started", resp->started()},
                                {"result", nlohmann::json::parse(payload_text(resp->result()),
                                                                 nullptr, false)}},
                               "");
            std::cout << payload_text(resp->result()) << "\n";
            return 0;
          })};
}

// terminate and cancel: a run and a reason.
command close_command(CLI::App* wf, globals& g, bool terminate) {
  struct options : run_options {
    std::string reason;
  };
  auto o = std::make_shared<options>();
  auto* sub = terminate
                ? wf->add_subcommand("terminate", "close a running workflow at once as Terminated")
                : wf->add_subcommand("cancel", "ask a running workflow to cancel itself");
  add_run_options(sub, o->workflow_id, o->run_id);
  sub->add_option("--reason", o->reason, "why (recorded in the history)");
  add_json_flag(sub, g);
  return {sub, with_node([o, terminate](const context& ctx) {
            const std::string& ns = ctx.g.ns;
            if (terminate)
              return acted_on(
                ctx, *o, ctx.c.terminate(ns, o->workflow_id, o->run_id, o->reason, "chronicle-cli"),
                "terminated", "terminated");
            return acted_on(
              ctx, *o, ctx.c.cancel(ns, o->workflow_id, o->run_id, o->reason, "chronicle-cli"),
              "cancel_requested", "requested cancellation of");
          })};
}

// pause and unpause: a run and a reason.
command pause_command(CLI::App* wf, globals& g, bool pause) {
  struct options : run_options {
    std::string reason;
  };
  auto o = std::make_shared<options>();
  auto* sub = pause ? wf->add_subcommand("pause", "pause a running workflow: no task of it goes "
                                                   "to a worker until it is unpaused")
                    : wf->add_subcommand("unpause", "unpause a paused workflow: its waiting "
                                                     "tasks go to workers again");
  add_run_options(sub, o->workflow_id, o->run_id);
  sub->add_option("--reason", o->reason, "why (recorded in the history, shown by describe)");
  add_json_flag(sub, g);
  return {sub, with_node([o, pause](const context& ctx) {
            const std::string& ns = ctx.g.ns;
            if (pause)
              return acted_on(
                ctx, *o, ctx.c.pause(ns, o->workflow_id, o->run_id, o->reason, "chronicle-cli"),
                "paused", "paused");
            return acted_on(
              ctx, *o, ctx.c.unpause(ns, o->workflow_id, o->run_id, o->reason, "chronicle-cli"),
              "unpaused", "unpaused");
          })};
}

}  // namespace

void add_workflow_commands(CLI::App& app, globals& g, command_list& out) {
  auto* wf = app.add_subcommand("workflow", "operate on workflow executions");
  wf->require_subcommand(1);
  for (auto* add : {start_command, workflow_list_command, workflow_count_command, result_command, show_command,
                    query_command, describe_command, signal_command, signal_with_start_command,
                    update_command})
    out.push_back(add(wf, g));
  out.push_back(close_command(wf, g, true));
  out.push_back(close_command(wf, g, false));
  out.push_back(workflow_reset_command(wf, g));
  out.push_back(workflow_delete_command(wf, g));
  out.push_back(pause_command(wf, g, true));
  out.push_back(pause_command(wf, g, false));
}

}  // namespace chronicle::cli
