// chronicle batch start|describe|list|stop (docs/operations.md "Batch operations"): terminate,
// cancel, signal or reset every run a list query matches, as a durable job on the cluster.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "shards/batch_job.hpp"
#include "tools/commands.hpp"
#include "tools/render.hpp"

namespace chronicle::cli {

namespace {

std::string state_name(pb::BatchJobState s) {
  switch (s) {
    case pb::BATCH_JOB_STATE_COLLECTING: return "Collecting";
    case pb::BATCH_JOB_STATE_RUNNING: return "Running";
    case pb::BATCH_JOB_STATE_COMPLETED: return "Completed";
    case pb::BATCH_JOB_STATE_STOPPED: return "Stopped";
    default: return "Unknown";
  }
}

std::string describe_text(const pb::BatchJobDescription& d) {
  std::ostringstream os;
  auto& def = d.definition();
  os << "Batch job      " << def.job_id() << " (namespace " << def.namespace_() << ")\n"
     << "Operation      " << batch_operation_name(def.operation()) << "\n"
     << "Query          " << def.query() << "\n"
     << "State          " << state_name(d.state()) << "\n"
     << "Rate           " << (def.rps() > 0 ? def.rps() : default_batch_rps) << " per second\n";
  if (!def.reason().empty()) os << "Reason         " << def.reason() << "\n";
  os << "Progress       " << d.position() << " of " << d.total()
     << (d.state() == pb::BATCH_JOB_STATE_COLLECTING ? " (collecting)" : "") << ": " << d.done()
     << " done (" << d.already_done() << " already), " << d.failed() << " failed\n"
     << "Started        " << format_time(d.start_time_ms()) << "\n";
  if (d.close_time_ms() > 0) os << "Closed         " << format_time(d.close_time_ms()) << "\n";
  if (!d.stop_reason().empty()) os << "Stop reason    " << d.stop_reason() << "\n";
  if (d.failures_size() > 0) {
    os << "Failures" << (d.failed() > d.failures_size() ? " (the first " + std::to_string(d.failures_size()) + ")" : "")
       << "\n";
    for (auto& f : d.failures())
      os << "  " << f.workflow_id() << "  run " << f.run_id() << "  " << f.reason() << "\n";
  }
  return os.str();
}

std::string list_text(const pb::ListBatchJobsResponse& l) {
  std::ostringstream os;
  char line[768];
  std::snprintf(line, sizeof line, "%-28s %-11s %-16s %-16s %-7s %-7s %s\n", "JOB", "STATE",
                "OPERATION", "PROGRESS", "DONE", "FAILED", "STARTED");
  os << line;
  for (auto& d : l.jobs()) {
    auto progress = std::to_string(d.position()) + "/" + std::to_string(d.total());
    std::snprintf(line, sizeof line, "%-28s %-11s %-16s %-16s %-7lld %-7lld %s\n",
                  d.definition().job_id().c_str(), state_name(d.state()).c_str(),
                  batch_operation_name(d.definition().operation()).c_str(), progress.c_str(),
                  static_cast<long long>(d.done()), static_cast<long long>(d.failed()),
                  format_time(d.start_time_ms()).c_str());
    os << line;
  }
  if (!l.unreachable().empty()) {
    os << "\nnot answered (their jobs are missing):";
    for (auto& n : l.unreachable()) os << " " << n;
    os << "\n";
  }
  return os.str();
}

int print_job(const context& ctx, const caf::expected<pb::BatchJobDescription>& d) {
  if (!d) return ctx.failed(d.error());
  return ctx.print_document(to_json(*d), describe_text(*d));
}

struct start_options {
  std::string query, operation, signal_name, input, reset_type, reapply = "true", reason, job_id,
    request_id;
  double rps = 0;
  bool yes = false;

  // The request, or nullopt and why (a usage error).
  std::optional<pb::StartBatchJobRequest> build(const std::string& ns, std::string* why) const {
    pb::StartBatchJobRequest req;
    req.set_namespace_(ns);
    req.set_job_id(job_id);
    req.set_request_id(request_id);
    auto* def = req.mutable_definition();
    def->set_query(query);
    def->set_reason(reason);
    def->set_rps(rps);
    def->set_identity("chronicle-cli");
    auto* op = def->mutable_operation();
    bool signal = operation == "signal", reset = operation == "reset";
    if (!signal && (!signal_name.empty() || !input.empty())) {
      *why = "--signal-name and --input go with --operation signal";
      return std::nullopt;
    }
    if (!reset && !reset_type.empty()) {
      *why = "--reset-type goes with --operation reset";
      return std::nullopt;
    }
    if (operation == "terminate") op->mutable_terminate();
    else if (operation == "cancel") op->mutable_cancel();
    else if (signal) {
      if (signal_name.empty()) {
        *why = "--operation signal needs --signal-name";
        return std::nullopt;
      }
      op->mutable_signal()->set_name(signal_name);
      if (!input.empty()) {
        auto p = json_payload(input);
        if (!p) {
          *why = "--input is not JSON";
          return std::nullopt;
        }
        *op->mutable_signal()->mutable_input() = *p;
      }
    } else {
      if (reset_type.empty()) {
        *why = "--operation reset needs --reset-type first|last";
        return std::nullopt;
      }
      op->mutable_reset()->set_reset_type(reset_type == "first" ? pb::RESET_TYPE_FIRST_WORKFLOW_TASK
                                                                 : pb::RESET_TYPE_LAST_WORKFLOW_TASK);
      op->mutable_reset()->set_reapply_type(reapply == "true" ? pb::RESET_REAPPLY_TYPE_SIGNAL
                                                               : pb::RESET_REAPPLY_TYPE_NONE);
    }
    *why = check_batch_definition([&] {
      auto d = *def;
      d.set_job_id(job_id.empty() ? "(generated)" : job_id);
      return d;
    }());
    if (!why->empty()) return std::nullopt;
    return req;
  }
};

// Without --yes: how many runs the query matches now, and a y/N question on a terminal.
bool confirmed(const context& ctx, const start_options& o, const pb::StartBatchJobRequest& req,
               int* code) {
  if (o.yes) return true;
  if (!isatty(STDIN_FILENO)) {
    *code = usage(ctx.g, "batch start asks for a confirmation: add --yes to start without one");
    return false;
  }
  pb::CountWorkflowsRequest count;
  count.set_namespace_(ctx.g.ns);
  auto running = req.definition().operation().has_reset() ? std::string()
                                                          : std::string("ExecutionStatus = 'Running'");
  count.set_query(running.empty() ? o.query : "(" + o.query + ") AND " + running);
  auto n = ctx.c.count(count);
  if (!n) {
    *code = ctx.failed(n.error());
    return false;
  }
  std::cerr << batch_operation_name(req.definition().operation()) << " " << n->count()
            << (running.empty() ? " runs" : " running runs") << " matching: " << o.query
            << "\nStart the batch job? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "y" || answer == "Y" || answer == "yes") return true;
  *code = fail(ctx.g, "not started");
  return false;
}

}  // namespace

void add_batch_commands(CLI::App& app, globals& g, command_list& out) {
  auto* batch = app.add_subcommand(
    "batch", "batch operations: terminate, cancel, signal or reset the runs of a query");
  batch->require_subcommand(1);

  auto o = std::make_shared<start_options>();
  auto* start = batch->add_subcommand("start", "start a batch job (a durable job on the cluster)");
  start->add_option("-q,--query", o->query, "list query of the runs (as workflow list --query)")
    ->required();
  start->add_option("--operation", o->operation, "what to apply to each run")
    ->required()
    ->check(CLI::IsMember({"terminate", "cancel", "signal", "reset"}));
  start->add_option("--signal-name", o->signal_name, "signal: the signal's name");
  start->add_option("-i,--input", o->input, "signal: its input (JSON)");
  start->add_option("--reset-type", o->reset_type, "reset: to the first or last workflow task")
    ->check(CLI::IsMember({"first", "last"}));
  start->add_option("--reapply-signals", o->reapply,
                    "reset: record the signals after the reset point again")
    ->check(CLI::IsMember({"true", "false"}))
    ->capture_default_str();
  start->add_option("--rps", o->rps, "operations per second (default 50)");
  start->add_option("--reason", o->reason, "reason recorded with each operation");
  start->add_option("-j,--job-id", o->job_id, "job ID (default: made by the node)");
  start->add_option("--request-id", o->request_id, "a retry with the same ID finds the same job");
  start->add_flag("-y,--yes", o->yes, "start without asking for a confirmation");
  add_json_flag(start, g);
  out.push_back({start, [o](const globals& g) {
                   std::string why;
                   auto req = o->build(g.ns, &why);
                   if (!req) return usage(g, why);
                   return with_node([&](const context& ctx) {
                     int code = 0;
                     if (!confirmed(ctx, *o, *req, &code)) return code;
                     return print_job(ctx, ctx.c.start_batch(*req));
                   })(g);
                 }});

  auto id = std::make_shared<std::string>();
  auto* describe = batch->add_subcommand("describe", "a batch job: progress and failures");
  describe->add_option("-j,--job-id", *id, "job ID")->required();
  add_json_flag(describe, g);
  out.push_back({describe, with_node([id](const context& ctx) {
                   return print_job(ctx, ctx.c.describe_batch(ctx.g.ns, *id));
                 })});

  auto* list = batch->add_subcommand("list", "the namespace's batch jobs, newest first");
  add_json_flag(list, g);
  out.push_back({list, with_node([](const context& ctx) {
                   auto resp = ctx.c.list_batches(ctx.g.ns);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), list_text(*resp));
                 })});

  auto stop_id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto* stop = batch->add_subcommand("stop", "stop a batch job (the runs not yet done are left as they are)");
  stop->add_option("-j,--job-id", *stop_id, "job ID")->required();
  stop->add_option("--reason", *reason, "why (shown by describe)");
  add_json_flag(stop, g);
  out.push_back({stop, with_node([stop_id, reason](const context& ctx) {
                   return print_job(ctx, ctx.c.stop_batch(ctx.g.ns, *stop_id, *reason, "chronicle-cli"));
                 })});
}

}  // namespace chronicle::cli
