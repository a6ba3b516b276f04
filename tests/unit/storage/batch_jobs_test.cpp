// Batch job records: put, rewrite, scan per shard (tag 'B'), delete, across a reopen; other
// records of the executions table are not read as jobs.
#include <doctest/doctest.h>

#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

std::unique_ptr<store> open_at(const temp_dir& dir) {
  status st;
  auto s = store::open(dir.sub("db"), 8, durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  REQUIRE(s != nullptr);
  return s;
}

pb::BatchJobRecord job(const std::string& id, int64_t position) {
  pb::BatchJobRecord rec;
  rec.mutable_definition()->set_namespace_("default");
  rec.mutable_definition()->set_job_id(id);
  rec.mutable_definition()->set_query("ExecutionStatus = 'Running'");
  rec.set_state(pb::BATCH_JOB_STATE_RUNNING);
  rec.set_position(position);
  return rec;
}

std::vector<pb::BatchJobRecord> jobs_of(const store& s, uint32_t shard) {
  std::vector<pb::BatchJobRecord> out;
  REQUIRE(s.scan_batch_jobs(shard, [&](const pb::BatchJobRecord& r) { out.push_back(r); }).ok());
  return out;
}

}  // namespace

TEST_CASE("batch job records are rewritten - scanned per shard - deleted - kept across a reopen") {
  temp_dir dir;
  {
    auto s = open_at(dir);
    write_batch b;
    b.put_batch_job(1, job("j1", 0));
    b.put_batch_job(1, job("j2", 0));
    b.put_batch_job(2, job("j3", 0));
    pb::ScheduleRecord sched;  // another record of the executions table, same shard
    sched.set_namespace_("default");
    sched.set_schedule_id("s1");
    b.put_schedule(1, sched);
    REQUIRE(s->write(b).ok());
    write_batch progress;
    progress.put_batch_job(1, job("j1", 7));  // the same key: rewritten
    progress.delete_batch_job(1, "default", "j2");
    REQUIRE(s->write(progress).ok());
  }
  auto s = open_at(dir);
  auto one = jobs_of(*s, 1);
  REQUIRE(one.size() == 1);
  CHECK(one[0].definition().job_id() == "j1");
  CHECK(one[0].position() == 7);
  auto two = jobs_of(*s, 2);
  REQUIRE(two.size() == 1);
  CHECK(two[0].definition().job_id() == "j3");
  CHECK(jobs_of(*s, 3).empty());
}

}  // namespace chronicle::storage
