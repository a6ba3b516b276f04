// chronicle schedule create|describe|list|update|pause|unpause|trigger|backfill|delete
// (docs/schedules.md).
#include <memory>
#include <sstream>

#include "protocol/search_attributes.hpp"
#include "shards/schedule_spec.hpp"
#include "tools/commands.hpp"
#include "tools/render.hpp"

namespace chronicle::cli {

namespace {

const std::pair<const char*, pb::ScheduleOverlapPolicy> overlap_names[] = {
  {"skip", pb::SCHEDULE_OVERLAP_POLICY_SKIP},
  {"buffer-one", pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
  {"buffer-all", pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
  {"cancel-other", pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
  {"terminate-other", pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
  {"allow-all", pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
};

std::string overlap_name(pb::ScheduleOverlapPolicy p) {
  for (auto& [name, value] : overlap_names)
    if (value == p) return name;
  return "skip";
}

std::vector<std::string> overlap_choices() {
  std::vector<std::string> out;
  for (auto& [name, value] : overlap_names) out.emplace_back(name);
  return out;
}

pb::ScheduleOverlapPolicy overlap_of(const std::string& text) {
  for (auto& [name, value] : overlap_names)
    if (text == name) return value;
  return pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED;
}

// The options of create and update.
struct definition_options {
  std::string workflow_type, task_queue, input, time_zone, jitter, start_time, end_time;
  std::string overlap = "skip", catchup, note, execution_timeout, run_timeout;
  std::vector<std::string> crons, intervals, calendars, excludes;
  bool paused = false;

  void declare(CLI::App* sub) {
    sub->add_option("-t,--type", workflow_type, "workflow type each action starts")->required();
    sub->add_option("-q,--task-queue", task_queue, "task queue of the workflows")->required();
    sub->add_option("-i,--input", input, "workflow input (JSON)");
    sub->add_option("--cron", crons,
                    "cron string: 5 fields, @hourly/@daily/..., or '@every 1h/15m' (repeatable)");
    sub->add_option("--interval", intervals, "every[/offset], e.g. 1h/15m or 30s (repeatable)");
    sub->add_option("--calendar", calendars,
                    "calendar: 'hour=9-17/2 minute=30 day_of_week=MON-FRI' (repeatable)");
    sub->add_option("--exclude-calendar", excludes, "times to skip, as --calendar (repeatable)");
    sub->add_option("--time-zone", time_zone, "tz database name for cron and calendars (default UTC)");
    sub->add_option("--jitter", jitter, "delay each action by up to this, e.g. 30s");
    sub->add_option("--start-time", start_time, "no action before this time (RFC 3339)");
    sub->add_option("--end-time", end_time, "no action after this time (RFC 3339)");
    sub->add_option("--overlap", overlap, "overlap policy")
      ->check(CLI::IsMember(overlap_choices()))
      ->capture_default_str();
    sub->add_option("--catchup-window", catchup,
                    "missed actions at most this late are still taken (default 1 year)");
    sub->add_option("--execution-timeout", execution_timeout, "workflow execution timeout");
    sub->add_option("--run-timeout", run_timeout, "workflow run timeout");
    sub->add_flag("--paused", paused, "create it paused");
    sub->add_option("--note", note, "a note (shown by describe)");
  }

  // The definition, or "" and the problem.
  std::optional<pb::ScheduleDefinition> build(std::string* why) const {
    pb::ScheduleDefinition d;
    auto* spec = d.mutable_spec();
    for (auto& c : crons) spec->add_cron(c);
    for (auto& text : intervals) {
      auto iv = schedules::parse_interval(text, why);
      if (!iv) return std::nullopt;
      *spec->add_interval() = *iv;
    }
    for (auto& [texts, add] : {std::pair{&calendars, &pb::ScheduleSpec::add_calendar},
                               std::pair{&excludes, &pb::ScheduleSpec::add_exclude_calendar}})
      for (auto& text : *texts) {
        auto cal = schedules::parse_calendar(text, why);
        if (!cal) return std::nullopt;
        *(spec->*add)() = *cal;
      }
    spec->set_time_zone(time_zone);
    for (auto& [text, set] : {std::pair{&jitter, &pb::ScheduleSpec::set_jitter_ms}}) {
      if (text->empty()) continue;
      auto ms = schedules::parse_duration_ms(*text, why);
      if (!ms) return std::nullopt;
      (spec->*set)(*ms);
    }
    for (auto& [text, set] : {std::pair{&start_time, &pb::ScheduleSpec::set_start_time_ms},
                              std::pair{&end_time, &pb::ScheduleSpec::set_end_time_ms}}) {
      if (text->empty()) continue;
      auto ms = search::parse_time(*text);
      if (!ms) {
        *why = "'" + *text + "' is not an RFC 3339 time (e.g. 2026-12-01T09:00:00Z)";
        return std::nullopt;
      }
      (spec->*set)(*ms);
    }
    auto* a = d.mutable_action();
    a->set_workflow_type(workflow_type);
    a->set_task_queue(task_queue);
    if (!input.empty()) {
      auto p = json_payload(input);
      if (!p) {
        *why = "--input is not JSON";
        return std::nullopt;
      }
      *a->mutable_input() = *p;
    }
    for (auto& [text, set] : {std::pair{&execution_timeout, &pb::ScheduleAction::set_workflow_execution_timeout_ms},
                              std::pair{&run_timeout, &pb::ScheduleAction::set_workflow_run_timeout_ms}}) {
      if (text->empty()) continue;
      auto ms = schedules::parse_duration_ms(*text, why);
      if (!ms) return std::nullopt;
      (a->*set)(*ms);
    }
    d.mutable_policies()->set_overlap(overlap_of(overlap));
    if (!catchup.empty()) {
      auto ms = schedules::parse_duration_ms(catchup, why);
      if (!ms) return std::nullopt;
      d.mutable_policies()->set_catchup_window_ms(*ms);
    }
    d.set_paused(paused);
    d.set_note(note);
    return d;
  }
};

std::string action_line(const pb::ScheduleActionResult& a) {
  std::ostringstream os;
  os << "  " << format_time(a.actual_time_ms()) << "  " << a.workflow_id();
  if (!a.run_id().empty()) os << "  run " << a.run_id();
  os << "  " << status_name(a.status()) << (a.manual() ? "  (manual)" : "");
  return os.str();
}

std::string describe_text(const pb::ScheduleDescription& d) {
  std::ostringstream os;
  auto& def = d.definition();
  auto& info = d.info();
  os << "Schedule       " << d.schedule_id() << " (namespace " << d.namespace_() << ")\n"
     << "State          " << (def.paused() ? "paused" : "active");
  if (!def.note().empty()) os << "  note: " << def.note();
  os << "\nAction         start " << def.action().workflow_type() << " on task queue "
     << def.action().task_queue() << "\n";
  auto& spec = def.spec();
  for (auto& c : spec.cron()) os << "Cron           " << c << "\n";
  for (auto& iv : spec.interval())
    os << "Interval       every " << iv.every_ms() << " ms, offset " << iv.offset_ms() << " ms\n";
  if (spec.calendar_size() > 0) os << "Calendars      " << spec.calendar_size() << "\n";
  if (!spec.time_zone().empty()) os << "Time zone      " << spec.time_zone() << "\n";
  if (spec.jitter_ms() > 0) os << "Jitter         " << spec.jitter_ms() << " ms\n";
  os << "Overlap        " << overlap_name(def.policies().overlap()) << "\n"
     << "Actions        " << info.action_count() << " taken, " << info.missed_catchup_window()
     << " missed (catch-up window), " << info.overlap_skipped() << " skipped (overlap), "
     << info.buffered() << " buffered\n";
  os << "Next runs\n";
  if (info.next_action_times_ms().empty()) os << "  (none)\n";
  for (auto t : info.next_action_times_ms()) os << "  " << format_time(t) << "\n";
  os << "Running\n";
  if (info.running().empty()) os << "  (none)\n";
  for (auto& a : info.running()) os << action_line(a) << "\n";
  os << "Recent actions\n";
  if (info.recent_actions().empty()) os << "  (none)\n";
  for (auto& a : info.recent_actions()) os << action_line(a) << "\n";
  return os.str();
}

std::string list_text(const pb::ListSchedulesResponse& l) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof line, "%-32s %-8s %-24s %-8s %s\n", "SCHEDULE", "STATE", "WORKFLOW TYPE",
                "ACTIONS", "NEXT RUN");
  os << line;
  for (auto& d : l.schedules()) {
    auto next = d.info().next_action_times_ms().empty() ? std::string("-")
                                                       : format_time(d.info().next_action_times_ms(0));
    std::snprintf(line, sizeof line, "%-32s %-8s %-24s %-8lld %s\n", d.schedule_id().c_str(),
                  d.definition().paused() ? "paused" : "active",
                  d.definition().action().workflow_type().c_str(),
                  static_cast<long long>(d.info().action_count()), next.c_str());
    os << line;
  }
  if (!l.unreachable().empty()) {
    os << "\nnot answered (their schedules are missing):";
    for (auto& n : l.unreachable()) os << " " << n;
    os << "\n";
  }
  return os.str();
}

int print_schedule(const context& ctx, const caf::expected<pb::ScheduleDescription>& d) {
  if (!d) return ctx.failed(d.error());
  return ctx.print_document(to_json(*d), describe_text(*d));
}

// create and update: the same options, a different request.
void add_definition_command(CLI::App* sched, globals& g, command_list& out, bool create) {
  auto* sub = sched->add_subcommand(create ? "create" : "update",
                                    create ? "create a schedule" : "replace a schedule's spec, action and policies");
  auto id = std::make_shared<std::string>();
  auto opts = std::make_shared<definition_options>();
  sub->add_option("-s,--schedule-id", *id, "schedule ID")->required();
  opts->declare(sub);
  add_json_flag(sub, g);
  out.push_back({sub, [id, opts, create](const globals& g) {
                   std::string why;
                   auto def = opts->build(&why);
                   if (!def) return usage(g, why);
                   return with_node([&](const context& ctx) {
                     if (create) {
                       pb::CreateScheduleRequest req;
                       req.set_namespace_(ctx.g.ns);
                       req.set_schedule_id(*id);
                       *req.mutable_definition() = *def;
                       return print_schedule(ctx, ctx.c.create_schedule(req));
                     }
                     pb::UpdateScheduleRequest req;
                     req.set_namespace_(ctx.g.ns);
                     req.set_schedule_id(*id);
                     *req.mutable_definition() = *def;
                     return print_schedule(ctx, ctx.c.update_schedule(req));
                   })(g);
                 }});
}

// pause, unpause, trigger, backfill: a patch.
void add_patch_command(CLI::App* sched, globals& g, command_list& out, const std::string& name,
                       const std::string& help) {
  auto* sub = sched->add_subcommand(name, help);
  auto id = std::make_shared<std::string>();
  auto note = std::make_shared<std::string>();
  auto overlap = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
  sub->add_option("-s,--schedule-id", *id, "schedule ID")->required();
  if (name == "pause" || name == "unpause") sub->add_option("--note", *note, "why");
  if (name == "trigger" || name == "backfill")
    sub->add_option("--overlap", *overlap, "overlap policy (default: the schedule's)")
      ->check(CLI::IsMember(overlap_choices()));
  if (name == "backfill") {
    sub->add_option("--start-time", *from, "first time of the range (RFC 3339)")->required();
    sub->add_option("--end-time", *to, "last time of the range (RFC 3339)")->required();
  }
  add_json_flag(sub, g);
  out.push_back({sub, [=](const globals& g) {
                   pb::PatchScheduleRequest req;
                   req.set_namespace_(g.ns);
                   req.set_schedule_id(*id);
                   req.set_note(*note);
                   req.set_overlap(overlap_of(*overlap));
                   req.set_pause(name == "pause");
                   req.set_unpause(name == "unpause");
                   req.set_trigger(name == "trigger");
                   if (name == "backfill") {
                     auto a = search::parse_time(*from), b = search::parse_time(*to);
                     if (!a || !b) return usage(g, "--start-time and --end-time take RFC 3339 times");
                     req.set_backfill_start_ms(*a);
                     req.set_backfill_end_ms(*b);
                   }
                   return with_node([&](const context& ctx) {
                     return print_schedule(ctx, ctx.c.patch_schedule(req));
                   })(g);
                 }});
}

}  // namespace

void add_schedule_commands(CLI::App& app, globals& g, command_list& out) {
  auto* sched = app.add_subcommand("schedule", "schedules: start workflows at times of a spec");
  sched->require_subcommand(1);
  add_definition_command(sched, g, out, true);
  auto id = std::make_shared<std::string>();
  auto* describe = sched->add_subcommand("describe", "a schedule: spec, next runs, recent actions");
  describe->add_option("-s,--schedule-id", *id, "schedule ID")->required();
  add_json_flag(describe, g);
  out.push_back({describe, with_node([id](const context& ctx) {
                   return print_schedule(ctx, ctx.c.describe_schedule(ctx.g.ns, *id));
                 })});
  auto* list = sched->add_subcommand("list", "the namespace's schedules");
  add_json_flag(list, g);
  out.push_back({list, with_node([](const context& ctx) {
                   auto resp = ctx.c.list_schedules(ctx.g.ns);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), list_text(*resp));
                 })});
  add_definition_command(sched, g, out, false);
  add_patch_command(sched, g, out, "pause", "pause a schedule (no action is taken until unpaused)");
  add_patch_command(sched, g, out, "unpause", "unpause a schedule (from now on)");
  add_patch_command(sched, g, out, "trigger", "take an action now");
  add_patch_command(sched, g, out, "backfill", "take the actions of a past time range");
  auto del_id = std::make_shared<std::string>();
  auto* del = sched->add_subcommand("delete", "delete a schedule (its running workflows go on)");
  del->add_option("-s,--schedule-id", *del_id, "schedule ID")->required();
  add_json_flag(del, g);
  out.push_back({del, with_node([del_id](const context& ctx) {
                   auto d = ctx.c.delete_schedule(ctx.g.ns, *del_id);
                   if (!d) return ctx.failed(d.error());
                   return ctx.print(to_json(*d), "schedule '" + *del_id + "' deleted");
                 })});
}

}  // namespace chronicle::cli
