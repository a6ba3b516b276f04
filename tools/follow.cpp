#include "tools/follow.hpp"

#include <algorithm>
#include <thread>

#include "tools/render.hpp"

namespace chronicle::cli {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto progress_after = std::chrono::seconds(2);
constexpr auto progress_every = std::chrono::seconds(5);

milliseconds left_until(clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - clock::now()));
}

std::string progress_line(client& c, const result_request& r) {
  auto line = "waiting for workflow '" + r.workflow_id + "'";
  auto d = c.describe(r.ns, r.workflow_id, r.run_id);
  if (d)
    line += std::string(" (status ") + status_name(d->status()) + ", "
            + std::to_string(d->history_length()) + " events)";
  return line + "...";
}

// The run that `run_id` continued as: from its close event, else from describe.
std::string next_run(client& c, const result_request& r, const std::string& run_id,
                     const pb::HistoryEvent& close) {
  auto next = close.workflow_execution_continued_as_new().new_execution_run_id();
  if (!next.empty()) return next;
  auto d = c.describe(r.ns, r.workflow_id, run_id);
  return d ? d->continued_to_run_id() : std::string();
}

}  // namespace

caf::expected<pb::GetResultResponse> wait_result(client& c, const result_request& r,
                                                 std::ostream* progress) {
  if (!progress) return c.result(r.ns, r.workflow_id, r.run_id, r.timeout);
  auto deadline = clock::now() + r.timeout;
  auto slice = milliseconds(progress_after);
  bool shown = false;
  for (;;) {
    auto slice_end = std::min(deadline, clock::now() + slice);
    auto res = c.result(r.ns, r.workflow_id, r.run_id, left_until(slice_end));
    // An answer, a real error (well before the slice's end: the client's own timeout may end a
    // millisecond early), or the whole timeout used up: done. Else the slice ran out.
    if (res || clock::now() + milliseconds(100) < slice_end || clock::now() >= deadline) {
      if (shown) *progress << "\r\033[K" << std::flush;
      return res;
    }
    *progress << "\r\033[K" << progress_line(c, r) << std::flush;
    shown = true;
    slice = progress_every;
  }
}

namespace {

// One long poll waits at most this long: a node that died while it waited is noticed by then.
constexpr auto follow_poll = milliseconds(5000);
constexpr auto backoff_first = milliseconds(200);
constexpr auto backoff_max = milliseconds(5000);

// Whether a failed history request is worth asking again: no answer (node gone, timeout) or a
// passing condition (shard changing leader, too many waiters). Anything else is final.
bool transient(const caf::error& err) {
  auto code = chronicle_code(err);
  return code == 0 || code == static_cast<uint8_t>(errc::unavailable)
         || code == static_cast<uint8_t>(errc::overloaded);
}

}  // namespace

caf::expected<pb::GetResultResponse> follow_result(client& c, const result_request& r, bool json,
                                                   std::ostream& out, std::ostream& notes) {
  auto deadline = clock::now() + r.timeout;
  std::string run = r.run_id;  // empty until the first answer names the current run
  int64_t seen = 0;            // the last event printed of `run`
  auto backoff = backoff_first;
  bool reconnecting = false;
  caf::error last;
  while (clock::now() < deadline) {
    auto h = c.history_after(r.ns, r.workflow_id, run, seen,
                             std::min(follow_poll, std::max(left_until(deadline), milliseconds(1))));
    if (!h) {
      if (!transient(h.error())) return h.error();  // e.g. not found
      last = h.error();
      if (!reconnecting)
        notes << "connection to the node lost (" << error_text(last) << "); reconnecting..."
              << std::endl;
      reconnecting = true;
      std::this_thread::sleep_for(std::min(backoff, left_until(deadline)));
      backoff = std::min(backoff * 2, backoff_max);
      continue;
    }
    if (reconnecting) notes << "reconnected; resuming after event " << seen << std::endl;
    reconnecting = false;
    backoff = backoff_first;
    run = h->run_id();
    for (auto& ev : h->events()) {
      if (ev.event_id() <= seen) continue;  // never printed twice
      out << (json ? event_json_line(ev) : event_line(ev)) << "\n";
      seen = ev.event_id();
      if (!is_close_event(ev)) continue;
      out << std::flush;
      if (!ev.has_workflow_execution_continued_as_new())
        return c.result(r.ns, r.workflow_id, run,
                        std::max(left_until(deadline), milliseconds(1000)));
      auto next = next_run(c, r, run, ev);
      if (next.empty())
        return make_error(errc::internal, "run " + run + " continued as new to an unknown run");
      if (!json) out << "--- continued as new: run " << next << "\n";
      run = next;
      seen = 0;
      break;
    }
    out << std::flush;
  }
  return make_error(errc::unavailable, "timed out following workflow '" + r.workflow_id + "'"
                                         + (last ? " (" + error_text(last) + ")" : ""));
}

}  // namespace chronicle::cli
