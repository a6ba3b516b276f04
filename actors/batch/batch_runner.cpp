#include "actors/batch/batch_runner.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <random>

#include "actors/batch/batch_state.hpp"
#include "actors/execution/record_writes.hpp"
#include "actors/routing/validation.hpp"

namespace chronicle {

namespace {

// A pipeline failure (a lost leadership, a disk error) leaves memory ahead of the disk: the
// jobs are reloaded from the store after this long.
constexpr auto reload_delay = std::chrono::seconds(1);
// The first page of a start's query (the start is refused when the query is not valid).
constexpr auto first_page_timeout = std::chrono::seconds(30);

caf::error unknown(const std::string& ns, const std::string& id) {
  return make_error(errc::not_found, "batch job '" + id + "' not found in namespace '" + ns + "'");
}

// Loads the shard's jobs and resumes the open ones (at start and after a failed write).
void load(batch_runner_ptr self) {
  auto& st = self->state;
  st.jobs.clear();
  auto s = st.env->store->scan_batch_jobs(st.shard, [&](const pb::BatchJobRecord& rec) {
    auto& j = st.jobs[batch_key(rec.definition().namespace_(), rec.definition().job_id())];
    j.rec = rec;
    j.next = rec.position();
  });
  if (!s.ok()) {
    spdlog::error("shard {}: batch jobs not loaded: {} (retrying)", st.shard, s.message());
    self->delayed_send(self, reload_delay, bat_reload_atom::value);
    return;
  }
  int open = 0;
  for (auto& [key, j] : st.jobs)
    if (batch_job_open(j.rec)) {
      ++open;
      drive(self, key);
    }
  if (open > 0) spdlog::info("shard {}: {} open batch jobs resumed", st.shard, open);
}

// Answers `rp` with the job's description as it is now (what the writes submitted so far hold),
// once they are durable.
std::function<void(const storage::status&)> reply_with(batch_runner_ptr self,
                                                       caf::response_promise rp,
                                                       const std::string& key) {
  auto it = self->state.jobs.find(key);
  auto desc = it == self->state.jobs.end() ? std::string()
                                           : encode(describe_batch_job(it->second.rec));
  return [rp, desc](const storage::status& s) mutable {
    if (!s.ok()) return rp.deliver(record_writes::write_error(s));
    rp.deliver(desc);
  };
}

caf::result<std::string> on_start(batch_runner_ptr self, const std::string& bytes) {
  auto req = decode<pb::StartBatchJobRequest>(bytes, "StartBatchJobRequest");
  if (!req) return req.error();
  auto def = req->definition();
  def.set_namespace_(req->namespace_());
  def.set_job_id(req->job_id());
  def.set_request_id(req->request_id());
  auto why = check_batch_definition(def);
  if (!why.empty()) return make_error(errc::invalid_argument, why);
  auto& st = self->state;
  auto key = batch_key(req->namespace_(), req->job_id());
  if (auto it = st.jobs.find(key); it != st.jobs.end()) {
    if (!req->request_id().empty() && it->second.rec.definition().request_id() == req->request_id()) {
      auto rp = self->make_response_promise<std::string>();
      st.pipe->when_durable(reply_with(self, rp, key));
      return rp;
    }
    return make_error(errc::already_started, "batch job '" + req->job_id()
                                               + "' already exists in namespace '"
                                               + req->namespace_() + "'");
  }
  if (st.starting.count(key))
    return make_error(errc::unavailable, "batch job '" + req->job_id() + "' is being started; retry");
  st.starting.insert(key);
  auto rp = self->make_response_promise<std::string>();
  auto gen = st.generation;
  auto first = new_batch_job(def, now_ms());
  caf::response_promise prom = rp;
  self->request(st.env->admin, first_page_timeout, list_atom::value, encode(page_request(first)))
    .then(
      [=](const std::string& reply) mutable {
        auto& st = self->state;
        st.starting.erase(key);
        if (gen != st.generation)
          return prom.deliver(make_error(errc::unavailable, "batch runner reloaded; retry"));
        auto resp = decode<pb::ListWorkflowsResponse>(reply, "ListWorkflowsResponse");
        if (!resp) return prom.deliver(resp.error());
        auto& j = st.jobs[key];
        j.rec = first;
        j.rec.set_start_time_ms(now_ms());
        // A member that did not answer: its runs are read again with the first page later.
        if (resp->missing_nodes().empty())
          add_batch_page(j.rec, targets_of(*resp), hex_of(resp->next_page_token()), now_ms());
        spdlog::info("batch job '{}' ({}, namespace {}): started, {} targets so far",
                     j.rec.definition().job_id(), batch_operation_name(def.operation()),
                     def.namespace_(), j.rec.targets_size());
        auto answer = reply_with(self, prom, key);
        write_job(self, key, [self, key, gen, answer](const storage::status& s) mutable {
          answer(s);
          if (s.ok() && gen == self->state.generation) drive(self, key);
        });
      },
      [=](caf::error& err) mutable {
        self->state.starting.erase(key);
        if (static_cast<errc>(chronicle_code(err)) == errc::invalid_argument)
          return prom.deliver(make_error(errc::invalid_argument, "query: " + error_text(err)));
        prom.deliver(err);
      });
  return rp;
}

caf::result<std::string> on_describe(batch_runner_ptr self, const std::string& bytes) {
  auto req = decode<pb::DescribeBatchJobRequest>(bytes, "DescribeBatchJobRequest");
  if (!req) return req.error();
  auto key = batch_key(req->namespace_(), req->job_id());
  auto it = self->state.jobs.find(key);
  if (it == self->state.jobs.end()) return unknown(req->namespace_(), req->job_id());
  // Shown once what it shows is durable: progress not yet written goes now.
  auto rp = self->make_response_promise<std::string>();
  if (it->second.dirty) {
    it->second.dirty = false;
    write_job(self, key, reply_with(self, rp, key));
  } else {
    self->state.pipe->when_durable(reply_with(self, rp, key));
  }
  return rp;
}

caf::result<std::string> on_stop(batch_runner_ptr self, const std::string& bytes) {
  auto req = decode<pb::StopBatchJobRequest>(bytes, "StopBatchJobRequest");
  if (!req) return req.error();
  auto key = batch_key(req->namespace_(), req->job_id());
  auto it = self->state.jobs.find(key);
  if (it == self->state.jobs.end()) return unknown(req->namespace_(), req->job_id());
  auto rp = self->make_response_promise<std::string>();
  if (!batch_job_open(it->second.rec)) {
    self->state.pipe->when_durable(reply_with(self, rp, key));
    return rp;
  }
  auto reason = req->reason().empty() ? std::string("stopped") : req->reason();
  if (!req->identity().empty()) reason += " (by " + req->identity() + ")";
  stop_batch_job(it->second.rec, reason, now_ms());
  spdlog::info("batch job '{}': stopped: {}", req->job_id(), reason);
  write_job(self, key, reply_with(self, rp, key));
  return rp;
}

// A random job ID, or one made from the request ID (FNV-1a, so a retry names the same job).
std::string generated_job_id(const std::string& request_id) {
  uint64_t h = 0;
  if (request_id.empty()) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    h = rng();
  } else {
    h = 14695981039346656037ull;
    for (unsigned char c : request_id) {
      h ^= c;
      h *= 1099511628211ull;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string("batch-") + buf;
}

}  // namespace

std::string batch_key(const std::string& ns, const std::string& job_id) { return ns + '\0' + job_id; }

void write_job(batch_runner_ptr self, const std::string& key,
               std::function<void(const storage::status&)> done) {
  auto& st = self->state;
  auto it = st.jobs.find(key);
  if (it == st.jobs.end()) return;
  storage::write_batch batch;
  batch.put_batch_job(st.shard, it->second.rec);
  auto seq = record_writes::submit<bat_commit_atom>(self, std::move(batch));
  if (done) st.pipe->after(seq, std::move(done));
}

bool is_batch_request(caf::atom_value atom) {
  return atom == bat_start_atom::value || atom == bat_describe_atom::value
         || atom == bat_stop_atom::value;
}

caf::error validate_batch_request(const validation_limits& lim, caf::atom_value& kind,
                                  std::string& bytes) {
  pb::StartBatchJobRequest start;
  pb::DescribeBatchJobRequest head;  // namespace and job ID of the others (the rest kept)
  bool is_start = kind == bat_start_atom::value;
  if (is_start ? !start.ParseFromString(bytes) : !head.ParseFromString(bytes))
    return make_error(errc::bad_message, "malformed batch request message");
  auto* ns = is_start ? start.mutable_namespace_() : head.mutable_namespace_();
  auto* id = is_start ? start.mutable_job_id() : head.mutable_job_id();
  if (ns->empty()) *ns = default_namespace;
  if (is_start && id->empty()) *id = generated_job_id(start.request_id());
  for (auto& [what, value] : {std::pair{"namespace", ns}, std::pair{"batch job ID", id}}) {
    auto reason = check_id(what, *value);
    if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  }
  if (id->size() > 200) return make_error(errc::invalid_argument, "batch job ID is over 200 bytes");
  if (lim.config && !lim.config->namespace_known(*ns))
    return make_error(errc::invalid_argument, "unknown namespace '" + *ns
                                                + "' (register it: chronicle namespace register)");
  if (is_start && start.definition().operation().has_signal()
      && start.definition().operation().signal().input().ByteSizeLong() > lim.payload)
    return make_error(errc::invalid_argument, "the signal's input is over max_payload_bytes ("
                                                + std::to_string(lim.payload) + ")");
  bytes = is_start ? encode(start) : encode(head);
  return caf::none;
}

caf::behavior batch_runner(caf::stateful_actor<batch_runner_state>* self, env_ptr env,
                           uint32_t shard, std::shared_ptr<storage::commit_log> log) {
  auto& st = self->state;
  st.env = std::move(env);
  st.shard = shard;
  st.log = std::move(log);
  record_writes::renew(self->state);
  harden(self, "batch runner");
  load(self);
  auto current = [self](uint64_t gen) { return gen == self->state.generation; };
  return {
    [=](bat_start_atom, const std::string& bytes) { return on_start(self, bytes); },
    [=](bat_describe_atom, const std::string& bytes) { return on_describe(self, bytes); },
    [=](bat_stop_atom, const std::string& bytes) { return on_stop(self, bytes); },
    [=](bat_tick_atom, uint64_t gen, const std::string& key) {
      if (!current(gen)) return;
      auto it = self->state.jobs.find(key);
      if (it == self->state.jobs.end()) return;
      it->second.tick_at = 0;
      drive(self, key);
    },
    [=](bat_page_atom, uint64_t gen, const std::string& key) {
      if (current(gen)) drive(self, key);
    },
    [=](bat_op_atom, uint64_t gen, const std::string& key, int64_t index) {
      if (current(gen)) issue(self, key, index);
    },
    [=](bat_flush_atom, uint64_t gen, const std::string& key) {
      if (!current(gen)) return;
      auto it = self->state.jobs.find(key);
      if (it == self->state.jobs.end()) return;
      it->second.flush_armed = false;
      if (it->second.dirty) write_progress(self, key);
    },
    [=](bat_commit_atom, uint64_t gen, uint64_t seq, bool ok, bool unavailable,
        const std::string& what) {
      auto& st = self->state;
      if (record_writes::answered(st, gen, seq, ok, unavailable, what)) {
        spdlog::error("shard {}: batch job write failed: {} (reloading)", st.shard, what);
        self->delayed_send(self, reload_delay, bat_reload_atom::value);
      }
    },
    [=](bat_reload_atom) {
      record_writes::renew(self->state);
      load(self);
    },
  };
}

caf::actor spawn_batch_runner(caf::local_actor* parent, env_ptr env, uint32_t shard,
                              std::shared_ptr<storage::commit_log> log) {
  return parent->spawn(batch_runner, std::move(env), shard, std::move(log));
}

}  // namespace chronicle
