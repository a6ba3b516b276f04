// Namespaces as objects (admin_actor.hpp): register, update, describe, list, and the exchange of
// records between nodes. Every node keeps every namespace record (its registry, and its meta
// table for restarts). A change is made by the node that receives it: checked, recorded here
// (synced), then sent to every member that is up, which records it before it answers; the
// client is answered once they did, with the members that were down named. A node that connects
// to a peer sends it all its records, so a member that was down catches up; of two records of a
// namespace the higher version wins (docs/operations.md "Namespaces").
//
// All changes to the registry are made on the admin actor (one at a time).
#include <spdlog/spdlog.h>

#include <functional>
#include <memory>

#include "actors/admin/admin_actor.hpp"
#include "actors/admin/ask_peers.hpp"
#include "actors/node/namespaces.hpp"
#include "actors/routing/validation.hpp"
#include "shards/flow_control.hpp"

namespace chronicle {

namespace {

constexpr auto peer_answer_timeout = std::chrono::seconds(3);

namespace_registry& registry(const node_env& env) { return *env.config.namespaces; }

// Records `info` on this node when it is newer than the one here: the registry and the meta
// table. Returns an error only when the write failed.
caf::error take(const node_env& env, const pb::NamespaceInfo& info) {
  auto have = registry(env).find(info.name());
  if (have && !namespace_newer(info, *have)) return caf::none;
  auto st = env.store->put_namespace(info.name(), encode(info));
  if (!st.ok()) return make_error(errc::internal, st.message());
  registry(env).merge(info);
  // Its task queues' operator limits may have changed: the activity queues here read them again.
  if (env.matching) caf::anon_send(env.matching, tq_config_atom::value, info.name());
  return caf::none;
}

// The answer to a change once it is spread: the record and the members it did not reach.
using answer_fn =
  std::function<std::string(const pb::NamespaceInfo&, const std::vector<std::string>& missing)>;

std::string namespace_answer(const pb::NamespaceInfo& info, const std::vector<std::string>& missing) {
  pb::NamespaceResponse resp;
  *resp.mutable_info() = info;
  for (auto& m : missing) resp.add_not_stored_on(m);
  return encode(resp);
}

// Sends `info` to every other member and answers `rp` once each answered (or did not in time):
// the members it did not reach are named in the answer.
void spread(caf::event_based_actor* self, const env_ptr& env, const pb::NamespaceInfo& info,
            caf::response_promise rp, answer_fn answer) {
  pb::NamespaceSync sync;
  *sync.add_namespaces() = info;
  ask_peers<pb::NamespaceSync>(
    self, *env, peer_answer_timeout, ns_sync_atom::value, encode(sync), 0,
    [](int&, const pb::NamespaceSync&) {},  // stored there: nothing to add
    [rp, info, answer](int, const std::vector<std::string>& missing) mutable {
      rp.deliver(answer(info, missing));
    });
}

// Makes `info` the namespace's record here (stamped by this node) and on every member up.
void change(caf::event_based_actor* self, const env_ptr& env, pb::NamespaceInfo info,
            answer_fn answer = namespace_answer) {
  auto rp = self->make_response_promise();
  info.set_update_time_ms(now_ms());
  info.set_updated_by(env->config.name);
  if (auto err = take(*env, info)) return rp.deliver(err);
  spdlog::info("namespace '{}' recorded (version {})", info.name(), info.version());
  spread(self, env, info, rp, std::move(answer));
}

constexpr int max_configured_queues = 1000;  // task queues with operator limits per namespace

}  // namespace

void register_namespace(caf::event_based_actor* self, const env_ptr& env,
                        const std::string& bytes) {
  auto req = decode<pb::RegisterNamespaceRequest>(bytes, "RegisterNamespaceRequest");
  if (!req) return self->make_response_promise().deliver(req.error());
  std::string why;
  auto info = registered(*req, &why);
  if (!info) return self->make_response_promise().deliver(make_error(errc::invalid_argument, why));
  if (registry(*env).known(req->namespace_()))
    return self->make_response_promise().deliver(make_error(
      errc::already_started, "namespace '" + req->namespace_() + "' is already registered"));
  change(self, env, std::move(*info));
}

void update_namespace(caf::event_based_actor* self, const env_ptr& env, const std::string& bytes) {
  auto req = decode<pb::UpdateNamespaceRequest>(bytes, "UpdateNamespaceRequest");
  if (!req) return self->make_response_promise().deliver(req.error());
  auto ns = req->namespace_().empty() ? std::string(default_namespace) : req->namespace_();
  auto current = registry(*env).find(ns);
  if (!current)
    return self->make_response_promise().deliver(
      make_error(errc::not_found, "namespace '" + ns + "' is not registered"));
  std::string why;
  auto next = updated(*current, *req, &why);
  if (!next) return self->make_response_promise().deliver(make_error(errc::invalid_argument, why));
  change(self, env, std::move(*next));
}

void set_task_queue_config(caf::event_based_actor* self, const env_ptr& env,
                           const std::string& bytes) {
  auto refuse = [self](caf::error err) { self->make_response_promise().deliver(std::move(err)); };
  auto req = decode<pb::SetTaskQueueConfigRequest>(bytes, "SetTaskQueueConfigRequest");
  if (!req) return refuse(req.error());
  const std::string ns =
    req->namespace_().empty() ? std::string(default_namespace) : req->namespace_();
  for (auto& [what, value] : {std::pair{"namespace", &ns}, std::pair{"task queue", &req->task_queue()}})
    if (auto why = check_id(what, *value); !why.empty())
      return refuse(make_error(errc::invalid_argument, why));
  auto current = registry(*env).find(ns);
  if (!current) return refuse(make_error(errc::not_found, unknown_namespace(ns)));
  auto queue = req->task_queue();
  pb::TaskQueueConfig now_set;
  if (auto it = current->task_queues().find(queue); it != current->task_queues().end())
    now_set = it->second;
  std::string why;
  auto next = configured(now_set, *req, now_ms(), &why);
  if (!next) return refuse(make_error(errc::invalid_argument, why));
  pb::NamespaceInfo info = *current;
  if (sets_any_limit(*next)) (*info.mutable_task_queues())[queue] = *next;
  else info.mutable_task_queues()->erase(queue);
  if (info.task_queues_size() > max_configured_queues)
    return refuse(make_error(errc::invalid_argument,
                             "at most " + std::to_string(max_configured_queues)
                               + " task queues of a namespace have operator limits"));
  info.set_version(current->version() + 1);
  spdlog::info("task queue {}/{}: operator limits set by '{}' ({})", ns, queue, req->identity(),
               req->reason());
  change(self, env, std::move(info),
         [ns, queue](const pb::NamespaceInfo& info, const std::vector<std::string>& missing) {
           pb::TaskQueueConfigResponse resp;
           resp.set_namespace_(ns);
           resp.set_task_queue(queue);
           if (auto it = info.task_queues().find(queue); it != info.task_queues().end())
             *resp.mutable_config() = it->second;
           for (auto& m : missing) resp.add_not_stored_on(m);
           return encode(resp);
         });
}

caf::result<std::string> get_task_queue_config(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::GetTaskQueueConfigRequest>(bytes, "GetTaskQueueConfigRequest");
  if (!req) return req.error();
  const std::string ns =
    req->namespace_().empty() ? std::string(default_namespace) : req->namespace_();
  for (auto& [what, value] : {std::pair{"namespace", &ns}, std::pair{"task queue", &req->task_queue()}})
    if (auto why = check_id(what, *value); !why.empty())
      return make_error(errc::invalid_argument, why);
  if (!registry(env).known(ns)) return make_error(errc::not_found, unknown_namespace(ns));
  pb::TaskQueueConfigResponse resp;
  resp.set_namespace_(ns);
  resp.set_task_queue(req->task_queue());
  if (auto c = registry(env).task_queue_config(ns, req->task_queue())) *resp.mutable_config() = *c;
  return encode(resp);
}

caf::result<std::string> describe_namespace(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::DescribeNamespaceRequest>(bytes, "DescribeNamespaceRequest");
  if (!req) return req.error();
  auto ns = req->namespace_().empty() ? std::string(default_namespace) : req->namespace_();
  auto info = registry(env).find(ns);
  if (!info) return make_error(errc::not_found, "namespace '" + ns + "' is not registered");
  pb::NamespaceResponse resp;
  *resp.mutable_info() = std::move(*info);
  return encode(resp);
}

caf::result<std::string> list_namespaces(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::ListNamespacesRequest>(bytes, "ListNamespacesRequest");
  if (!req) return req.error();
  pb::ListNamespacesResponse resp;
  for (auto& info : registry(env).all()) *resp.add_namespaces() = std::move(info);
  return encode(resp);
}

caf::result<std::string> sync_namespaces(const node_env& env, const std::string& bytes) {
  auto sync = decode<pb::NamespaceSync>(bytes, "NamespaceSync");
  if (!sync) return sync.error();
  for (auto& info : sync->namespaces()) {
    if (info.name().empty()) continue;
    if (auto err = take(env, info)) return err;
  }
  return std::string{};
}

void push_namespaces(caf::event_based_actor* self, const env_ptr& env, const std::string& member) {
  auto peer = env->peers->peer(member);
  if (!peer) return;
  pb::NamespaceSync sync;
  for (auto& info : registry(*env).all())
    if (info.version() > 0) *sync.add_namespaces() = std::move(info);  // config ones stay local
  if (sync.namespaces().empty()) return;
  self->request(*peer, peer_answer_timeout, fwd_atom::value, caf::atom_value{ns_sync_atom::value},
                encode(sync))
    .then([](const std::string&) {},
          [member](caf::error& err) {
            spdlog::warn("namespaces not sent to {}: {} (sent again when it connects)", member,
                         error_text(err));
          });
}

}  // namespace chronicle
