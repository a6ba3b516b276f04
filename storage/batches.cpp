// Batch job records (docs/operations.md "Batch operations"): in the executions table under the
// shard's 'B' tag, so a job is replicated, snapshotted and handed off with its shard.
#include "storage/store_impl.hpp"

namespace chronicle::storage {

void write_batch::put_batch_job(uint32_t shard, const pb::BatchJobRecord& rec) {
  impl_->put(table::executions,
             keys::batch_job_key(shard, rec.definition().namespace_(), rec.definition().job_id()),
             rec);
}

void write_batch::delete_batch_job(uint32_t shard, const std::string& ns,
                                   const std::string& job_id) {
  impl_->del(table::executions, keys::batch_job_key(shard, ns, job_id));
}

status store::scan_batch_jobs(uint32_t shard,
                              const std::function<void(const pb::BatchJobRecord&)>& fn) const {
  return impl_->scan_records<pb::BatchJobRecord>(table::executions, keys::batch_jobs_prefix(shard),
                                                 "batch job", shard, fn);
}

}  // namespace chronicle::storage
