#include "actors/admin/admin_actor.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "actors/node/namespaces.hpp"
#include "actors/admin/ask_peers.hpp"
#include "actors/routing/forwarding.hpp"
#include "actors/routing/routing.hpp"
#include "actors/routing/validation.hpp"
#include "shards/ring.hpp"
#include "storage/keys.hpp"
#include "storage/query.hpp"

namespace chronicle {

namespace {

// Finds the run a request addresses: the given run ID, else the current run.
caf::expected<pb::MutableState> find_run(const node_env& env, std::string ns,
                                         const std::string& wid, const std::string& run_id,
                                         uint32_t* shard) {
  if (ns.empty()) ns = default_namespace;
  auto reason = check_id("workflow ID", wid);
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  *shard = shard_of(ns, wid, env.config.num_shards);
  storage::status st;
  std::string run = run_id;
  if (run.empty()) {
    auto cur = env.store->load_current(*shard, ns, wid, &st);
    if (!st.ok()) return make_error(errc::internal, st.message());
    if (!cur) return make_error(errc::not_found, "workflow '" + wid + "' not found");
    run = cur->run_id();
  }
  auto state = env.store->load_state(storage::run_key{*shard, ns, wid, run}, &st);
  if (!st.ok()) return make_error(errc::internal, st.message());
  if (!state) return make_error(errc::not_found, "run " + run + " of workflow '" + wid + "' not found");
  return std::move(*state);
}

caf::result<std::string> describe(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::DescribeWorkflowRequest>(bytes, "DescribeWorkflowRequest");
  if (!req) return req.error();
  uint32_t shard = 0;
  auto ms = find_run(env, req->namespace_(), req->workflow_id(), req->run_id(), &shard);
  if (!ms) return ms.error();
  pb::DescribeWorkflowResponse resp;
  resp.set_namespace_(ms->namespace_());
  resp.set_workflow_id(ms->workflow_id());
  resp.set_run_id(ms->run_id());
  resp.set_workflow_type(ms->workflow_type());
  resp.set_task_queue(ms->task_queue());
  resp.set_status(ms->status());
  resp.set_start_time_ms(ms->start_time_ms());
  resp.set_close_time_ms(ms->close_time_ms());
  resp.set_history_length(ms->next_event_id() - 1);
  describe_pending_work(*ms, resp);
  if (ms->has_parent()) *resp.mutable_parent() = ms->parent();
  resp.set_continued_from_run_id(ms->continued_from_run_id());
  resp.set_continued_to_run_id(ms->continued_to_run_id());
  resp.set_reset_to_run_id(ms->reset_to_run_id());
  resp.set_reset_from_run_id(ms->reset_from_run_id());
  resp.set_reset_event_id(ms->reset_event_id());
  if (ms->has_workflow_task()) {
    resp.set_pending_workflow_task(ms->workflow_task().started_event_id() ? "started" : "scheduled");
    resp.set_workflow_task_attempt(ms->workflow_task().attempt());
  }
  if (ms->has_last_workflow_task_failure())
    *resp.mutable_last_workflow_task_failure() = ms->last_workflow_task_failure();
  resp.set_execution_timeout_time_ms(ms->workflow_timeout_fire_ms());
  resp.set_most_recent_build_id(ms->most_recent_build_id());
  resp.mutable_build_ids()->CopyFrom(ms->build_ids());
  resp.set_paused(ms->paused());
  resp.set_pause_reason(ms->pause_reason());
  resp.set_pause_identity(ms->pause_identity());
  resp.set_pause_time_ms(ms->pause_time_ms());
  resp.set_fairness_key(ms->fairness_key());
  resp.set_priority(ms->priority());
  resp.set_shard(static_cast<int32_t>(shard));
  resp.set_owner_node(env.config.name);
  return encode(resp);
}

// The run's events after req.after_event_id, as on disk now, with its status and last event.
caf::expected<pb::GetHistoryResponse> read_history(const node_env& env,
                                                   const pb::GetHistoryRequest& req) {
  uint32_t shard = 0;
  auto ms = find_run(env, req.namespace_(), req.workflow_id(), req.run_id(), &shard);
  if (!ms) return ms.error();
  std::vector<pb::HistoryEvent> events;
  auto st = env.store->read_history_after(
    storage::run_key{shard, ms->namespace_(), ms->workflow_id(), ms->run_id()},
    req.after_event_id(), &events);
  if (!st.ok()) return make_error(errc::internal, st.message());
  pb::GetHistoryResponse resp;
  resp.set_run_id(ms->run_id());
  resp.set_status(ms->status());
  // The state was read before the history: a write in between may have added events.
  resp.set_last_event_id(ms->next_event_id() - 1);
  if (!events.empty())
    resp.set_last_event_id(std::max(resp.last_event_id(), events.back().event_id()));
  for (auto& ev : events) *resp.add_events() = std::move(ev);
  return resp;
}

void deliver_history(caf::response_promise& rp, const node_env& env,
                     const pb::GetHistoryRequest& req) {
  auto resp = read_history(env, req);
  if (resp) rp.deliver(encode(*resp));
  else rp.deliver(resp.error());
}

constexpr int64_t max_history_wait_ms = 600'000;

// A history request on the node owning the run's shard. A long poll (wait_ms) with nothing to
// read yet waits in the run's execution actor (history_wait_atom through the frontend), which
// answers once events after after_event_id are durable, the run closed, or the wait ended; the
// events are then read from the store here.
caf::result<caf::message> history(caf::event_based_actor* self, const env_ptr& env,
                                  const std::string& bytes) {
  auto req = decode<pb::GetHistoryRequest>(bytes, "GetHistoryRequest");
  if (!req) return req.error();
  if (req->after_event_id() < 0)
    return make_error(errc::invalid_argument, "after_event_id must not be negative");
  if (req->wait_ms() < 0 || req->wait_ms() > max_history_wait_ms)
    return make_error(errc::invalid_argument, "wait_ms must be in 0.."
                                                + std::to_string(max_history_wait_ms));
  auto resp = read_history(*env, *req);
  if (!resp) return resp.error();
  if (!resp->events().empty() || resp->status() != pb::WORKFLOW_EXECUTION_STATUS_RUNNING
      || req->wait_ms() == 0)
    return caf::make_message(encode(*resp));
  req->set_run_id(resp->run_id());  // the run read, even if another one starts meanwhile
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);  // routes like the run
  auto rp = self->make_response_promise();
  self->request(env->frontend, std::chrono::milliseconds(req->wait_ms()),
                history_wait_atom::value, encode(*req))
    .then(
      [=](const std::string&) mutable { deliver_history(rp, *env, *req); },
      [=](caf::error& err) mutable {
        if (err == caf::sec::request_timeout) return deliver_history(rp, *env, *req);
        // The execution went away (its shard stopped serving, e.g. a leader change): the
        // client asks again, wherever the run is served now.
        if (chronicle_code(err) == 0)
          err = make_error(errc::unavailable, "history wait of workflow '" + req->workflow_id()
                                                + "' interrupted: " + error_text(err));
        rp.deliver(err);
      });
  return caf::delegated<caf::message>{};
}

// The run counts of this node's shards, each counted again no sooner than count_cost_factor
// times what its last count took: a count reads all of the shard's current-run records, and a
// status is asked in loops (the web UI's cluster page every 5 s, monitoring scripts), so a large
// shard's counts take at most ~1/10 of the admin actor's time (and may be that much older).
struct run_counts {
  static constexpr int64_t count_cost_factor = 10;
  struct one {
    uint64_t open = 0, closed = 0;
    int64_t at_us = 0, cost_us = 0;
    bool have = false;
  };
  std::map<uint32_t, one> shards;

  storage::status count(const node_env& env, uint32_t shard, uint64_t* open, uint64_t* closed) {
    auto us = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
    };
    auto& c = shards[shard];
    auto now = us();
    if (c.have && now - c.at_us < count_cost_factor * c.cost_us) {
      *open = c.open;
      *closed = c.closed;
      return {};
    }
    auto st = env.store->count_runs(shard, open, closed);
    if (!st.ok()) return st;
    auto done = us();
    c = one{*open, *closed, done, done - now, true};
    return {};
  }
};
using counts_ptr = std::shared_ptr<run_counts>;

// This node's own status; with per-shard counts when `with_shards`.
pb::NodeStatus local_status(const node_env& env, run_counts& counts, bool with_shards) {
  pb::NodeStatus ns;
  ns.set_node(env.config.name);
  ns.set_address(env.config.host + ":" + std::to_string(env.config.port));
  ns.set_up(true);
  ns.set_uptime_ms(now_ms() - env.started_at_ms);
  for (auto& m : env.member_list) ns.add_members(m);
  for (uint32_t shard = 0; shard < env.config.num_shards; ++shard) {
    if (!env.owns_shard(shard)) continue;
    ns.set_shards_owned(ns.shards_owned() + 1);
    uint64_t open = 0, closed = 0;
    // A replicated shard's runs are counted by its leader only (every replica holds them).
    if (env.answers_for(shard)) {
      auto st = counts.count(env, shard, &open, &closed);
      if (!st.ok()) ns.set_error(st.message());
    }
    ns.set_workflows_open(ns.workflows_open() + open);
    ns.set_workflows_closed(ns.workflows_closed() + closed);
    if (with_shards) {
      auto* c = ns.add_shards();
      c->set_shard(shard);
      c->set_node(env.config.name);
      c->set_open(open);
      c->set_closed(closed);
      c->set_available(env.shard_ready[shard].load());
    }
  }
  return ns;
}

// This node's status (local_status) with, for replicated shards, each local replica's view
// (leader, term, indexes, the digest when asked) asked of its shard actor, which owns the group.
void with_local_status(caf::event_based_actor* self, const env_ptr& env, const counts_ptr& counts,
                       const pb::ClusterStatusRequest& req,
                       std::function<void(pb::NodeStatus)> done) {
  auto ns = std::make_shared<pb::NodeStatus>(local_status(*env, *counts, req.with_shards()));
  bool with_digests = req.with_digests();
  auto pending = std::make_shared<int>(ns->shards_size());
  if (!env->replicated() || *pending == 0) return done(std::move(*ns));
  for (int i = 0; i < ns->shards_size(); ++i) {
    auto one = [=] {
      if (--*pending == 0) done(std::move(*ns));
    };
    self->request(env->shards.at(ns->shards(i).shard()), std::chrono::seconds(2),
                  cluster_atom::value, with_digests)
      .then(
        [=](const std::string& bytes) {
          ns->mutable_shards(i)->mutable_replication()->ParseFromString(bytes);
          one();
        },
        [=](caf::error&) { one(); });
  }
}

// A down member as seen from here, with the shards it would own.
pb::NodeStatus down_status(const node_env& env, const member_config& m, bool with_shards) {
  auto info = env.peers->info(m.name);
  pb::NodeStatus ns;
  ns.set_node(m.name);
  ns.set_address(m.host + ":" + std::to_string(m.port));
  ns.set_up(false);
  ns.set_error(info.error);
  for (uint32_t shard = 0; shard < env.config.num_shards; ++shard) {
    if (env.ring->shard_owner(shard) != m.name) continue;
    ns.set_shards_owned(ns.shards_owned() + 1);
    if (with_shards) {
      auto* c = ns.add_shards();
      c->set_shard(shard);
      c->set_node(m.name);
      c->set_available(false);
    }
  }
  return ns;
}

// Gathers every member's status: its own answer when up, else what this node knows.
void cluster_status(caf::event_based_actor* self, const env_ptr& env, const counts_ptr& counts,
                    const std::string& bytes) {
  auto req = decode<pb::ClusterStatusRequest>(bytes, "ClusterStatusRequest");
  auto rp = self->make_response_promise();
  if (!req) {
    rp.deliver(req.error());
    return;
  }
  struct gather {
    pb::ClusterStatusResponse resp;
    size_t pending = 0;
  };
  auto g = std::make_shared<gather>();
  g->resp.set_answered_by(env->config.name);
  g->resp.set_num_shards(env->config.num_shards);
  auto finish = [g, rp]() mutable {
    auto& nodes = *g->resp.mutable_nodes();
    std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.node() < b.node(); });
    rp.deliver(encode(g->resp));
  };
  std::vector<std::pair<member_config, caf::actor>> asks;
  for (auto& m : env->config.members) {
    if (m.name == env->config.name) continue;
    if (auto peer = env->peers->peer(m.name)) asks.emplace_back(m, *peer);
    else *g->resp.add_nodes() = down_status(*env, m, req->with_shards());
  }
  g->pending = asks.size() + 1;  // the peers asked and this node
  with_local_status(self, env, counts, *req, [g, finish](pb::NodeStatus ns) mutable {
    *g->resp.add_nodes() = std::move(ns);
    if (--g->pending == 0) finish();
  });
  for (auto& [m, peer] : asks) {
    auto member = m;
    self->request(peer, std::chrono::seconds(3), fwd_atom::value,
                  caf::atom_value{cluster_atom::value}, bytes)
      .then(
        [=](const std::string& reply) mutable {
          auto ns = decode<pb::NodeStatus>(reply, "NodeStatus");
          if (ns) *g->resp.add_nodes() = std::move(*ns);
          else *g->resp.add_nodes() = down_status(*env, member, req->with_shards());
          if (--g->pending == 0) finish();
        },
        [=](caf::error& err) mutable {
          auto ns = down_status(*env, member, req->with_shards());
          ns.set_error("no answer: " + error_text(err));
          *g->resp.add_nodes() = std::move(ns);
          if (--g->pending == 0) finish();
        });
  }
}

// ---- visibility: list ----------------------------------------------------------------------

constexpr int default_page_size = 100;
constexpr int max_page_size = 1000;

// One list answer before it is cut to a page: entries in visibility order (newest first), each
// with its position; `more` when a source held further matching entries.
struct list_part {
  std::vector<std::pair<std::string, pb::WorkflowExecutionInfo>> items;
  bool more = false;
};

// "" or why `ns` cannot be listed or counted: not registered (docs/operations.md "Namespaces").
std::string check_namespace(const node_env& env, const std::string& ns) {
  if (auto r = check_id("namespace", ns); !r.empty()) return r;
  if (!env.config.namespace_known(ns)) return unknown_namespace(ns);
  return {};
}

std::string check_list(const node_env& env, pb::ListWorkflowsRequest& req) {
  if (req.namespace_().empty()) req.set_namespace_(default_namespace);
  if (auto r = check_namespace(env, req.namespace_()); !r.empty()) return r;
  if (req.page_size() < 0 || req.page_size() > max_page_size)
    return "page_size must be between 1 and " + std::to_string(max_page_size) + " (0: "
           + std::to_string(default_page_size) + "), got " + std::to_string(req.page_size());
  if (req.page_size() == 0) req.set_page_size(default_page_size);
  if (req.start_time_from_ms() < 0 || req.start_time_to_ms() < 0 || req.close_time_from_ms() < 0
      || req.close_time_to_ms() < 0)
    return "time bounds must not be negative";
  if (req.workflow_id_prefix().size() > 1000) return "workflow ID prefix is longer than 1000 bytes";
  if (req.workflow_type().size() > 1000) return "workflow type is longer than 1000 bytes";
  if (!req.build_id().empty())
    if (auto r = check_id("build ID", req.build_id()); !r.empty()) return r;
  if (req.next_page_token().size() > 4096) return "next_page_token is not one this server issued";
  return {};
}

// The request's query parsed against its namespace's search attributes; sets *why (the error
// pointing at the bad token) when it is not valid. GROUP BY only counts.
std::optional<storage::query::parsed> parse_query(const node_env& env, const std::string& ns,
                                                  const std::string& text, bool counting,
                                                  std::string* why) {
  if (text.size() > 10'000) {
    *why = "the query is longer than 10000 bytes";
    return std::nullopt;
  }
  auto r = storage::query::parse(text, env.config.search_attributes_of(ns));
  if (auto* e = std::get_if<storage::query::error>(&r)) {
    *why = e->message();
    return std::nullopt;
  }
  auto& q = std::get<storage::query::parsed>(r);
  if (q.group_by_status && !counting) {
    *why = "GROUP BY is for counts (chronicle workflow count), not for lists";
    return std::nullopt;
  }
  return std::move(q);
}

storage::visibility_filter list_filter(const pb::ListWorkflowsRequest& req) {
  storage::visibility_filter f;
  f.status = req.status();
  f.workflow_type = req.workflow_type();
  f.workflow_id_prefix = req.workflow_id_prefix();
  f.start_time_from_ms = req.start_time_from_ms();
  f.start_time_to_ms = req.start_time_to_ms();
  f.close_time_from_ms = req.close_time_from_ms();
  f.close_time_to_ms = req.close_time_to_ms();
  f.build_id = req.build_id();
  if (!f.build_id.empty()) {  // the BuildIds index answers it (as the query BuildIds = 'x')
    pb::SearchAttributeValue v;
    v.set_keyword(f.build_id);
    f.attribute_equals.emplace_back(search::build_ids_attribute, std::move(v));
  }
  return f;
}

// Keeps the first page_size entries of `part` (sorted); the token is the last one's position.
pb::ListWorkflowsResponse cut_page(list_part part, size_t page_size) {
  std::sort(part.items.begin(), part.items.end(),
            [](auto& a, auto& b) { return a.first < b.first; });
  pb::ListWorkflowsResponse resp;
  bool more = part.more || part.items.size() > page_size;
  if (part.items.size() > page_size) part.items.resize(page_size);
  for (auto& [pos, info] : part.items) *resp.add_executions() = std::move(info);
  if (more && !part.items.empty()) resp.set_next_page_token(part.items.back().first);
  return resp;
}

using list_shard_atom = caf::atom_constant<caf::atom("listshard")>;  // admin -> list worker
using count_shard_atom = caf::atom_constant<caf::atom("countshard")>;  // admin -> list worker

// A list worker's count of the owned shards first, first + step, ...: a CountWorkflowsResponse
// with the total and the count per status (groups, by status name).
caf::expected<std::string> count_shards(const node_env& env, uint32_t first, uint32_t step,
                                        const std::string& bytes) {
  auto req = decode<pb::CountWorkflowsRequest>(bytes, "CountWorkflowsRequest");
  if (!req) return req.error();
  std::string why;
  auto q = parse_query(env, req->namespace_(), req->query(), true, &why);
  if (!q) return make_error(errc::invalid_argument, why);
  storage::visibility_filter filter;
  storage::query::plan(*q, &filter);
  std::map<pb::WorkflowExecutionStatus, int64_t> per_status;
  for (uint32_t shard = first; shard < env.config.num_shards; shard += step) {
    if (!env.answers_for(shard)) continue;
    storage::visibility_count got;
    auto st = env.store->count_visibility(shard, req->namespace_(), filter, &got);
    if (!st.ok()) return make_error(errc::internal, st.message());
    for (auto& [status, n] : got.per_status) per_status[status] += n;
  }
  pb::CountWorkflowsResponse resp;
  for (auto& [status, n] : per_status) {
    resp.set_count(resp.count() + n);
    auto* g = resp.add_groups();
    g->set_value(status_name(status));
    g->set_count(n);
  }
  return encode(resp);
}

// A list worker: reads pages from RocksDB (storage/visibility.cpp) on its own thread, so that a
// long scan holds neither the admin actor nor a CAF scheduler thread. Asked for the owned shards
// first, first + step, ... (one message per worker and list); answers the first page of their
// merged pages (its next_page_token, when set, only says that there are more).
caf::behavior list_worker(caf::event_based_actor* self, env_ptr env) {
  harden(self, "list worker");
  return {
    [=](count_shard_atom, uint32_t first, uint32_t step,
        const std::string& bytes) -> caf::result<std::string> {
      return count_shards(*env, first, step, bytes);
    },
    [=](list_shard_atom, uint32_t first, uint32_t step,
        const std::string& bytes) -> caf::result<std::string> {
      auto req = decode<pb::ListWorkflowsRequest>(bytes, "ListWorkflowsRequest");
      if (!req) return req.error();
      auto filter = list_filter(*req);
      std::string why;
      auto q = parse_query(*env, req->namespace_(), req->query(), false, &why);
      if (!q) return make_error(errc::invalid_argument, why);
      storage::query::plan(*q, &filter);
      const auto page = static_cast<size_t>(req->page_size());
      list_part part;
      for (uint32_t shard = first; shard < env->config.num_shards; shard += step) {
        if (!env->answers_for(shard)) continue;
        storage::visibility_page got;
        auto st = env->store->list_visibility(shard, req->namespace_(), filter,
                                              req->next_page_token(), page, &got);
        if (!st.ok()) return make_error(errc::internal, st.message());
        part.more = part.more || got.more;
        for (auto& item : got.items) part.items.push_back(std::move(item));
      }
      return encode(cut_page(std::move(part), page));  // only its first page can be in the answer
    },
  };
}

// Adds a page (from a list worker or a peer) to `part`; the positions come from the records.
void add_page(list_part& part, pb::ListWorkflowsResponse& r) {
  for (auto& info : *r.mutable_executions())
    part.items.emplace_back(storage::keys::visibility_suffix(info), std::move(info));
  if (!r.next_page_token().empty()) part.more = true;
}

// The runs of the shards this node owns that match (req checked), one page at most from each
// shard, read by the list workers in parallel; `done` runs in the admin actor.
void list_local(caf::event_based_actor* self, const std::vector<caf::actor>& workers,
                const pb::ListWorkflowsRequest& req,
                std::function<void(caf::expected<list_part>)> done) {
  struct gather {
    list_part part;
    caf::error err;
    size_t pending = 0;
  };
  auto g = std::make_shared<gather>();
  g->pending = workers.size();
  auto finish = [g, done]() {
    if (g->err) done(g->err);
    else done(std::move(g->part));
  };
  auto bytes = encode(req);
  const auto step = static_cast<uint32_t>(workers.size());
  for (uint32_t i = 0; i < step; ++i)
    self->request(workers[i], std::chrono::seconds(60), list_shard_atom::value, i, step, bytes)
      .then(
        [=](const std::string& reply) {
          auto r = decode<pb::ListWorkflowsResponse>(reply, "ListWorkflowsResponse");
          if (r) add_page(g->part, *r);
          else g->err = r.error();
          if (--g->pending == 0) finish();
        },
        [=](caf::error& err) {
          g->err = err;
          if (--g->pending == 0) finish();
        });
}

// Decodes and checks a list request; answers `rp` with the error when it is not valid.
std::optional<pb::ListWorkflowsRequest> list_request(const node_env& env, const std::string& bytes,
                                                     caf::response_promise& rp) {
  auto req = decode<pb::ListWorkflowsRequest>(bytes, "ListWorkflowsRequest");
  if (!req) {
    rp.deliver(req.error());
    return std::nullopt;
  }
  auto reason = check_list(env, *req);
  if (reason.empty()) parse_query(env, req->namespace_(), req->query(), false, &reason);
  if (!reason.empty()) {
    rp.deliver(make_error(errc::invalid_argument, reason));
    return std::nullopt;
  }
  return std::move(*req);
}

// Lists across the cluster: this node's shards and each live member's, merged newest first.
void list_cluster(caf::event_based_actor* self, const env_ptr& env, const std::vector<caf::actor>& workers,
                  const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto req = list_request(*env, bytes, rp);
  if (!req) return;
  list_local(self, workers, *req, [=, req = *req](caf::expected<list_part> local) mutable {
    if (!local) {
      rp.deliver(local.error());
      return;
    }
    auto page = static_cast<size_t>(req.page_size());
    ask_peers<pb::ListWorkflowsResponse>(
      self, *env, std::chrono::seconds(5), list_atom::value, encode(req), std::move(*local), add_page,
      [rp, page](list_part part, const std::vector<std::string>& missing) mutable {
        auto resp = cut_page(std::move(part), page);
        for (auto& m : missing) resp.add_missing_nodes(m);
        rp.deliver(encode(resp));
      });
  });
}

// A peer's list: this node's shards only, cut to a page.
void list_fwd(caf::event_based_actor* self, const env_ptr& env,
              const std::vector<caf::actor>& workers, const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto req = list_request(*env, bytes, rp);
  if (!req) return;
  auto page = static_cast<size_t>(req->page_size());
  list_local(self, workers, *req, [rp, page](caf::expected<list_part> local) mutable {
    if (!local) rp.deliver(local.error());
    else rp.deliver(encode(cut_page(std::move(*local), page)));
  });
}

// ---- visibility: count ---------------------------------------------------------------------

// Counts per status name, summed over shards and nodes.
using count_part = std::map<std::string, int64_t>;

void add_count(count_part& part, const pb::CountWorkflowsResponse& r) {
  for (const auto& g : r.groups()) part[g.value()] += g.count();
}

// The answer: the total, and the groups when the query groups by status.
pb::CountWorkflowsResponse count_answer(const count_part& part, bool grouped) {
  pb::CountWorkflowsResponse resp;
  for (const auto& [value, n] : part) {
    resp.set_count(resp.count() + n);
    if (!grouped || n == 0) continue;
    auto* g = resp.add_groups();
    g->set_value(value);
    g->set_count(n);
  }
  return resp;
}

// The counts of this node's shards, read by the list workers in parallel.
void count_local(caf::event_based_actor* self, const std::vector<caf::actor>& workers,
                 const std::string& bytes, std::function<void(caf::expected<count_part>)> done) {
  struct gather {
    count_part part;
    caf::error err;
    size_t pending = 0;
  };
  auto g = std::make_shared<gather>();
  g->pending = workers.size();
  auto finish = [g, done]() {
    if (g->err) done(g->err);
    else done(std::move(g->part));
  };
  const auto step = static_cast<uint32_t>(workers.size());
  for (uint32_t i = 0; i < step; ++i)
    self->request(workers[i], std::chrono::seconds(60), count_shard_atom::value, i, step, bytes)
      .then(
        [=](const std::string& reply) {
          auto r = decode<pb::CountWorkflowsResponse>(reply, "CountWorkflowsResponse");
          if (r) add_count(g->part, *r);
          else g->err = r.error();
          if (--g->pending == 0) finish();
        },
        [=](caf::error& err) {
          g->err = err;
          if (--g->pending == 0) finish();
        });
}

// Decodes and checks a count request (namespace defaulted, query parsed); answers `rp` with the
// error when it is not valid.
std::optional<std::pair<pb::CountWorkflowsRequest, bool>> count_request(
  const node_env& env, const std::string& bytes, caf::response_promise& rp) {
  auto req = decode<pb::CountWorkflowsRequest>(bytes, "CountWorkflowsRequest");
  if (!req) {
    rp.deliver(req.error());
    return std::nullopt;
  }
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  std::string why = check_namespace(env, req->namespace_());
  std::optional<storage::query::parsed> q;
  if (why.empty()) q = parse_query(env, req->namespace_(), req->query(), true, &why);
  if (!why.empty()) {
    rp.deliver(make_error(errc::invalid_argument, why));
    return std::nullopt;
  }
  return std::make_pair(std::move(*req), q->group_by_status);
}

// Counts across the cluster: this node's shards and each live member's (the per-status counts
// are summed; a member that does not answer is named in missing_nodes).
void count_cluster(caf::event_based_actor* self, const env_ptr& env,
                   const std::vector<caf::actor>& workers, const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto req = count_request(*env, bytes, rp);
  if (!req) return;
  auto fwd_bytes = encode(req->first);
  const bool grouped = req->second;
  count_local(self, workers, fwd_bytes, [=](caf::expected<count_part> local) mutable {
    if (!local) {
      rp.deliver(local.error());
      return;
    }
    ask_peers<pb::CountWorkflowsResponse>(
      self, *env, std::chrono::seconds(5), count_atom::value, fwd_bytes, std::move(*local), add_count,
      [rp, grouped](count_part part, const std::vector<std::string>& missing) mutable {
        auto resp = count_answer(part, grouped);
        for (auto& m : missing) resp.add_missing_nodes(m);
        rp.deliver(encode(resp));
      });
  });
}

// A peer's count: this node's shards only, per status.
void count_fwd(caf::event_based_actor* self, const env_ptr& env,
               const std::vector<caf::actor>& workers, const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto req = count_request(*env, bytes, rp);
  if (!req) return;
  count_local(self, workers, encode(req->first), [rp](caf::expected<count_part> local) mutable {
    if (!local) rp.deliver(local.error());
    else rp.deliver(encode(count_answer(*local, true)));
  });
}

// A query: the run's recorded history goes, with the question, to a worker of the run's task
// queue (through matching), which replays it and answers the client directly.
caf::result<caf::message> query_local(caf::event_based_actor* self, const env_ptr& env,
                                      const std::string& bytes) {
  auto req = decode<pb::QueryWorkflowRequest>(bytes, "QueryWorkflowRequest");
  if (!req) return req.error();
  auto reason = check_id("query type", req->query_type());
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  uint32_t shard = 0;
  auto ms = find_run(*env, req->namespace_(), req->workflow_id(), req->run_id(), &shard);
  if (!ms) return ms.error();
  pb::QueryTask task;
  task.set_namespace_(ms->namespace_());
  task.set_workflow_id(ms->workflow_id());
  task.set_run_id(ms->run_id());
  task.set_workflow_type(ms->workflow_type());
  task.set_task_queue(ms->task_queue());
  task.set_query_type(req->query_type());
  *task.mutable_args() = req->args();
  std::vector<pb::HistoryEvent> events;
  auto st = env->store->read_history(
    storage::run_key{shard, ms->namespace_(), ms->workflow_id(), ms->run_id()}, &events);
  if (!st.ok()) return make_error(errc::internal, st.message());
  for (auto& ev : events) *task.add_history() = std::move(ev);
  self->delegate(env->matching, qtask_atom::value, encode(task));
  return caf::delegated<caf::message>{};
}

// Replicated shards: a question about a workflow is answered from this node's store only while
// its replica leads the shard (and has applied every committed entry): a follower may lag, and
// answering from it could say "not found" for a run that was acknowledged. Else `unavailable`,
// which clients ask again.
caf::error not_serving(const node_env& env, const std::string& bytes) {
  if (!env.replicated()) return {};
  std::string ns, wid;
  if (!peek_route(bytes, &ns, &wid)) return {};  // the whole decode reports it
  if (ns.empty()) ns = default_namespace;
  auto shard = shard_of(ns, wid, env.config.num_shards);
  if (env.shard_ready[shard]) return {};
  return make_error(errc::unavailable, "shard " + std::to_string(shard) + ": " + env.config.name
                                         + " does not lead it now (a leader is being elected "
                                           "or moved); ask again");
}

// Replicated shards: a question forwarded here by a node that holds no replica of the shard
// (it knows no leader and asked the first replica up) while this replica does not lead: the
// node of the leader this replica knows, to pass it on to once (nullopt: none, or the sender is
// a replica itself, which forwards by its own hint: a question never goes round in a circle).
std::optional<caf::actor> leader_for_non_replica(const node_env& env, const std::string& bytes,
                                                 const caf::strong_actor_ptr& sender) {
  std::string ns, wid;
  if (!env.replicated() || !sender || !peek_route(bytes, &ns, &wid)) return std::nullopt;
  if (ns.empty()) ns = default_namespace;
  auto shard = shard_of(ns, wid, env.config.num_shards);
  auto leader = env.member_by_id(env.shard_leader[shard].load());
  if (leader.empty() || leader == env.config.name) return std::nullopt;
  auto& replicas = env.placement.at(shard).replicas;
  for (auto& m : env.config.members) {
    auto peer = env.peers->peer(m.name);
    if (!peer || peer->node() != sender->node()) continue;
    if (std::find(replicas.begin(), replicas.end(), m.name) != replicas.end()) return std::nullopt;
    return env.peers->peer(leader);
  }
  return std::nullopt;
}

// Serves a workflow question here when this node owns its shard, else forwards it to the owner
// (watched: a long poll at an owner that dies is answered `unavailable` at once, not at the
// client's timeout).
template <class Req>
caf::result<caf::message> route(caf::event_based_actor* self, const env_ptr& env, forwards& fwd,
                                caf::atom_value kind, std::string& bytes, const char* what) {
  auto req = decode<Req>(bytes, what);
  if (!req) return req.error();
  auto ns = req->namespace_().empty() ? default_namespace : req->namespace_();
  auto reason = check_id("workflow ID", req->workflow_id());
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  auto where = place_shard(*env, shard_of(ns, req->workflow_id(), env->config.num_shards));
  if (where.error) return where.error;
  if (where.local) {
    if (auto err = not_serving(*env, bytes)) return err;
    if (kind == query_atom::value) return query_local(self, env, bytes);
    if (kind == history_atom::value) return history(self, env, bytes);
    auto res = describe(*env, bytes);
    if (res.flag == caf::rt_error) return std::move(res.err);
    return std::move(res.value);
  }
  return fwd.forward(self, where.peer, kind, std::move(bytes));
}

}  // namespace

caf::behavior admin_actor(caf::event_based_actor* self, env_ptr env) {
  harden(self, "admin");
  auto counts = std::make_shared<run_counts>();
  // List workers (detached: each has its own thread), as many as cores up to 4, stopped with the
  // admin actor.
  std::vector<caf::actor> workers;
  const size_t n = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  for (size_t i = 0; i < n; ++i)
    workers.push_back(self->system().spawn<caf::detached>(list_worker, env));
  self->attach_functor([workers](const caf::error&) {
    for (auto& w : workers) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  });
  auto fwd = std::make_shared<forwards>();  // questions passed to the owner's node
  self->set_down_handler([self, fwd](caf::down_msg& msg) { fwd->on_down(self, msg); });
  return {
    [=](describe_atom, std::string& bytes) {
      return route<pb::DescribeWorkflowRequest>(self, env, *fwd, describe_atom::value, bytes,
                                                "DescribeWorkflowRequest");
    },
    [=](history_atom, std::string& bytes) {
      return route<pb::GetHistoryRequest>(self, env, *fwd, history_atom::value, bytes,
                                          "GetHistoryRequest");
    },
    [=](cluster_atom, const std::string& bytes) { cluster_status(self, env, counts, bytes); },
    [=](list_atom, const std::string& bytes) { list_cluster(self, env, workers, bytes); },
    [=](count_atom, const std::string& bytes) { count_cluster(self, env, workers, bytes); },
    [=](fwd_atom, caf::atom_value kind, const std::string& bytes) -> caf::result<caf::message> {
      auto reply = [](caf::result<std::string> r) -> caf::result<caf::message> {
        if (r.flag == caf::rt_error) return std::move(r.err);
        return std::move(r.value);
      };
      if (kind == describe_atom::value || kind == history_atom::value || kind == query_atom::value)
        if (auto err = not_serving(*env, bytes)) {
          if (auto leader = leader_for_non_replica(*env, bytes, self->current_sender()))
            return fwd->forward(self, *leader, kind, bytes);
          return err;
        }
      if (kind == describe_atom::value) return reply(describe(*env, bytes));
      if (kind == history_atom::value) return history(self, env, bytes);
      if (kind == query_atom::value) return query_local(self, env, bytes);
      if (kind == list_atom::value) {
        list_fwd(self, env, workers, bytes);
        return caf::delegated<caf::message>{};
      }
      if (kind == count_atom::value) {
        count_fwd(self, env, workers, bytes);
        return caf::delegated<caf::message>{};
      }
      if (kind == ns_sync_atom::value) return reply(sync_namespaces(*env, bytes));
      if (kind == sch_list_atom::value) return reply(list_schedules_local(*env, bytes));
      if (kind == bat_list_atom::value) return reply(list_batch_jobs_local(*env, bytes));
      if (kind == cluster_atom::value) {
        auto req = decode<pb::ClusterStatusRequest>(bytes, "ClusterStatusRequest");
        if (!req) return req.error();
        auto rp = self->make_response_promise();
        with_local_status(self, env, counts, *req,
                          [rp](pb::NodeStatus ns) mutable { rp.deliver(encode(ns)); });
        return caf::delegated<caf::message>{};
      }
      return make_error(errc::bad_message, "admin cannot serve " + caf::to_string(kind));
    },
    [=](ns_register_atom, const std::string& bytes) { register_namespace(self, env, bytes); },
    [=](ns_update_atom, const std::string& bytes) { update_namespace(self, env, bytes); },
    [=](ns_describe_atom, const std::string& bytes) { return describe_namespace(*env, bytes); },
    [=](ns_list_atom, const std::string& bytes) { return list_namespaces(*env, bytes); },
    [=](tq_config_set_atom, const std::string& bytes) { set_task_queue_config(self, env, bytes); },
    [=](tq_config_get_atom, const std::string& bytes) { return get_task_queue_config(*env, bytes); },
    [=](ns_push_atom, const std::string& member) { push_namespaces(self, env, member); },
    [=](sch_list_atom, const std::string& bytes) { list_schedules(self, env, bytes); },
    [=](bat_list_atom, const std::string& bytes) { list_batch_jobs(self, env, bytes); },
    [=](query_atom, std::string& bytes) {
      return route<pb::QueryWorkflowRequest>(self, env, *fwd, query_atom::value, bytes,
                                             "QueryWorkflowRequest");
    },
    [=](ping_atom) { return env->config.name; },
  };
}

}  // namespace chronicle
