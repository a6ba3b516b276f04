// chronicle workflow reset|delete: a new run from a run's history up to a workflow task, and the
// deletion of a run (docs/semantics.md "Reset", "Delete").
#include <iostream>
#include <memory>

#include "tools/commands.hpp"

namespace chronicle::cli {

command workflow_reset_command(CLI::App* wf, globals& g) {
  struct options {
    std::string workflow_id, run_id, type, reason, request_id;
    int64_t event_id = 0;
    bool reapply_signals = true;
  };
  auto o = std::make_shared<options>();
  auto* sub = wf->add_subcommand(
    "reset", "start a new run from a run's history up to a workflow task (the running run is "
             "terminated); prints the new run ID");
  add_run_options(sub, o->workflow_id, o->run_id);
  auto* type = sub->add_option("--type", o->type,
                               "first: the first workflow task; last: the last completed one")
                 ->check(CLI::IsMember({"first", "last"}));
  auto* event = sub->add_option("--event-id", o->event_id,
                                "a WorkflowTaskCompleted, Failed, TimedOut or Started event ID")
                  ->check(CLI::PositiveNumber);
  type->excludes(event);
  event->excludes(type);
  sub->add_option("--reason", o->reason, "why (recorded in the new run's history)");
  sub->add_option("--reapply-signals", o->reapply_signals,
                  "re-apply the signals recorded after the reset point (default true)");
  sub->add_option("--request-id", o->request_id,
                  "idempotency key: a repeated reset answers the run the first one made");
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            if (o->type.empty() && o->event_id == 0) {
              std::cerr << "error: reset needs --type first|last or --event-id N\n";
              return 2;
            }
            pb::ResetWorkflowRequest req;
            req.set_namespace_(ctx.g.ns);
            req.set_workflow_id(o->workflow_id);
            req.set_run_id(o->run_id);
            if (o->type == "first") req.set_reset_type(pb::RESET_TYPE_FIRST_WORKFLOW_TASK);
            else if (o->type == "last") req.set_reset_type(pb::RESET_TYPE_LAST_WORKFLOW_TASK);
            req.set_event_id(o->event_id);
            req.set_reason(o->reason);
            req.set_identity("chronicle-cli");
            req.set_request_id(o->request_id);
            req.set_reapply_type(o->reapply_signals ? pb::RESET_REAPPLY_TYPE_SIGNAL
                                                    : pb::RESET_REAPPLY_TYPE_NONE);
            auto resp = ctx.c.reset(req);
            if (!resp) return ctx.failed(resp.error(), o->workflow_id, o->run_id);
            return ctx.print({{"workflow_id", o->workflow_id}, {"run_id", resp->run_id()}},
                             "reset workflow '" + o->workflow_id + "': new run "
                               + resp->run_id());
          })};
}

command workflow_delete_command(CLI::App* wf, globals& g) {
  struct options {
    std::string workflow_id, run_id;
  };
  auto o = std::make_shared<options>();
  auto* sub = wf->add_subcommand(
    "delete", "delete a run: its history, state and visibility record (a running run is "
              "terminated first)");
  add_run_options(sub, o->workflow_id, o->run_id);
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            auto resp = ctx.c.delete_workflow(ctx.g.ns, o->workflow_id, o->run_id, "chronicle-cli");
            if (!resp) return ctx.failed(resp.error(), o->workflow_id, o->run_id);
            return ctx.print({{"workflow_id", o->workflow_id}, {"run_id", resp->run_id()},
                              {"deleted", true}},
                             "deleted workflow '" + o->workflow_id + "' (run " + resp->run_id()
                               + ")");
          })};
}

}  // namespace chronicle::cli
