// chronicle activity complete|fail|heartbeat: asynchronous completion of an activity attempt by
// its task token (docs/semantics.md "Asynchronous completion").
#include <iostream>
#include <memory>

#include "tools/commands.hpp"

namespace chronicle::cli {

namespace {

struct token_options {
  std::string token;
  std::string identity = "chronicle-cli";
};

void add_token_options(CLI::App* sub, token_options& o) {
  sub->add_option("--task-token", o.token,
                  "the attempt's task token (the activity's info.task_token)")
    ->required();
  sub->add_option("--identity", o.identity, "who completes it (recorded in the event)")
    ->capture_default_str();
}

// Prints what was done (or, for a heartbeat, whether cancellation was requested).
int done(const context& ctx, const caf::expected<pb::RespondActivityByTokenResponse>& resp,
         const std::string& what) {
  if (!resp) return ctx.failed(resp.error());
  return ctx.print({{"done", what}, {"cancel_requested", resp->cancel_requested()}},
                   what + (resp->cancel_requested() ? " (the workflow asked to cancel it)" : ""));
}

command complete_command(CLI::App* act, globals& g) {
  struct options : token_options {
    std::string result = "null";
  };
  auto o = std::make_shared<options>();
  auto* sub = act->add_subcommand("complete", "complete an activity attempt by its task token");
  add_token_options(sub, *o);
  sub->add_option("--result", o->result, "the activity's result as JSON")->capture_default_str();
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            auto result = json_payload(o->result);
            if (!result) return usage(ctx.g, "--result is not valid JSON: " + o->result);
            return done(ctx, ctx.c.complete_activity(o->token, *result, o->identity), "completed");
          })};
}

command fail_command(CLI::App* act, globals& g) {
  struct options : token_options {
    std::string reason, type = "AsyncActivityFailure";
    bool non_retryable = false;
  };
  auto o = std::make_shared<options>();
  auto* sub = act->add_subcommand(
    "fail", "fail an activity attempt by its task token (retried by the activity's policy)");
  add_token_options(sub, *o);
  sub->add_option("--reason", o->reason, "the failure's message")->required();
  sub->add_option("--type", o->type, "the failure's type")->capture_default_str();
  sub->add_flag("--non-retryable", o->non_retryable, "do not retry the activity");
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            pb::Failure failure;
            failure.set_message(o->reason);
            failure.set_type(o->type);
            failure.set_non_retryable(o->non_retryable);
            failure.set_source("client");
            return done(ctx, ctx.c.fail_activity(o->token, failure, o->identity), "failed");
          })};
}

command heartbeat_command(CLI::App* act, globals& g) {
  struct options : token_options {
    std::string details = "null";
  };
  auto o = std::make_shared<options>();
  auto* sub = act->add_subcommand(
    "heartbeat", "record a heartbeat of an activity attempt by its task token; says whether "
                 "the workflow asked to cancel it");
  add_token_options(sub, *o);
  sub->add_option("--details", o->details, "heartbeat details as JSON")->capture_default_str();
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) {
            auto details = json_payload(o->details);
            if (!details) return usage(ctx.g, "--details is not valid JSON: " + o->details);
            return done(ctx, ctx.c.heartbeat_activity(o->token, *details, o->identity),
                        "heartbeat recorded");
          })};
}

}  // namespace

void add_activity_commands(CLI::App& app, globals& g, command_list& out) {
  auto* act = app.add_subcommand(
    "activity", "complete, fail or heartbeat an activity attempt completed elsewhere (by task token)");
  act->require_subcommand(1);
  out.push_back(complete_command(act, g));
  out.push_back(fail_command(act, g));
  out.push_back(heartbeat_command(act, g));
}

}  // namespace chronicle::cli
