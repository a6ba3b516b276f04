// The three things a raft group needs from its host: durable storage, a network and time.
// chronicle::raft::io adapts them to libraft's struct raft_io. Every callback named here is
// delivered by the owner's event loop (the simulator in tests, later a CAF actor): nothing here
// starts a thread or calls back from inside the call that submitted the work.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronicle::raft {

struct stored_entry {
  uint64_t term = 0;
  uint16_t type = 0;  // RAFT_COMMAND, RAFT_BARRIER or RAFT_CHANGE
  std::string data;
  bool operator==(const stored_entry&) const = default;
};

struct stored_snapshot {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string configuration;  // encoded by io (encode_configuration)
  uint64_t configuration_index = 0;
  std::string data;           // the state machine's opaque bytes
};

struct loaded_state {
  uint64_t term = 0;
  uint64_t vote = 0;
  std::optional<stored_snapshot> snapshot;
  uint64_t start_index = 1;  // index of entries[0]
  std::vector<stored_entry> entries;
  // Non-empty: the stored state cannot be read (corrupt or I/O error); io's load then fails with
  // RAFT_CORRUPT and the group does not start. The other fields are meaningless.
  std::string error;
};

// Persistent state of one replica: term, vote, log and the last snapshot.
class log_store {
 public:
  using done_fn = std::function<void(bool ok)>;
  virtual ~log_store() = default;

  // Everything durable, read once at start.
  virtual loaded_state load() = 0;
  // Makes `first` (the initial configuration) entry 1 at term 1 with no vote, durably.
  // Returns false, changing nothing, when any state exists already.
  virtual bool bootstrap(const stored_entry& first) = 0;
  // REQUIRES: durable before returning (raft relies on it for votes). set_term clears the vote.
  // Returns false when the write failed (raft then sees RAFT_IOERR and does not go on).
  virtual bool set_term(uint64_t term) = 0;
  virtual bool set_vote(uint64_t server_id) = 0;
  // Appends entries at first_index. `done` fires once, from the owner's loop, only when the
  // entries are durable (or with ok=false when they never will be). Completions are in
  // submission order across append/truncate/put_snapshot.
  virtual void append(uint64_t first_index, std::vector<stored_entry> entries, done_fn done) = 0;
  // Deletes entries from `index` onwards, ordered after every operation submitted before it.
  virtual void truncate(uint64_t index) = 0;
  // Stores a snapshot. trailing > 0: keep the `trailing` entries up to snapshot.index and drop
  // older ones. trailing == 0: the snapshot replaces the whole log (installed from a leader).
  virtual void put_snapshot(stored_snapshot snapshot, unsigned trailing, done_fn done) = 0;
  // The last snapshot stored (durable or submitted earlier by this incarnation).
  virtual std::optional<stored_snapshot> get_snapshot() = 0;
};

// Carries encoded raft messages between replicas. Delivery is the owner's job: it calls
// io::receive(from, bytes) on the destination. Messages may be lost, duplicated or reordered.
class transport {
 public:
  virtual ~transport() = default;
  virtual void send(uint64_t to, std::string bytes) = 0;
};

// Time, randomness and the owner's loop.
class clock {
 public:
  virtual ~clock() = default;
  virtual uint64_t now_ms() = 0;
  // A uniformly distributed integer in [min, max].
  virtual int random(int min, int max) = 0;
  // Calls `tick` every `ms` milliseconds from the owner's loop until the clock's owner stops it.
  virtual void every(unsigned ms, std::function<void()> tick) = 0;
  // Runs `fn` soon from the owner's loop, after the current call returns.
  virtual void defer(std::function<void()> fn) = 0;
};

}  // namespace chronicle::raft
