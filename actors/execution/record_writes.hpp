// The write path shared by the actors that keep records of their shard through its commit log
// (the scheduler, the batch runner). `State` has `log` (the shard's commit log), `pipe` (a
// commit_pipeline over it) and `generation` (of `pipe`: answers of an older one are dropped).
// A write's answer comes back to the actor as a message (CommitAtom, generation, seq, ok,
// unavailable, what) that the actor hands to answered().
#pragma once

#include <caf/all.hpp>

#include <memory>
#include <string>

#include "actors/execution/commit_pipeline.hpp"
#include "protocol/codec.hpp"

namespace chronicle::record_writes {

// A fresh pipeline: at start, and after a failed write before the records are loaded again.
template <class State>
void renew(State& st) {
  st.pipe = std::make_unique<commit_pipeline>(st.log.get());
  ++st.generation;
}

// Submits `batch` (write-behind); its answer is posted back to `self` as above.
template <class CommitAtom, class Self>
uint64_t submit(Self* self, storage::write_batch batch) {
  auto dest = caf::actor_cast<caf::actor>(self);
  auto gen = self->state.generation;
  return self->state.pipe->submit(std::move(batch), [dest, gen](uint64_t seq, const storage::status& s) {
    caf::anon_send(dest, CommitAtom::value, gen, seq, s.ok(), s.is_unavailable(), s.message());
  });
}

// An answer posted back: true iff it failed the current pipeline now (the owner then reloads).
template <class State>
bool answered(State& st, uint64_t gen, uint64_t seq, bool ok, bool unavailable,
              const std::string& what) {
  if (gen != st.generation) return false;
  auto status = ok ? storage::status{}
                   : unavailable ? storage::status::unavailable(what) : storage::status::error(what);
  return st.pipe->on_committed(seq, status);
}

// What a request whose write failed is answered.
inline caf::error write_error(const storage::status& st) {
  if (st.is_unavailable()) return make_error(errc::unavailable, st.message());
  return make_error(errc::internal, "storage write failed: " + st.message());
}

}  // namespace chronicle::record_writes
