// Listing batch jobs (docs/operations.md "Batch operations"): every node reads the job records of
// the shards it answers for from its store (a leader's copy, with replication) and the node asked
// merges the members' answers, newest first. A member down is named in `unreachable`.
#include <algorithm>

#include "actors/admin/admin_actor.hpp"
#include "actors/admin/ask_peers.hpp"
#include "actors/routing/validation.hpp"
#include "shards/batch_job.hpp"

namespace chronicle {

namespace {

constexpr auto peer_answer_timeout = std::chrono::seconds(5);

caf::expected<pb::ListBatchJobsResponse> local_part(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::ListBatchJobsRequest>(bytes, "ListBatchJobsRequest");
  if (!req) return req.error();
  auto ns = req->namespace_().empty() ? default_namespace : req->namespace_();
  pb::ListBatchJobsResponse resp;
  for (uint32_t shard = 0; shard < env.config.num_shards; ++shard) {
    if (!env.answers_for(shard)) continue;
    auto st = env.store->scan_batch_jobs(shard, [&](const pb::BatchJobRecord& rec) {
      if (rec.definition().namespace_() == ns) *resp.add_jobs() = describe_batch_job(rec);
    });
    if (!st.ok()) return make_error(errc::internal, st.message());
  }
  return resp;
}

}  // namespace

caf::result<std::string> list_batch_jobs_local(const node_env& env, const std::string& bytes) {
  auto part = local_part(env, bytes);
  if (!part) return part.error();
  return encode(*part);
}

void list_batch_jobs(caf::event_based_actor* self, const env_ptr& env, const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto local = local_part(*env, bytes);
  if (!local) return rp.deliver(local.error());
  ask_peers<pb::ListBatchJobsResponse>(
    self, *env, peer_answer_timeout, bat_list_atom::value, bytes, std::move(*local),
    [](pb::ListBatchJobsResponse& all, const pb::ListBatchJobsResponse& part) {
      for (auto& d : part.jobs()) *all.add_jobs() = d;
    },
    [rp](pb::ListBatchJobsResponse all, const std::vector<std::string>& missing) mutable {
      std::sort(all.mutable_jobs()->begin(), all.mutable_jobs()->end(),
                [](const auto& a, const auto& b) {
                  if (a.start_time_ms() != b.start_time_ms())
                    return a.start_time_ms() > b.start_time_ms();
                  return a.definition().job_id() < b.definition().job_id();
                });
      for (auto& m : missing) all.add_unreachable(m);
      rp.deliver(encode(all));
    });
}

}  // namespace chronicle
