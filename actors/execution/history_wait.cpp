// History long polls waiting in the execution (see execution_state::history_waiters): the admin
// actor reads the events from the store; the execution only says when there is something to read.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/execution/execution_state.hpp"

namespace chronicle {

namespace {

// Waiters of one run: enough for every open web UI page and follower, bounded so that a client
// looping without waiting cannot grow the actor without end.
constexpr size_t max_history_waiters = 256;
constexpr int64_t max_history_wait_ms = 600'000;

}  // namespace

caf::result<std::string> execution_state::wait_history(caf::event_based_actor* self,
                                                       const pb::GetHistoryRequest& req) {
  if (!run) return make_error(errc::not_found, "workflow '" + args.workflow_id + "' not found");
  auto id = req.run_id().empty() ? run->run_id() : req.run_id();
  bool waits = id == run->run_id() && is_running(*run) && durable_run_id == id
               && durable_event_id <= req.after_event_id() && req.wait_ms() > 0;
  if (!waits) {  // something to read (once what is in memory is durable), or nothing to wait for
    auto rp = self->make_response_promise();
    when_durable([rp](const caf::error& err) mutable {
      if (err) rp.deliver(err);
      else rp.deliver(std::string());
    });
    return caf::delegated<std::string>{};
  }
  auto now = now_ms();
  expire_history_waiters(now);
  if (history_waiters.size() >= max_history_waiters)
    return make_error(errc::overloaded, "too many history long polls of workflow '"
                                          + args.workflow_id + "' (at most "
                                          + std::to_string(max_history_waiters)
                                          + "); ask again later");
  auto rp = self->make_response_promise();
  history_waiters.push_back(
    {id, req.after_event_id(), now + std::min(req.wait_ms(), max_history_wait_ms), rp});
  return caf::delegated<std::string>{};
}

void execution_state::notify_history_when_durable() {
  if (!run) return;
  when_durable([this, id = run->run_id(), last = run->next_event_id() - 1](const caf::error& err) {
    if (err) return;  // fail() answers the waiters
    if (id != durable_run_id) durable_event_id = 0;
    durable_run_id = id;
    durable_event_id = std::max(durable_event_id, last);
    auto woken = std::partition(history_waiters.begin(), history_waiters.end(),
                                [&](const history_waiter& w) {
                                  return w.run_id == id && w.after_event_id >= durable_event_id;
                                });
    for (auto it = woken; it != history_waiters.end(); ++it) it->rp.deliver(std::string());
    history_waiters.erase(woken, history_waiters.end());
  });
}

void execution_state::expire_history_waiters(int64_t now) {
  auto expired = std::partition(history_waiters.begin(), history_waiters.end(),
                                [now](const history_waiter& w) { return w.deadline_ms > now; });
  for (auto it = expired; it != history_waiters.end(); ++it) it->rp.deliver(std::string());
  history_waiters.erase(expired, history_waiters.end());
}

}  // namespace chronicle
