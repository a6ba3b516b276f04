// chronicle workflow list: runs from the visibility index, filtered, a page or all pages.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>

#include "tools/commands.hpp"
#include "tools/render.hpp"

namespace chronicle::cli {

namespace {

// The options of `workflow list`.
struct list_options {
  std::string status, type, prefix, page_token, query, build_id;
  std::string started_after, started_before, closed_after, closed_before;
  int32_t page_size = 0;
  bool all_pages = false;
  bool paused = false;
};

// The filters on a time, each declared and applied from this one table.
struct time_filter {
  const char* flag;
  std::string list_options::*text;
  const char* what;
  void (pb::ListWorkflowsRequest::*set)(int64_t);
};
constexpr time_filter time_filters[] = {
  {"--started-after", &list_options::started_after, "started at or after",
   &pb::ListWorkflowsRequest::set_start_time_from_ms},
  {"--started-before", &list_options::started_before, "started before",
   &pb::ListWorkflowsRequest::set_start_time_to_ms},
  {"--closed-after", &list_options::closed_after, "closed at or after (only closed runs)",
   &pb::ListWorkflowsRequest::set_close_time_from_ms},
  {"--closed-before", &list_options::closed_before, "closed before (only closed runs)",
   &pb::ListWorkflowsRequest::set_close_time_to_ms}};

// Fills the request of `workflow list`; returns what is wrong with an argument.
std::string list_request(const globals& g, const list_options& o, pb::ListWorkflowsRequest& req) {
  req.set_namespace_(g.ns);
  if (!o.status.empty()) {
    auto st = parse_status(o.status);
    if (st == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED)
      return "--status '" + o.status + "' is not a status (running, completed, "
             "failed, canceled, terminated, timed-out, continued-as-new)";
    req.set_status(st);
  }
  req.set_workflow_type(o.type);
  req.set_workflow_id_prefix(o.prefix);
  req.set_query(o.query);
  if (o.paused) {  // the built-in attribute Paused, ANDed with the query
    auto upper = o.query;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper.find("ORDER BY") != std::string::npos || upper.find("GROUP BY") != std::string::npos)
      return "--paused with an ORDER BY / GROUP BY query: write Paused = true in the query";
    req.set_query(o.query.empty() ? "Paused = true" : "Paused = true AND (" + o.query + ")");
  }
  req.set_build_id(o.build_id);
  req.set_page_size(o.page_size);
  auto now = now_ms();
  for (const auto& filter : time_filters) {
    const std::string& text = o.*filter.text;
    if (text.empty()) continue;
    auto ms = parse_time_ms(text, now);
    if (ms < 0)
      return std::string(filter.flag) + " '" + text +
             "' is not a time (2026-11-30T10:00:00Z, epoch ms, or a duration ago like 10m)";
    (req.*filter.set)(ms);
  }
  if (!o.page_token.empty()) {
    auto token = from_hex(o.page_token);
    if (!token) return "--next-page-token '" + o.page_token + "' is not hex";
    req.set_next_page_token(*token);
  }
  return {};
}

// Fetches a page (or with --all every page) and prints the runs; nodes that did not answer are
// named on stderr.
int list_runs(const context& ctx, const list_options& o) {
  pb::ListWorkflowsRequest req;
  auto wrong = list_request(ctx.g, o, req);
  if (!wrong.empty()) return usage(ctx.g, wrong);
  pb::ListWorkflowsResponse all;
  while (true) {
    auto resp = ctx.c.list(req);
    if (!resp) return ctx.failed(resp.error());
    for (auto& e : *resp->mutable_executions()) *all.add_executions() = std::move(e);
    for (auto& m : resp->missing_nodes())
      if (std::find(all.missing_nodes().begin(), all.missing_nodes().end(), m) ==
          all.missing_nodes().end())
        all.add_missing_nodes(m);
    all.set_next_page_token(resp->next_page_token());
    if (!o.all_pages || resp->next_page_token().empty()) break;
    req.set_next_page_token(resp->next_page_token());
  }
  auto j = to_json(all);
  std::string text = list_text(all);
  if (!all.next_page_token().empty()) {
    j["nextPageToken"] = to_hex(all.next_page_token());
    text += "(more: --next-page-token " + to_hex(all.next_page_token()) + ")\n";
  }
  ctx.print_document(j, text);
  for (auto& m : all.missing_nodes())
    std::cerr << "chronicle: warning: node " << m << " did not answer; its runs are missing\n";
  return 0;
}

// Prints the count (and its groups) of `workflow count`.
int count_runs(const context& ctx, const std::string& query) {
  pb::CountWorkflowsRequest req;
  req.set_namespace_(ctx.g.ns);
  req.set_query(query);
  auto resp = ctx.c.count(req);
  if (!resp) return ctx.failed(resp.error());
  std::string text = "count: " + std::to_string(resp->count()) + "\n";
  for (const auto& g : resp->groups())
    text += "  ExecutionStatus=" + g.value() + ": " + std::to_string(g.count()) + "\n";
  ctx.print_document(to_json(*resp), text);
  for (auto& m : resp->missing_nodes())
    std::cerr << "chronicle: warning: node " << m << " did not answer; its runs are not counted\n";
  return 0;
}

}  // namespace

command workflow_count_command(CLI::App* wf, globals& g) {
  auto query = std::make_shared<std::string>();
  auto* sub = wf->add_subcommand("count", "count the runs a list query matches");
  sub->add_option("-q,--query", *query,
                  "a list query (as workflow list --query); GROUP BY ExecutionStatus counts per "
                  "status; empty: every run");
  add_json_flag(sub, g);
  return {sub, with_node([query](const context& ctx) { return count_runs(ctx, *query); })};
}

command workflow_list_command(CLI::App* wf, globals& g) {
  auto o = std::make_shared<list_options>();
  auto* sub = wf->add_subcommand("list", "list runs from the visibility index, newest first");
  sub->add_option("-q,--query", o->query,
                  "a list query: WorkflowType = 'Order' AND ExecutionStatus = 'Running' AND "
                  "CustomerId = 'c-42' AND StartTime > '2026-12-01T00:00:00Z' (docs/semantics.md; "
                  "ANDed with the other filters)");
  sub->add_option("-s,--status", o->status,
                  "only runs with this status (running, completed, failed, canceled, "
                  "terminated, timed-out, continued-as-new)");
  sub->add_option("-t,--type", o->type, "only runs of this workflow type");
  sub->add_option("-p,--prefix", o->prefix, "only workflow IDs starting with this");
  sub->add_option("--build-id", o->build_id,
                  "only runs with a workflow task completed by a worker of this build "
                  "(as --query \"BuildIds = 'X'\")");
  sub->add_flag("--paused", o->paused,
                "only paused runs (as --query \"Paused = true\"; docs/semantics.md \"Pause\")");
  for (const auto& filter : time_filters)
    sub->add_option(filter.flag, (*o).*filter.text,
                    std::string(filter.what) +
                      ": 2026-11-30T10:00:00Z, epoch ms, or a duration ago (10m)");
  sub->add_option("--page-size", o->page_size, "runs per page (default 100)")
    ->check(CLI::Range(1, 1000));
  sub->add_option("--next-page-token", o->page_token, "continue after a previous page (hex)");
  sub->add_flag("--all", o->all_pages, "fetch every page");
  add_json_flag(sub, g);
  return {sub, with_node([o](const context& ctx) { return list_runs(ctx, *o); })};
}

}  // namespace chronicle::cli
