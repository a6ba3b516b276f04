// Schedule records (docs/schedules.md): in the executions table under the shard's 'S' tag, so a
// schedule is replicated, snapshotted and handed off with its shard.
#include "storage/store_impl.hpp"

namespace chronicle::storage {

void write_batch::put_schedule(uint32_t shard, const pb::ScheduleRecord& rec) {
  impl_->put(table::executions, keys::schedule_key(shard, rec.namespace_(), rec.schedule_id()), rec);
}

void write_batch::delete_schedule(uint32_t shard, const std::string& ns,
                                  const std::string& schedule_id) {
  impl_->del(table::executions, keys::schedule_key(shard, ns, schedule_id));
}

status store::scan_schedules(uint32_t shard,
                             const std::function<void(const pb::ScheduleRecord&)>& fn) const {
  return impl_->scan_records<pb::ScheduleRecord>(table::executions, keys::schedules_prefix(shard),
                                                 "schedule", shard, fn);
}

}  // namespace chronicle::storage
