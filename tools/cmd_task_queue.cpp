// chronicle task-queue describe: the workers polling a task queue and the tasks waiting for
// them, as every node that hosts the queue sees it.
#include <algorithm>
#include <cstdio>
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
  for (auto& fc : d.flow_control()) {
    if (fc.activities_per_second() == 0 && fc.max_running_per_key() == 0 && fc.keys().empty())
      continue;
    os << "\nFLOW CONTROL (activities, queue on " << fc.node() << ")\n";
    os << "rate limit: "
       << (fc.activities_per_second() > 0 ? fmt_rate(fc.activities_per_second()) + "/s" : "none")
       << ", running per fairness key: "
       << (fc.max_running_per_key() > 0 ? std::to_string(fc.max_running_per_key()) : "no limit")
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

}  // namespace

void add_task_queue_commands(CLI::App& app, globals& g, command_list& out) {
  auto* tq = app.add_subcommand("task-queue", "look at task queues");
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
}

}  // namespace chronicle::cli
