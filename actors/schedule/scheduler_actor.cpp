#include "actors/schedule/scheduler_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/execution/record_writes.hpp"
#include "actors/routing/validation.hpp"
#include "actors/schedule/scheduler_state.hpp"

namespace chronicle {

namespace {

using entry = scheduler_state::entry;

// A pipeline failure (a lost leadership, a disk error) leaves memory ahead of the disk: the
// schedules are reloaded from the store after this long.
constexpr auto reload_delay = std::chrono::seconds(1);

caf::error unknown(const std::string& ns, const std::string& id) {
  return make_error(errc::not_found, "schedule '" + id + "' not found in namespace '" + ns + "'");
}

// Compiles the record's spec into its entry (an error is kept and shown by describe).
void compile_into(entry& e) {
  std::string why;
  auto spec = schedules::compiled_spec::compile(e.rec.definition().spec(), e.rec.schedule_id(), &why);
  if (spec) e.spec = std::make_shared<const schedules::compiled_spec>(std::move(*spec));
  else e.spec.reset();
  e.spec_error = spec ? "" : why;
}

// Loads the shard's schedules and restarts their work (at start and after a failed write).
void load(scheduler_ptr self) {
  auto& st = self->state;
  st.schedules.clear();
  auto s = st.env->store->scan_schedules(st.shard, [&](const pb::ScheduleRecord& rec) {
    auto& e = st.schedules[schedule_key(rec.namespace_(), rec.schedule_id())];
    e.rec = rec;
    compile_into(e);
    if (!e.spec_error.empty())
      spdlog::error("schedule '{}': {} (no action is taken)", rec.schedule_id(), e.spec_error);
  });
  if (!s.ok()) {
    spdlog::error("shard {}: schedules not loaded: {} (retrying)", st.shard, s.message());
    self->delayed_send(self, reload_delay, sch_reload_atom::value);
    return;
  }
  for (auto& [key, e] : st.schedules) resume_runs(self, e.rec);
  if (!st.schedules.empty())
    spdlog::info("shard {}: {} schedules loaded", st.shard, st.schedules.size());
  st.wakeup_at = 0;
  self->send(self, sch_tick_atom::value);  // the action times missed while down
}

// Takes every schedule's due action times.
void tick(scheduler_ptr self) {
  auto& st = self->state;
  st.wakeup_at = 0;
  auto now = now_ms();
  for (auto& [key, e] : st.schedules) {
    if (!e.spec) continue;
    auto due = schedules::next_wakeup(e.rec, *e.spec);
    if (!due || *due > now) continue;
    auto fx = schedules::advance(e.rec, *e.spec, now);
    commit(self, e, std::move(fx));
  }
  rearm(self);
}

// The description of an entry (with the next action times when its spec compiles).
pb::ScheduleDescription description(const entry& e) {
  if (e.spec) return schedules::describe(e.rec, *e.spec);
  pb::ScheduleDescription d;
  d.set_namespace_(e.rec.namespace_());
  d.set_schedule_id(e.rec.schedule_id());
  *d.mutable_definition() = e.rec.definition();
  *d.mutable_info() = e.rec.info();
  return d;
}

// Answers `rp` with the entry's description once its write is durable.
std::function<void(const storage::status&)> reply_with(scheduler_ptr self, caf::response_promise rp,
                                                       std::string key) {
  return [self, rp, key](const storage::status& s) mutable {
    if (!s.ok()) return rp.deliver(record_writes::write_error(s));
    auto it = self->state.schedules.find(key);
    if (it == self->state.schedules.end()) return rp.deliver(encode(pb::ScheduleDescription{}));
    rp.deliver(encode(description(it->second)));
  };
}

template <class Req>
caf::expected<Req> request_of(const std::string& bytes, const char* what) {
  return decode<Req>(bytes, what);
}

caf::result<std::string> on_create(scheduler_ptr self, const std::string& bytes) {
  auto req = request_of<pb::CreateScheduleRequest>(bytes, "CreateScheduleRequest");
  if (!req) return req.error();
  auto why = schedules::check_definition(req->definition());
  if (!why.empty()) return make_error(errc::invalid_argument, why);
  auto key = schedule_key(req->namespace_(), req->schedule_id());
  auto& st = self->state;
  if (st.schedules.count(key))
    return make_error(errc::already_started, "schedule '" + req->schedule_id()
                                               + "' already exists in namespace '"
                                               + req->namespace_() + "'");
  auto& e = st.schedules[key];
  e.rec = schedules::created(req->namespace_(), req->schedule_id(), req->definition(), now_ms());
  compile_into(e);
  auto rp = self->make_response_promise<std::string>();
  commit(self, e, {}, reply_with(self, rp, key));
  rearm(self);
  return rp;
}

caf::result<std::string> on_update(scheduler_ptr self, const std::string& bytes) {
  auto req = request_of<pb::UpdateScheduleRequest>(bytes, "UpdateScheduleRequest");
  if (!req) return req.error();
  auto key = schedule_key(req->namespace_(), req->schedule_id());
  auto it = self->state.schedules.find(key);
  if (it == self->state.schedules.end()) return unknown(req->namespace_(), req->schedule_id());
  auto why = schedules::check_definition(req->definition());
  if (!why.empty()) return make_error(errc::invalid_argument, why);
  schedules::updated(it->second.rec, req->definition(), now_ms());
  compile_into(it->second);
  auto rp = self->make_response_promise<std::string>();
  commit(self, it->second, {}, reply_with(self, rp, key));
  rearm(self);
  return rp;
}

caf::result<std::string> on_patch(scheduler_ptr self, const std::string& bytes) {
  auto req = request_of<pb::PatchScheduleRequest>(bytes, "PatchScheduleRequest");
  if (!req) return req.error();
  auto key = schedule_key(req->namespace_(), req->schedule_id());
  auto it = self->state.schedules.find(key);
  if (it == self->state.schedules.end()) return unknown(req->namespace_(), req->schedule_id());
  int asked = req->pause() + req->unpause() + req->trigger()
              + (req->backfill_start_ms() != 0 || req->backfill_end_ms() != 0);
  if (asked != 1)
    return make_error(errc::invalid_argument,
                      "a patch asks for exactly one of pause, unpause, trigger, backfill");
  if (!pb::ScheduleOverlapPolicy_IsValid(req->overlap()))
    return make_error(errc::invalid_argument, "unknown overlap policy");
  auto& e = it->second;
  auto now = now_ms();
  schedules::effects fx;
  if (req->pause()) schedules::pause(e.rec, req->note(), now);
  else if (req->unpause()) schedules::unpause(e.rec, req->note(), now);
  else if (req->trigger()) fx = schedules::trigger(e.rec, req->overlap(), now);
  else {
    if (req->backfill_end_ms() < req->backfill_start_ms() || req->backfill_start_ms() <= 0)
      return make_error(errc::invalid_argument, "backfill: the start must be positive and not after the end");
    if (!e.spec) return make_error(errc::invalid_argument, "the schedule's spec: " + e.spec_error);
    fx = schedules::backfill(e.rec, *e.spec, req->backfill_start_ms(), req->backfill_end_ms(),
                             req->overlap(), now);
  }
  auto rp = self->make_response_promise<std::string>();
  commit(self, e, std::move(fx), reply_with(self, rp, key));
  rearm(self);
  return rp;
}

caf::result<std::string> on_delete(scheduler_ptr self, const std::string& bytes) {
  auto req = request_of<pb::DeleteScheduleRequest>(bytes, "DeleteScheduleRequest");
  if (!req) return req.error();
  auto key = schedule_key(req->namespace_(), req->schedule_id());
  auto it = self->state.schedules.find(key);
  if (it == self->state.schedules.end()) return unknown(req->namespace_(), req->schedule_id());
  auto rp = self->make_response_promise<std::string>();
  // Answered with what it was (an untyped promise in the callback, as reply_with).
  caf::response_promise prom = rp;
  auto desc = encode(description(it->second));
  commit(self, it->second, {}, [prom, desc](const storage::status& s) mutable {
    if (!s.ok()) return prom.deliver(record_writes::write_error(s));
    prom.deliver(desc);
  }, true);
  self->state.schedules.erase(it);
  return rp;
}

caf::result<std::string> on_describe(scheduler_ptr self, const std::string& bytes) {
  auto req = request_of<pb::DescribeScheduleRequest>(bytes, "DescribeScheduleRequest");
  if (!req) return req.error();
  auto key = schedule_key(req->namespace_(), req->schedule_id());
  if (!self->state.schedules.count(key)) return unknown(req->namespace_(), req->schedule_id());
  // Shown once what it shows is durable.
  auto rp = self->make_response_promise<std::string>();
  self->state.pipe->when_durable(reply_with(self, rp, key));
  return rp;
}

}  // namespace

std::string schedule_key(const std::string& ns, const std::string& id) { return ns + '\0' + id; }

void commit(scheduler_ptr self, entry& e, schedules::effects fx,
            std::function<void(const storage::status&)> done, bool erase) {
  auto& st = self->state;
  storage::write_batch batch;
  if (erase) {
    batch.delete_schedule(st.shard, e.rec.namespace_(), e.rec.schedule_id());
  } else {
    e.rec.set_version(e.rec.version() + 1);
    batch.put_schedule(st.shard, e.rec);
  }
  auto seq = record_writes::submit<sch_commit_atom>(self, std::move(batch));
  st.pipe->after(seq, [self, ns = e.rec.namespace_(), id = e.rec.schedule_id(), fx = std::move(fx),
                       done = std::move(done)](const storage::status& s) {
    if (s.ok() && !fx.empty()) perform(self, ns, id, fx);
    if (done) done(s);
  });
}

void rearm(scheduler_ptr self) {
  auto& st = self->state;
  std::optional<int64_t> first;
  for (auto& [key, e] : st.schedules) {
    if (!e.spec) continue;
    auto t = schedules::next_wakeup(e.rec, *e.spec);
    if (t && (!first || *t < *first)) first = t;
  }
  if (!first || (st.wakeup_at != 0 && st.wakeup_at <= *first)) return;
  st.wakeup_at = *first;
  auto delay = std::max<int64_t>(*first - now_ms(), 0);
  self->delayed_send(self, std::chrono::milliseconds(delay), sch_tick_atom::value);
}

bool is_schedule_request(caf::atom_value atom) {
  return atom == sch_create_atom::value || atom == sch_update_atom::value
         || atom == sch_patch_atom::value || atom == sch_delete_atom::value
         || atom == sch_describe_atom::value;
}

caf::error validate_schedule_request(const validation_limits& lim, caf::atom_value&,
                                     std::string& bytes) {
  // Every schedule request has the namespace and the schedule ID as fields 1 and 2: parsed as
  // the smallest of them, the others' fields are kept (as unknown fields) when re-encoded.
  auto req = decode<pb::DescribeScheduleRequest>(bytes, "schedule request");
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  for (auto& [what, value] : {std::pair{"namespace", &req->namespace_()},
                              std::pair{"schedule ID", &req->schedule_id()}}) {
    auto reason = check_id(what, *value);
    if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  }
  if (lim.config && !lim.config->namespace_known(req->namespace_()))
    return make_error(errc::invalid_argument, "unknown namespace '" + req->namespace_()
                                                + "' (register it: chronicle namespace register)");
  bytes = encode(*req);
  return caf::none;
}

caf::behavior scheduler_actor(caf::stateful_actor<scheduler_state>* self, env_ptr env,
                              uint32_t shard, std::shared_ptr<storage::commit_log> log) {
  auto& st = self->state;
  st.env = std::move(env);
  st.shard = shard;
  st.log = std::move(log);
  record_writes::renew(self->state);
  harden(self, "scheduler");
  load(self);
  return {
    [=](sch_create_atom, const std::string& bytes) { return on_create(self, bytes); },
    [=](sch_update_atom, const std::string& bytes) { return on_update(self, bytes); },
    [=](sch_patch_atom, const std::string& bytes) { return on_patch(self, bytes); },
    [=](sch_delete_atom, const std::string& bytes) { return on_delete(self, bytes); },
    [=](sch_describe_atom, const std::string& bytes) { return on_describe(self, bytes); },
    [=](sch_tick_atom) { tick(self); },
    [=](sch_commit_atom, uint64_t gen, uint64_t seq, bool ok, bool unavailable,
        const std::string& what) {
      auto& st = self->state;
      if (record_writes::answered(st, gen, seq, ok, unavailable, what)) {
        spdlog::error("shard {}: schedule write failed: {} (reloading)", st.shard, what);
        self->delayed_send(self, reload_delay, sch_reload_atom::value);
      }
    },
    [=](sch_start_atom, const std::string& ns, const std::string& id, const std::string& wid) {
      start_workflow(self, ns, id, wid);
    },
    [=](sch_watch_atom, const std::string& ns, const std::string& id, const std::string& wid,
        const std::string& run_id) { watch_workflow(self, ns, id, wid, run_id); },
    [=](sch_stop_atom, const std::string& ns, const std::string& id, const std::string& wid) {
      stop_again(self, ns, id, wid);
    },
    [=](sch_reload_atom) {
      record_writes::renew(self->state);
      load(self);
    },
  };
}

caf::actor spawn_scheduler(caf::local_actor* parent, env_ptr env, uint32_t shard,
                           std::shared_ptr<storage::commit_log> log) {
  return parent->spawn(scheduler_actor, std::move(env), shard, std::move(log));
}

}  // namespace chronicle
