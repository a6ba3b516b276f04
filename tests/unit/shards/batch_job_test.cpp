// Batch operations: the pure job (collecting, rate limit, outcomes in order, resume, stop).
#include <doctest/doctest.h>

#include "shards/batch_job.hpp"

using namespace chronicle;

namespace {

constexpr int64_t t0 = 1'700'000'000'000;

pb::BatchJobDefinition terminate_all(double rps = 20) {
  pb::BatchJobDefinition def;
  def.set_namespace_("default");
  def.set_job_id("job-1");
  def.set_query("ExecutionStatus = 'Running'");
  def.mutable_operation()->mutable_terminate();
  def.set_reason("cleanup");
  def.set_rps(rps);
  return def;
}

std::vector<pb::BatchTarget> runs(int from, int n) {
  std::vector<pb::BatchTarget> out;
  for (int i = from; i < from + n; ++i) {
    pb::BatchTarget t;
    t.set_workflow_id("wf-" + std::to_string(i));
    t.set_run_id("run-" + std::to_string(i));
    out.push_back(t);
  }
  return out;
}

pb::BatchJobRecord running_job(int n, double rps = 20) {
  auto job = new_batch_job(terminate_all(rps), t0);
  add_batch_page(job, runs(0, n), "", t0);
  REQUIRE(job.state() == pb::BATCH_JOB_STATE_RUNNING);
  return job;
}

}  // namespace

TEST_CASE("batch definition refused without job ID - query - operation - signal name - reset type") {
  CHECK(check_batch_definition(terminate_all()).empty());
  auto d = terminate_all();
  d.clear_job_id();
  CHECK(!check_batch_definition(d).empty());
  d = terminate_all();
  d.clear_query();
  CHECK(check_batch_definition(d).find("query") != std::string::npos);
  d = terminate_all();
  d.clear_operation();
  CHECK(check_batch_definition(d).find("operation") != std::string::npos);
  d = terminate_all();
  d.mutable_operation()->mutable_signal();
  CHECK(check_batch_definition(d).find("signal name") != std::string::npos);
  d.mutable_operation()->mutable_reset();
  CHECK(check_batch_definition(d).find("reset type") != std::string::npos);
  d.mutable_operation()->mutable_reset()->set_reset_type(pb::RESET_TYPE_LAST_WORKFLOW_TASK);
  CHECK(check_batch_definition(d).empty());
  d = terminate_all(-1);
  CHECK(check_batch_definition(d).find("rps") != std::string::npos);
}

TEST_CASE("batch collecting takes each run once across pages and runs after the last page") {
  auto job = new_batch_job(terminate_all(), t0);
  CHECK(job.state() == pb::BATCH_JOB_STATE_COLLECTING);
  add_batch_page(job, runs(0, 3), "p2", t0);
  CHECK(job.state() == pb::BATCH_JOB_STATE_COLLECTING);
  CHECK(job.collect_page_token() == "p2");
  add_batch_page(job, runs(2, 3), "", t0);  // run 2 listed again
  CHECK(job.state() == pb::BATCH_JOB_STATE_RUNNING);
  CHECK(job.targets_size() == 5);
  auto empty = new_batch_job(terminate_all(), t0);
  add_batch_page(empty, {}, "", t0 + 5);
  CHECK(empty.state() == pb::BATCH_JOB_STATE_COMPLETED);
  CHECK(empty.close_time_ms() == t0 + 5);
}

TEST_CASE("batch rate limit spaces operations 1000 / rps ms apart") {
  auto job = running_job(50, 20);  // one every 50 ms
  auto s = batch_ready(job, 0, t0);
  CHECK(s.count == 1);
  note_batch_issued(job, s.count, t0);
  s = batch_ready(job, 1, t0 + 10);
  CHECK(s.count == 0);
  CHECK(s.next_due_ms == t0 + 50);
  s = batch_ready(job, 1, t0 + 200);
  CHECK(s.count == 4);  // t0 + 50, 100, 150, 200
  // Over one second of 10 ms ticks: 20 operations (+1 at the start).
  auto paced = running_job(50, 20);
  int64_t issued = 0;
  for (int64_t now = t0; now < t0 + 1000; now += 10) {
    auto slot = batch_ready(paced, issued, now);
    note_batch_issued(paced, slot.count, now);
    issued += slot.count;
  }
  CHECK(issued >= 20);
  CHECK(issued <= 21);
  // After a long pause (a restart) no burst beyond one second's worth.
  auto idle = running_job(50, 20);
  note_batch_issued(idle, 1, t0);
  CHECK(batch_ready(idle, 0, t0 + 60'000).count == 20);
}

TEST_CASE("batch answers are counted in target order and a repeat after a restart once") {
  auto job = running_job(4);
  std::map<int64_t, batch_answer> answers;
  answers[1] = {batch_outcome::done, ""};
  take_batch_answers(job, answers, t0);
  CHECK(job.position() == 0);  // target 0 not answered yet
  answers[0] = {batch_outcome::already_done, ""};
  take_batch_answers(job, answers, t0);
  CHECK(job.position() == 2);
  CHECK(job.done() == 2);
  CHECK(job.already_done() == 1);
  // The record as written here survives a crash; answers of 0..1 coming again are not counted.
  auto durable = job;
  std::map<int64_t, batch_answer> again{{0, {batch_outcome::done, ""}},
                                        {2, {batch_outcome::failed, "boom"}},
                                        {3, {batch_outcome::done, ""}}};
  take_batch_answers(durable, again, t0 + 9);
  CHECK(durable.done() == 3);
  CHECK(durable.failed() == 1);
  REQUIRE(durable.failures_size() == 1);
  CHECK(durable.failures(0).workflow_id() == "wf-2");
  CHECK(durable.failures(0).reason() == "boom");
  CHECK(durable.state() == pb::BATCH_JOB_STATE_COMPLETED);
  CHECK(durable.close_time_ms() == t0 + 9);
  CHECK(again.empty());
}

TEST_CASE("batch terminate of a closed run is already done - a signal to it failed") {
  pb::BatchOperation term;
  term.mutable_terminate();
  pb::BatchOperation sig;
  sig.mutable_signal()->set_name("go");
  const std::string closed = "workflow 'w' run r is closed (Terminated)";
  CHECK(classify_batch_answer(term, true, errc::internal, "") == batch_outcome::done);
  CHECK(classify_batch_answer(term, false, errc::not_found, closed) == batch_outcome::already_done);
  CHECK(classify_batch_answer(term, false, errc::not_found, "workflow 'w' not found")
        == batch_outcome::failed);
  CHECK(classify_batch_answer(sig, false, errc::not_found, closed) == batch_outcome::failed);
  CHECK(batch_request_id("job-1", runs(7, 1)[0]) == "batch/job-1/run-7");
  CHECK(batch_operation_name(sig) == "signal go");
}

TEST_CASE("batch stop closes an open job and leaves a closed one") {
  auto job = running_job(3);
  stop_batch_job(job, "enough", t0 + 1);
  CHECK(job.state() == pb::BATCH_JOB_STATE_STOPPED);
  CHECK(job.stop_reason() == "enough");
  CHECK(!batch_job_open(job));
  CHECK(batch_ready(job, 0, t0 + 2).count == 0);
  stop_batch_job(job, "again", t0 + 3);
  CHECK(job.stop_reason() == "enough");
}

TEST_CASE("batch description counts the targets without listing them") {
  auto job = running_job(5);
  std::map<int64_t, batch_answer> answers;
  answers[0] = {batch_outcome::done, ""};
  answers[1] = {batch_outcome::failed, "workflow 'wf-1' not found"};
  take_batch_answers(job, answers, t0 + 100);
  auto d = describe_batch_job(job);
  CHECK(d.definition().job_id() == "job-1");
  CHECK(d.state() == pb::BATCH_JOB_STATE_RUNNING);
  CHECK(d.total() == 5);
  CHECK(d.position() == 2);
  CHECK(d.done() == 1);
  CHECK(d.failed() == 1);
  REQUIRE(d.failures_size() == 1);
  CHECK(d.failures(0).reason() == "workflow 'wf-1' not found");
  CHECK(d.start_time_ms() == t0);
  CHECK(d.close_time_ms() == 0);
  stop_batch_job(job, "enough", t0 + 200);
  d = describe_batch_job(job);
  CHECK(d.state() == pb::BATCH_JOB_STATE_STOPPED);
  CHECK(d.stop_reason() == "enough");
  CHECK(d.close_time_ms() == t0 + 200);
}
