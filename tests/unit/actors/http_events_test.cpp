// The gateway's event stream (GET .../events) without a node: the node calls it makes and the
// pieces it turns their answers into.
#include <doctest/doctest.h>

#include "actors/http/api.hpp"

namespace chronicle::http {
namespace {

pb::GetHistoryRequest asked(const node_call& call) {
  CHECK(call.kind == history_atom::value);
  auto req = decode<pb::GetHistoryRequest>(call.bytes, "GetHistoryRequest");
  REQUIRE(req);
  return *req;
}

pb::HistoryEvent event(int64_t id, bool close = false) {
  pb::HistoryEvent ev;
  ev.set_event_id(id);
  ev.set_event_type(close ? pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
                          : pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  if (close) ev.mutable_workflow_execution_completed();
  else ev.mutable_workflow_task_scheduled();
  return ev;
}

// The node's answer: `ids` of run "r1", the run's status and last event.
std::string answer(std::vector<int64_t> ids, pb::WorkflowExecutionStatus status, int64_t last,
                   bool last_closes = false) {
  pb::GetHistoryResponse r;
  r.set_run_id("r1");
  r.set_status(status);
  r.set_last_event_id(last);
  for (auto id : ids) *r.add_events() = event(id, last_closes && id == ids.back());
  return encode(r);
}

constexpr auto running = pb::WORKFLOW_EXECUTION_STATUS_RUNNING;
constexpr auto completed = pb::WORKFLOW_EXECUTION_STATUS_COMPLETED;

step open(const std::string& last_event_id, const query_map& query = {}) {
  return events_endpoint(request{"GET", "/", "", last_event_id}, "default", "wf", query);
}

TEST_CASE("event stream asks at once then sends each event as id and data and polls after the last") {
  auto s = open("");
  REQUIRE(s.call);
  auto first = asked(*s.call);
  CHECK(first.after_event_id() == 0);
  CHECK(first.wait_ms() == 0);  // the head goes out without waiting for an event
  auto piece = s.call->finish(answer({1, 2}, running, 2));
  REQUIRE(piece.done);
  CHECK(piece.done->status == 200);
  CHECK(piece.done->content_type == "text/event-stream");
  CHECK(piece.done->body.rfind("retry: 2000\n\n", 0) == 0);
  CHECK(piece.done->body.find("id: 1\ndata: {\"event_id\":1,") != std::string::npos);
  CHECK(piece.done->body.find("id: 2\ndata: {\"event_id\":2,") != std::string::npos);
  REQUIRE(piece.done->more);
  auto next = asked(*piece.done->more);
  CHECK(next.after_event_id() == 2);
  CHECK(next.run_id() == "r1");  // stays on the run it started with
  CHECK(next.wait_ms() > 0);
  // Nothing new: a comment line, then the same poll again.
  auto beat = piece.done->more->finish(answer({}, running, 2));
  REQUIRE(beat.done);
  CHECK(beat.done->body == ": heartbeat\n\n");
  REQUIRE(beat.done->more);
  CHECK(asked(*beat.done->more).after_event_id() == 2);
}

TEST_CASE("event stream ends with the run's close event") {
  auto s = open("");
  auto piece = s.call->finish(answer({1, 2, 3}, completed, 3, true));
  REQUIRE(piece.done);
  CHECK(piece.done->body.find("id: 3\n") != std::string::npos);
  CHECK_FALSE(piece.done->more);
}

TEST_CASE("event stream of a closed run with nothing after the last event is 204") {
  auto s = open("3");
  REQUIRE(s.call);
  CHECK(asked(*s.call).after_event_id() == 3);
  auto r = s.call->finish(answer({}, completed, 3));
  REQUIRE(r.done);
  CHECK(r.done->status == 204);
  CHECK_FALSE(r.done->more);
}

TEST_CASE("event stream resumes after Last-Event-ID which wins over after") {
  auto s = open("7", {{"after", "2"}});
  REQUIRE(s.call);
  CHECK(asked(*s.call).after_event_id() == 7);
  s = open("", {{"after", "2"}});
  CHECK(asked(*s.call).after_event_id() == 2);
  for (auto bad : {"x", "-1", "1.5"}) {
    s = open(bad);
    REQUIRE(s.done);
    CHECK(s.done->status == 400);
  }
  s = open("", {{"wait", "true"}});  // not a parameter of the stream
  REQUIRE(s.done);
  CHECK(s.done->status == 400);
}

TEST_CASE("event stream errors are JSON before it starts and an error event after") {
  auto s = open("");
  auto r = s.call->finish(make_error(errc::not_found, "workflow 'wf' not found"));
  REQUIRE(r.done);
  CHECK(r.done->status == 404);
  CHECK(r.done->content_type == "application/json");
  auto piece = s.call->finish(answer({1}, running, 1));
  auto err = piece.done->more->finish(make_error(errc::unavailable, "shard moving"));
  REQUIRE(err.done);
  CHECK(err.done->body.rfind("event: error\ndata: {", 0) == 0);
  CHECK(err.done->body.find("unavailable") != std::string::npos);
  CHECK_FALSE(err.done->more);
}

}  // namespace
}  // namespace chronicle::http
