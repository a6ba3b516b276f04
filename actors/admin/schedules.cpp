// Listing schedules (docs/schedules.md): every node reads the schedule records of the shards it
// serves from its store (a leader's copy, with replication) and the node asked merges the
// members' answers, sorted by schedule ID. A member down is named in `unreachable`.
#include <algorithm>

#include "actors/admin/admin_actor.hpp"
#include "actors/admin/ask_peers.hpp"
#include "actors/routing/validation.hpp"
#include "shards/schedule_state.hpp"

namespace chronicle {

namespace {

constexpr auto peer_answer_timeout = std::chrono::seconds(5);

// The description of a stored record, with its next action times when its spec compiles.
pb::ScheduleDescription describe_record(const pb::ScheduleRecord& rec) {
  std::string why;
  auto spec = schedules::compiled_spec::compile(rec.definition().spec(), rec.schedule_id(), &why);
  if (spec) return schedules::describe(rec, *spec);
  pb::ScheduleDescription d;
  d.set_namespace_(rec.namespace_());
  d.set_schedule_id(rec.schedule_id());
  *d.mutable_definition() = rec.definition();
  *d.mutable_info() = rec.info();
  return d;
}

caf::expected<pb::ListSchedulesResponse> local_part(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::ListSchedulesRequest>(bytes, "ListSchedulesRequest");
  if (!req) return req.error();
  auto ns = req->namespace_().empty() ? default_namespace : req->namespace_();
  pb::ListSchedulesResponse resp;
  for (uint32_t shard = 0; shard < env.config.num_shards; ++shard) {
    if (!env.answers_for(shard)) continue;
    auto st = env.store->scan_schedules(shard, [&](const pb::ScheduleRecord& rec) {
      if (rec.namespace_() == ns) *resp.add_schedules() = describe_record(rec);
    });
    if (!st.ok()) return make_error(errc::internal, st.message());
  }
  return resp;
}

}  // namespace

caf::result<std::string> list_schedules_local(const node_env& env, const std::string& bytes) {
  auto part = local_part(env, bytes);
  if (!part) return part.error();
  return encode(*part);
}

void list_schedules(caf::event_based_actor* self, const env_ptr& env, const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto local = local_part(*env, bytes);
  if (!local) return rp.deliver(local.error());
  ask_peers<pb::ListSchedulesResponse>(
    self, *env, peer_answer_timeout, sch_list_atom::value, bytes, std::move(*local),
    [](pb::ListSchedulesResponse& all, const pb::ListSchedulesResponse& part) {
      for (auto& d : part.schedules()) *all.add_schedules() = d;
    },
    [rp](pb::ListSchedulesResponse all, const std::vector<std::string>& missing) mutable {
      std::sort(all.mutable_schedules()->begin(), all.mutable_schedules()->end(),
                [](const auto& a, const auto& b) { return a.schedule_id() < b.schedule_id(); });
      for (auto& m : missing) all.add_unreachable(m);
      rp.deliver(encode(all));
    });
}

}  // namespace chronicle
