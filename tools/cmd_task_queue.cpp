// chronicle task-queue describe: the workers polling a task queue and the tasks waiting for
// them, as every node that hosts the queue sees it. chronicle task-queue config set|get: the flow
// limits an operator sets for a queue (docs/semantics.md "Flow control").
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>

#include "tools/commands.hpp"
#include "tools/render.hpp"

namespace chronicle::cli {

namespace {

// "850ms", "12s", "3m05s", "2h01m".
std::string age_text(int64_t ms) {
  char buf[32];
  auto s = ms / 1000;
  if (ms < 1000) std::snprintf(buf, sizeof(buf), "%lldms", static_cast<long long>(ms));
  else if (s < 60) std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  return buf;
}

// "2.5", "10": a rate without trailing zeros.
std::string fmt_rate(double r) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", r);
  return buf;
}

// "2/s (operator)", "none".
std::string limit_text(double v, const std::string& unit, const std::string& source) {
  if (v <= 0) return "none";
  return fmt_rate(v) + unit + (source.empty() ? "" : " (" + source + ")");
}

// The operator's limits of a queue, one per line ("" when none is set).
std::string config_text(const pb::TaskQueueConfig& c) {
  std::ostringstream os;
  if (c.has_activities_per_second())
    os << "activities per second:          " << fmt_rate(c.activities_per_second()) << "\n";
  if (c.has_max_running_per_key())
    os << "max running per fairness key:   " << c.max_running_per_key() << "\n";
  if (c.has_per_key_activities_per_second())
    os << "activities per second per key:  " << fmt_rate(c.per_key_activities_per_second())
       << "\n";
  if (os.str().empty()) return {};
  if (!c.reason().empty()) os << "reason:                         " << c.reason() << "\n";
  if (!c.identity().empty()) os << "set by:                         " << c.identity() << "\n";
  if (c.update_time_ms() > 0)
    os << "set at:                         " << format_time(c.update_time_ms()) << "\n";
  return os.str();
}

std::string config_response_text(const pb::TaskQueueConfigResponse& r) {
  std::ostringstream os;
  os << "Task queue " << r.task_queue() << " (namespace " << r.namespace_() << ")\n";
  auto text = config_text(r.config());
  os << (text.empty() ? "no operator limits (the workers' limits apply, if any)\n" : text);
  if (!r.not_stored_on().empty()) {
    os << "not stored yet on (down; they receive it when they connect):";
    for (auto& n : r.not_stored_on()) os << " " << n;
    os << "\n";
  }
  return os.str();
}

std::string describe_text(const pb::DescribeTaskQueueResponse& d, int64_t now) {
  std::ostringstream os;
  char line[512];
  os << "Task queue " << d.task_queue() << " (namespace " << d.namespace_() << ")";
  if (!d.owner_node().empty()) os << ", placed on " << d.owner_node();
  os << "\n\nBACKLOG\n";
  std::snprintf(line, sizeof(line), "%-9s %8s %10s %9s\n", "KIND", "WAITING", "OLDEST", "IN FLIGHT");
  os << line;
  for (auto& b : d.backlogs()) {
    auto waiting = std::to_string(b.count()) + (b.capped() ? "+" : "");
    std::snprintf(line, sizeof(line), "%-9s %8s %10s %9lld\n", b.kind().c_str(), waiting.c_str(),
                  b.count() > 0 ? age_text(b.oldest_age_ms()).c_str() : "-",
                  static_cast<long long>(b.in_flight()));
    os << line;
  }
  for (auto& b : d.backlogs()) {
    if (b.priorities().empty()) continue;
    os << "waiting " << b.kind() << " tasks by priority:";
    for (auto& p : b.priorities()) os << " " << p.priority() << ":" << p.count();
    os << "\n";
  }
  os << "\nPOLLERS\n";
  if (d.pollers().empty()) {
    os << "(none: no worker is registered with this task queue)\n";
  } else {
    std::snprintf(line, sizeof(line), "%-9s %-28s %-12s %-10s %-10s %11s %10s\n", "KIND",
                  "IDENTITY", "BUILD ID", "NODE", "QUEUE NODE", "FREE SLOTS", "LAST SEEN");
    os << line;
    for (auto& p : d.pollers()) {
      auto slots = std::to_string(p.free_slots()) + "/" + std::to_string(p.slots());
      auto seen = age_text(std::max<int64_t>(0, now - p.last_seen_ms())) + " ago";
      std::snprintf(line, sizeof(line), "%-9s %-28s %-12s %-10s %-10s %11s %10s\n",
                    p.kind().c_str(), p.identity().c_str(),
                    p.build_id().empty() ? "-" : p.build_id().c_str(), p.node().c_str(),
                    p.queue_node().c_str(), slots.c_str(), seen.c_str());
      os << line;
    }
  }
  if (auto text = config_text(d.config()); !text.empty())
    os << "\nOPERATOR LIMITS (task-queue config; they win over the workers')\n" << text;
  for (auto& fc : d.flow_control()) {
    if (fc.activities_per_second() == 0 && fc.max_running_per_key() == 0
        && fc.per_key_activities_per_second() == 0 && fc.keys().empty())
      continue;
    os << "\nFLOW CONTROL (activities, queue on " << fc.node() << ")\n";
    os << "rate limit: "
       << limit_text(fc.activities_per_second(), "/s", fc.activities_per_second_source())
       << ", running per fairness key: "
       << (fc.max_running_per_key() > 0
             ? std::to_string(fc.max_running_per_key())
                 + (fc.max_running_per_key_source().empty()
                      ? ""
                      : " (" + fc.max_running_per_key_source() + ")")
             : "no limit")
       << ", rate per fairness key: "
       << limit_text(fc.per_key_activities_per_second(), "/s",
                     fc.per_key_activities_per_second_source())
       << "\n";
    if (!fc.keys().empty()) {
      std::snprintf(line, sizeof(line), "%-32s %8s %8s\n", "FAIRNESS KEY", "RUNNING", "WAITING");
      os << line;
      for (auto& k : fc.keys()) {
        std::snprintf(line, sizeof(line), "%-32s %8d %8d\n", k.key().c_str(), k.running(),
                      k.waiting());
        os << line;
      }
    }
  }
  if (!d.missing_nodes().empty()) {
    os << "\nnot answered (their part is missing):";
    for (auto& n : d.missing_nodes()) os << " " << n;
    os << "\n";
  }
  return os.str();
}

// The options of task-queue config set.
struct config_options {
  std::string queue, reason;
  double rate = 0, key_rate = 0;
  int32_t max_running = 0;
  CLI::Option *rate_opt = nullptr, *key_rate_opt = nullptr, *max_running_opt = nullptr;
  std::vector<std::string> unset;
};

// --unset's names on the CLI -> the request's.
const std::map<std::string, std::string>& unset_names() {
  static const std::map<std::string, std::string> names = {
    {"activities-per-second", "activities_per_second"},
    {"max-running-per-key", "max_running_per_key"},
    {"per-key-rps", "per_key_activities_per_second"},
    {"all", "all"}};
  return names;
}

void add_config_commands(CLI::App* tq, globals& g, command_list& out) {
  auto* cfg = tq->add_subcommand("config", "flow limits an operator sets for a task queue (they "
                                           "win over the limits its workers register)");
  cfg->require_subcommand(1);
  auto o = std::make_shared<config_options>();
  auto* set = cfg->add_subcommand(
    "set", "set or unset a task queue's activity limits (stored in the cluster, survives restarts)");
  set->add_option("-q,--task-queue", o->queue, "task queue")->required();
  o->rate_opt = set->add_option("--activities-per-second", o->rate,
                  "activities the queue hands out per second (token bucket, burst of one second)");
  o->max_running_opt = set->add_option("--max-running-per-key", o->max_running,
                  "activities of one fairness key running at once");
  o->key_rate_opt = set->add_option("--per-key-rps", o->key_rate,
                  "activities of one fairness key handed out per second");
  set->add_option("--unset", o->unset,
                  "remove a limit (the workers' applies again): activities-per-second, "
                  "max-running-per-key, per-key-rps or all; repeatable")
    ->check(CLI::IsMember({"activities-per-second", "max-running-per-key", "per-key-rps", "all"}));
  set->add_option("--reason", o->reason, "why (shown by config get and task-queue describe)");
  add_json_flag(set, g);
  out.push_back({set, with_node([o](const context& ctx) {
                   pb::SetTaskQueueConfigRequest req;
                   req.set_namespace_(ctx.g.ns);
                   req.set_task_queue(o->queue);
                   bool rate = o->rate_opt->count() > 0, key_rate = o->key_rate_opt->count() > 0,
                        max_running = o->max_running_opt->count() > 0;
                   if (rate) req.set_activities_per_second(o->rate);
                   if (max_running) req.set_max_running_per_key(o->max_running);
                   if (key_rate) req.set_per_key_activities_per_second(o->key_rate);
                   for (auto& u : o->unset) req.add_unset(unset_names().at(u));
                   if (!rate && !max_running && !key_rate && o->unset.empty())
                     return usage(ctx.g, "nothing to change: give --activities-per-second, "
                                         "--max-running-per-key, --per-key-rps or --unset");
                   req.set_reason(o->reason);
                   req.set_identity("chronicle-cli");
                   auto resp = ctx.c.set_task_queue_config(req);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), config_response_text(*resp));
                 })});
  auto queue = std::make_shared<std::string>();
  auto* get = cfg->add_subcommand("get", "the limits an operator set for a task queue");
  get->add_option("-q,--task-queue", *queue, "task queue")->required();
  add_json_flag(get, g);
  out.push_back({get, with_node([queue](const context& ctx) {
                   auto resp = ctx.c.get_task_queue_config(ctx.g.ns, *queue);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), config_response_text(*resp));
                 })});
}

}  // namespace

void add_task_queue_commands(CLI::App& app, globals& g, command_list& out) {
  auto* tq = app.add_subcommand("task-queue", "look at task queues, set their flow limits");
  tq->require_subcommand(1);
  auto* describe = tq->add_subcommand(
    "describe", "a task queue's pollers (workers) and backlog per kind, across the cluster");
  auto queue = std::make_shared<std::string>();
  describe->add_option("-q,--task-queue", *queue, "task queue")->required();
  add_json_flag(describe, g);
  out.push_back({describe, with_node([queue](const context& ctx) {
                   auto resp = ctx.c.describe_task_queue(ctx.g.ns, *queue);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), describe_text(*resp, now_ms()));
                 })});
  add_config_commands(tq, g, out);
}

}  // namespace chronicle::cli
