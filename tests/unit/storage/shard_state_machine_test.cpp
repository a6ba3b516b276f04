// A shard's raft state machine on RocksDB: idempotent apply across reopen, snapshots that move a
// shard's data (and only that shard's) between databases with equal digests.
#include <doctest/doctest.h>

#include "storage/keys.hpp"
#include "storage/raft/shard_state_machine.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

#include <filesystem>

namespace chronicle::raft {
namespace {

using storage::testing::temp_dir;

std::unique_ptr<storage::store> open_at(const std::string& path) {
  storage::status st;
  auto s = storage::store::open(path, 8, storage::durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return s;
}

std::unique_ptr<shard_state_machine> machine(storage::store& db, uint32_t shard) {
  storage::status st;
  auto m = shard_state_machine::open(db, shard, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return m;
}

// The entry a transition of workflow `wid` on `shard` would propose: history event `event`,
// its mutable state, a timer, and the visibility record.
std::string entry(uint32_t shard, const std::string& wid, int64_t event) {
  storage::write_batch b;
  storage::run_key run{shard, "default", wid, "r1"};
  pb::HistoryEvent e;
  e.set_event_id(event);
  e.set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  b.append_history(run, {e});
  pb::MutableState state;
  state.set_workflow_id(wid);
  state.set_next_event_id(event + 1);
  b.put_state(run, state);
  pb::TimerRecord t;
  t.set_namespace_("default");
  t.set_workflow_id(wid);
  t.set_run_id("r1");
  t.set_started_event_id(event);
  t.set_fire_time_ms(1000 + event);
  b.put_timer(shard, t);
  if (event > 1) {
    t.set_started_event_id(event - 1);
    t.set_fire_time_ms(1000 + event - 1);
    b.delete_timer(shard, t);
  }
  pb::WorkflowExecutionInfo info;
  info.set_namespace_("default");
  info.set_workflow_id(wid);
  info.set_run_id("r1");
  info.set_workflow_type("Greeting");
  info.set_start_time_ms(500);
  info.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  if (event == 1) b.put_visibility(shard, info);
  std::string bytes;
  REQUIRE(b.to_bytes(&bytes).ok());
  return bytes;
}

shard_digest digest_of(shard_state_machine& m) {
  shard_digest d;
  auto st = m.digest(&d);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return d;
}

// Applies 20 workflows of 5 events each (100 entries); returns the last index.
uint64_t fill(shard_state_machine& m, uint32_t shard) {
  uint64_t index = 0;
  for (int w = 0; w < 20; ++w)
    for (int64_t e = 1; e <= 5; ++e)
      REQUIRE(m.apply(++index, entry(shard, "wf-" + std::to_string(w), e)).ok());
  return index;
}

int64_t next_event(storage::store& db, uint32_t shard, const std::string& wid) {
  auto s = db.load_state({shard, "default", wid, "r1"}, nullptr);
  return s ? s->next_event_id() : 0;
}

TEST_CASE("shard state machine: apply is idempotent across reopen - the applied index is read back") {
  temp_dir dir;
  {
    auto db = open_at(dir.sub("db"));
    auto m = machine(*db, 3);
    CHECK(m->applied_index() == 0);
    for (uint64_t i = 1; i <= 10; ++i) REQUIRE(m->apply(i * 2, entry(3, "wf", static_cast<int64_t>(i))).ok());
    CHECK(m->applied_index() == 20);
    CHECK(next_event(*db, 3, "wf") == 11);
  }
  auto db = open_at(dir.sub("db"));
  auto m = machine(*db, 3);
  CHECK(m->applied_index() == 20);
  auto before = digest_of(*m);
  CHECK(before.applied_index == 20);
  // libraft replays from its last snapshot: every entry at or below 20 is skipped, even one
  // whose bytes would change the data.
  for (uint64_t i = 1; i <= 20; ++i) REQUIRE(m->apply(i, entry(3, "wf", 1)).ok());
  CHECK(next_event(*db, 3, "wf") == 11);
  CHECK(digest_of(*m).digest == before.digest);
  REQUIRE(m->apply(21, entry(3, "wf", 11)).ok());
  CHECK(next_event(*db, 3, "wf") == 12);
  CHECK(digest_of(*m).digest != before.digest);
  REQUIRE(m->apply(22, "").ok());  // an empty entry only advances the applied index
  CHECK(m->applied_index() == 22);
}

TEST_CASE("shard state machine: staged entries are written by one flush - equal to applying them one by one") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto b = open_at(dir.sub("b"));
  auto one = machine(*a, 3);
  auto staged = machine(*b, 3);
  for (uint64_t i = 1; i <= 8; ++i) {
    REQUIRE(one->apply(i, entry(3, "wf", static_cast<int64_t>(i))).ok());
    REQUIRE(staged->stage(i, entry(3, "wf", static_cast<int64_t>(i))).ok());
  }
  REQUIRE(staged->stage(9, "").ok());
  CHECK(staged->staged() == 9);
  CHECK(staged->applied_index() == 9);
  CHECK(next_event(*b, 3, "wf") == 0);  // nothing written before the flush
  CHECK(machine(*b, 3)->applied_index() == 0);
  REQUIRE(staged->flush().ok());
  CHECK_FALSE(staged->staged());
  CHECK(next_event(*b, 3, "wf") == 9);
  CHECK(machine(*b, 3)->applied_index() == 9);  // the applied index went in the same write
  REQUIRE(one->apply(9, "").ok());
  CHECK(digest_of(*staged).digest == digest_of(*one).digest);
  // A staged entry that is corrupt is refused and leaves the others staged.
  REQUIRE(staged->stage(10, entry(3, "wf", 9)).ok());
  CHECK_FALSE(staged->stage(11, "garbage").ok());
  CHECK(staged->applied_index() == 10);
  // take_reference, digest, take_snapshot flush first: a reference never stands for data that
  // is only staged.
  std::string ref;
  REQUIRE(staged->take_reference(&ref).ok());
  CHECK_FALSE(staged->staged());
  CHECK(machine(*b, 3)->applied_index() == 10);
  CHECK(next_event(*b, 3, "wf") == 10);
}

TEST_CASE("shard state machine: a corrupt entry or another shard's entry is an error that changes nothing") {
  temp_dir dir;
  auto db = open_at(dir.sub("db"));
  auto m = machine(*db, 3);
  REQUIRE(m->apply(1, entry(3, "wf", 1)).ok());
  auto before = digest_of(*m);
  auto good = entry(3, "wf", 2);
  CHECK_FALSE(m->apply(2, good.substr(0, good.size() - 1)).ok());
  CHECK_FALSE(m->apply(2, "garbage").ok());
  auto st = m->apply(2, entry(4, "wf", 2));
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("outside shard 3") != std::string::npos);
  CHECK(m->applied_index() == 1);
  CHECK(digest_of(*m).digest == before.digest);
  auto reopened = machine(*db, 3);
  CHECK(reopened->applied_index() == 1);
}

TEST_CASE("shard state machine: a snapshot restored into another database gives an equal digest") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto b = open_at(dir.sub("b"));
  auto ma = machine(*a, 5);
  uint64_t index = fill(*ma, 5);
  // b holds older, different data of shard 5 that the snapshot must replace entirely.
  auto mb = machine(*b, 5);
  REQUIRE(mb->apply(1, entry(5, "stale", 1)).ok());
  REQUIRE(mb->apply(2, entry(5, "wf-0", 1)).ok());
  CHECK(digest_of(*mb).digest != digest_of(*ma).digest);

  std::string snap;
  REQUIRE(ma->take_snapshot(&snap).ok());
  CHECK(shard_state_machine::snapshot_applied_index(snap) == index);
  REQUIRE(mb->restore(snap).ok());
  CHECK(mb->applied_index() == index);
  auto da = digest_of(*ma), db_digest = digest_of(*mb);
  CHECK(da.keys > 100);
  CHECK(db_digest.digest == da.digest);
  CHECK(db_digest.keys == da.keys);
  CHECK(db_digest.applied_index == index);
  CHECK(next_event(*b, 5, "stale") == 0);
  // Both go on applying the same entries and stay equal.
  for (int64_t e = 6; e <= 8; ++e) {
    ++index;
    REQUIRE(ma->apply(index, entry(5, "wf-3", e)).ok());
    REQUIRE(mb->apply(index, entry(5, "wf-3", e)).ok());
  }
  CHECK(digest_of(*ma).digest == digest_of(*mb).digest);
  // Reopened, b still has the restored data and index.
  mb.reset();
  b.reset();
  b = open_at(dir.sub("b"));
  mb = machine(*b, 5);
  CHECK(mb->applied_index() == index);
  CHECK(digest_of(*mb).digest == digest_of(*ma).digest);
}

TEST_CASE("shard state machine: a shard's snapshot and restore leave the other shards alone") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto b = open_at(dir.sub("b"));
  auto a4 = machine(*a, 4), a5 = machine(*a, 5), a6 = machine(*a, 6);
  auto b4 = machine(*b, 4), b5 = machine(*b, 5), b6 = machine(*b, 6);
  for (uint64_t i = 1; i <= 5; ++i) {
    REQUIRE(a4->apply(i, entry(4, "a-four", static_cast<int64_t>(i))).ok());
    REQUIRE(a5->apply(i, entry(5, "a-five", static_cast<int64_t>(i))).ok());
    REQUIRE(a6->apply(i, entry(6, "a-six", static_cast<int64_t>(i))).ok());
    REQUIRE(b4->apply(i, entry(4, "b-four", static_cast<int64_t>(i))).ok());
    REQUIRE(b6->apply(i, entry(6, "b-six", static_cast<int64_t>(i))).ok());
  }
  REQUIRE(a5->apply(6, entry(5, "a-five", 6)).ok());  // past b4's applied index
  const auto b4_before = digest_of(*b4), b6_before = digest_of(*b6);
  std::string snap;
  REQUIRE(a5->take_snapshot(&snap).ok());
  // The snapshot holds shard 5's keys only: restoring it into shard 4 is refused.
  auto wrong = b4->restore(snap);
  CHECK_FALSE(wrong.ok());
  CHECK(wrong.message().find("outside shard 4") != std::string::npos);
  REQUIRE(b5->restore(snap).ok());
  CHECK(digest_of(*b5).digest == digest_of(*a5).digest);
  CHECK(digest_of(*b4).digest == b4_before.digest);
  CHECK(digest_of(*b6).digest == b6_before.digest);
  CHECK(next_event(*b, 4, "b-four") == 6);
  // An empty shard's snapshot restored over a full one empties it, and only it.
  auto a7 = machine(*a, 7);
  REQUIRE(a7->apply(9, "").ok());
  std::string empty7;
  REQUIRE(a7->take_snapshot(&empty7).ok());
  auto b7 = machine(*b, 7);
  REQUIRE(b7->apply(1, entry(7, "x", 1)).ok());
  REQUIRE(b7->restore(empty7).ok());
  CHECK(digest_of(*b7).keys == 0);
  CHECK(digest_of(*b4).digest == b4_before.digest);
}

TEST_CASE("shard state machine: a snapshot at or below the applied index is not restored - a corrupt one is refused") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto m = machine(*a, 2);
  REQUIRE(m->apply(1, entry(2, "wf", 1)).ok());
  std::string old_snap;
  REQUIRE(m->take_snapshot(&old_snap).ok());
  REQUIRE(m->apply(2, entry(2, "wf", 2)).ok());
  auto before = digest_of(*m);
  REQUIRE(m->restore(old_snap).ok());  // libraft's restore of its last snapshot at start
  CHECK(m->applied_index() == 2);
  CHECK(digest_of(*m).digest == before.digest);

  auto other = open_at(dir.sub("b"));
  auto fresh = machine(*other, 2);
  CHECK_FALSE(fresh->restore("").ok());
  CHECK_FALSE(fresh->restore(old_snap.substr(0, old_snap.size() - 3)).ok());
  auto bad_version = old_snap;
  bad_version[0] = 9;
  CHECK_FALSE(fresh->restore(bad_version).ok());
  CHECK(fresh->applied_index() == 0);
  CHECK(digest_of(*fresh).keys == 0);
}

TEST_CASE("shard state machine: a reference snapshot stands for the data - sent as the data at a later index") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto leader = machine(*a, 3);
  for (uint64_t i = 1; i <= 4; ++i)
    REQUIRE(leader->apply(i, entry(3, "wf", static_cast<int64_t>(i))).ok());
  std::string ref;
  REQUIRE(leader->take_reference(&ref).ok());
  CHECK(ref.size() == 9);  // no copy of the data
  CHECK(shard_state_machine::is_reference(ref));
  CHECK(shard_state_machine::snapshot_applied_index(ref) == 4);
  // Restored at start over our own data (at or past it): nothing changes.
  REQUIRE(leader->apply(5, entry(3, "wf", 5)).ok());
  auto before = digest_of(*leader);
  REQUIRE(leader->restore(ref).ok());
  CHECK(digest_of(*leader).digest == before.digest);
  CHECK(leader->applied_index() == 5);

  // What is sent for it: the data as of now (index 5, past the reference's 4). The receiver
  // skips entries up to 5 when libraft applies them again after installing "index 4".
  std::string sent;
  REQUIRE(leader->take_snapshot(&sent).ok());
  CHECK_FALSE(shard_state_machine::is_reference(sent));
  auto b = open_at(dir.sub("b"));
  auto follower = machine(*b, 3);
  REQUIRE(follower->restore(sent).ok());
  CHECK(follower->applied_index() == 5);
  REQUIRE(follower->apply(5, entry(3, "wf", 5)).ok());  // replayed: skipped
  CHECK(digest_of(*follower).digest == before.digest);
  REQUIRE(follower->apply(6, entry(3, "wf", 6)).ok());
  REQUIRE(leader->apply(6, entry(3, "wf", 6)).ok());
  CHECK(digest_of(*follower).digest == digest_of(*leader).digest);

  // A reference ahead of the data here is refused, never taken as "nothing to restore".
  auto c = open_at(dir.sub("c"));
  auto empty = machine(*c, 3);
  auto refused = empty->restore(ref);
  CHECK_FALSE(refused.ok());
  CHECK(refused.message().find("only at 0") != std::string::npos);
  std::string long_ref = ref + "x";
  CHECK_FALSE(shard_state_machine::snapshot_applied_index(long_ref).has_value());
}

TEST_CASE("shard state machine: the digest covers every data table - one changed value changes it") {
  temp_dir dir;
  auto db = open_at(dir.sub("db"));
  auto m = machine(*db, 1);
  REQUIRE(m->apply(1, entry(1, "wf", 1)).ok());
  const auto base = digest_of(*m);
  for (auto t : storage::keys::data_tables) {
    CAPTURE(storage::keys::table_name(t));
    storage::write_batch b;
    b.put_data(static_cast<uint8_t>(t), storage::keys::shard_prefix(1) + "zz-extra", "v");
    REQUIRE(db->write_unsynced(b).ok());
    CHECK(digest_of(*m).digest != base.digest);
    storage::write_batch undo;
    undo.delete_shard_data(1);
    REQUIRE(db->write(undo).ok());
    REQUIRE(m->restore(std::string()).ok() == false);
    // Put the base data back through a fresh state machine at index 0.
    storage::write_batch reset;
    reset.put_raft(1, storage::raft_record::applied_index, std::string(8, '\0'));
    REQUIRE(db->write(reset).ok());
    m = machine(*db, 1);
    REQUIRE(m->apply(1, entry(1, "wf", 1)).ok());
    CHECK(digest_of(*m).digest == base.digest);
  }
  // The raft table is not data: a log entry of the shard changes nothing.
  storage::write_batch raft_only;
  raft_only.put_raft_entry(1, 99, "entry");
  REQUIRE(db->write(raft_only).ok());
  CHECK(digest_of(*m).digest == base.digest);
}

// A snapshot sent as a stream (docs/replication.md "Snapshots in chunks"): the leader's view is
// read in small chunks, staged by the receiver (its data untouched until the restore), kept
// across a reopen, and moved into the data tables by restore: equal to the leader's data when
// the stream was opened, writes after that not included, other shards untouched.
TEST_CASE("shard state machine: a snapshot stream pulled in chunks and restored elsewhere gives the digest at its opening") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto b = open_at(dir.sub("b"));
  auto ma = machine(*a, 5);
  uint64_t index = fill(*ma, 5);
  auto mb = machine(*b, 5);
  REQUIRE(mb->apply(1, entry(5, "stale", 1)).ok());
  auto other = machine(*b, 4);
  REQUIRE(other->apply(1, entry(4, "neighbour", 1)).ok());
  const auto neighbour = digest_of(*other);

  CHECK_FALSE(ma->stream_active());
  std::string token;
  REQUIRE(ma->open_stream(0, &token).ok());
  CHECK(ma->stream_active());  // the replica postpones libraft's snapshots meanwhile
  const auto at_open = digest_of(*ma);
  auto t = shard_state_machine::parse_token(token);
  REQUIRE(t);
  CHECK(t->applied_index == index);
  CHECK(shard_state_machine::snapshot_applied_index(token) == index);
  // Written after the view: not in the stream.
  for (int64_t e = 6; e <= 9; ++e) REQUIRE(ma->apply(++index, entry(5, "wf-7", e)).ok());
  CHECK(digest_of(*ma).digest != at_open.digest);
  // Another InstallSnapshot soon after (libraft's retry) gets the same stream.
  std::string again;
  REQUIRE(ma->open_stream(t->applied_index, &again).ok());
  CHECK(again == token);

  const auto before = digest_of(*mb);
  pb::HandoffChunk chunk;
  uint32_t table = 0;
  std::string after;
  int chunks = 0;
  bool first = true;
  CHECK_FALSE(mb->stage_complete(*t));
  do {
    REQUIRE(ma->read_stream(t->stream, table, after, 512, &chunk).ok());
    REQUIRE(mb->stage_chunk(*t, chunk, first, 0).ok());
    first = false;
    table = chunk.next_table();
    after = chunk.next_after_key();
    ++chunks;
    REQUIRE(chunks < 10000);
  } while (!chunk.done());
  CHECK(chunks > 10);
  CHECK(mb->stage_complete(*t));
  CHECK(digest_of(*mb).digest == before.digest);  // staged, not restored: the data is as it was

  // The stage is durable data: a reopened database still restores from it.
  mb.reset();
  other.reset();
  b.reset();
  b = open_at(dir.sub("b"));
  mb = machine(*b, 5);
  REQUIRE(mb->stage_complete(*t));
  auto st = mb->restore(token);
  REQUIRE_MESSAGE(st.ok(), st.message());
  CHECK(mb->applied_index() == t->applied_index);
  auto restored = digest_of(*mb);
  CHECK(restored.digest == at_open.digest);
  CHECK(restored.keys == at_open.keys);
  CHECK(next_event(*b, 5, "stale") == 0);
  CHECK_FALSE(mb->stage_complete(*t));  // the stage went with the last write
  CHECK(mb->restore(token).ok());       // at the applied index: a no-op (libraft at a restart)
  CHECK(digest_of(*machine(*b, 4)).digest == neighbour.digest);
  // Both apply what came after and are equal again.
  for (uint64_t i = t->applied_index + 1; i <= index; ++i)
    REQUIRE(mb->apply(i, entry(5, "wf-7", static_cast<int64_t>(i - t->applied_index) + 5)).ok());
  CHECK(digest_of(*mb).digest == digest_of(*ma).digest);
}

// Pulls the whole of `token`'s stream from `from` into `to` in chunks of `chunk_bytes`.
void pull_stream(shard_state_machine& from, shard_state_machine& to,
                 const shard_state_machine::stream_token& t, size_t chunk_bytes) {
  pb::HandoffChunk chunk;
  uint32_t table = 0;
  std::string after;
  bool first = true;
  do {
    REQUIRE(from.read_stream(t.stream, table, after, chunk_bytes, &chunk).ok());
    auto st = to.stage_chunk(t, chunk, first, 0);
    REQUIRE_MESSAGE(st.ok(), st.message());
    first = false;
    table = chunk.next_table();
    after = chunk.next_after_key();
  } while (!chunk.done());
}

// The stage is ingested (its files linked into the data tables) before the applied index is
// written: a crash in between leaves the stage, and the restore at the next start ingests it again
// over what the first one put there.
// A leader (database "a", shard 5 filled) with a snapshot stream open; database "b" beside it.
struct open_stream_fixture {
  temp_dir dir;
  std::unique_ptr<storage::store> a = open_at(dir.sub("a"));
  std::unique_ptr<storage::store> b = open_at(dir.sub("b"));
  std::unique_ptr<shard_state_machine> ma = machine(*a, 5);
  std::string token;
  std::optional<shard_state_machine::stream_token> t;
  open_stream_fixture() {
    fill(*ma, 5);
    REQUIRE(ma->open_stream(0, &token).ok());
    t = shard_state_machine::parse_token(token);
    REQUIRE(t);
  }
};

TEST_CASE_FIXTURE(open_stream_fixture, "shard state machine: a crash between ingesting a stage and recording its index ingests it again") {
  auto mb = machine(*b, 5);
  REQUIRE(mb->apply(1, entry(5, "stale", 1)).ok());
  pull_stream(*ma, *mb, *t, 700);
  REQUIRE(mb->stage_complete(*t));
  // The first half of restore, then the "crash".
  auto st = b->ingest_stage(5, t->stream);
  REQUIRE_MESSAGE(st.ok(), st.message());
  mb.reset();
  b.reset();
  b = open_at(dir.sub("b"));
  mb = machine(*b, 5);
  CHECK(mb->applied_index() == 1);
  REQUIRE(mb->stage_complete(*t));
  st = mb->restore(token);
  REQUIRE_MESSAGE(st.ok(), st.message());
  CHECK(mb->applied_index() == t->applied_index);
  CHECK(digest_of(*mb).digest == digest_of(*ma).digest);
  CHECK(digest_of(*mb).keys == digest_of(*ma).keys);
  CHECK(next_event(*b, 5, "stale") == 0);
  CHECK_FALSE(mb->stage_complete(*t));
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir.sub("b")) / "snapshot-stage" / "5" /
                                      std::to_string(t->stream)));
  // The ingested data takes later writes as any other: apply, reopen, digests still equal.
  for (uint64_t i = t->applied_index + 1; i <= t->applied_index + 3; ++i) {
    REQUIRE(ma->apply(i, entry(5, "wf-3", static_cast<int64_t>(i - t->applied_index) + 5)).ok());
    REQUIRE(mb->apply(i, entry(5, "wf-3", static_cast<int64_t>(i - t->applied_index) + 5)).ok());
  }
  mb.reset();
  b.reset();
  b = open_at(dir.sub("b"));
  mb = machine(*b, 5);
  CHECK(digest_of(*mb).digest == digest_of(*ma).digest);
}

// A node the group no longer counts deletes its copy of the shard (actors/node/copy_cleanup.hpp):
// data, log entries, snapshot, applied index and staged snapshots go, the term and vote stay
// (has_raft_state: a founder never bootstraps the group again), other shards are untouched.
TEST_CASE_FIXTURE(open_stream_fixture, "shard state machine: dropping a copy deletes data - log - snapshot and stages - keeps term and vote - other shards untouched") {
  auto mb = machine(*b, 5);
  REQUIRE(mb->apply(1, entry(5, "old", 1)).ok());
  pull_stream(*ma, *mb, *t, 700);  // a complete stage, not restored
  auto m6 = machine(*b, 6);
  fill(*m6, 6);
  auto other = digest_of(*m6);
  storage::write_batch raft;
  raft.put_raft(5, storage::raft_record::term, storage::keys::encode_u64(7));
  raft.put_raft(5, storage::raft_record::vote, storage::keys::encode_u64(2));
  raft.put_raft(5, storage::raft_record::snapshot_meta, "meta");
  for (uint64_t i = 1; i <= 3; ++i) raft.put_raft_entry(5, i, "entry");
  raft.put_raft(7, storage::raft_record::term, storage::keys::encode_u64(3));  // term only
  REQUIRE(b->write_synced(raft).ok());
  storage::status st;
  CHECK(b->holds_shard_copy(5, &st));
  CHECK(b->has_stage_files(5));
  CHECK_FALSE(b->holds_shard_copy(7, &st));  // a term (or vote) alone is no copy
  CHECK(st.ok());
  mb.reset();

  st = b->drop_shard_copy(5);
  REQUIRE_MESSAGE(st.ok(), st.message());
  CHECK_FALSE(b->holds_shard_copy(5, &st));
  CHECK_FALSE(b->has_stage_files(5));
  CHECK(b->has_raft_state(5, &st));
  CHECK(b->get_raft(5, storage::raft_record::term, &st) == storage::keys::encode_u64(7));
  CHECK(b->get_raft(5, storage::raft_record::vote, &st) == storage::keys::encode_u64(2));
  CHECK_FALSE(b->get_raft(5, storage::raft_record::snapshot_meta, &st));
  size_t entries = 0;
  REQUIRE(b->scan_raft_entries(5, [&](uint64_t, std::string_view) { return ++entries > 0; }).ok());
  CHECK(entries == 0);
  mb = machine(*b, 5);
  CHECK(mb->applied_index() == 0);
  CHECK(digest_of(*mb).keys == 0);
  CHECK(next_event(*b, 5, "old") == 0);
  CHECK(digest_of(*m6).digest == other.digest);
  CHECK(digest_of(*m6).keys == other.keys);
}

// A node that crashed while moving a stage of the previous version (entries in the raft table)
// and was then upgraded restores it from there.
TEST_CASE_FIXTURE(open_stream_fixture, "shard state machine: a stage in the raft table from an older version still restores") {
  storage::write_batch staged;
  uint64_t applied = 0;
  REQUIRE(a->read_shard(5, &applied, [&](uint8_t table, std::string_view k, std::string_view v) {
    staged.put_stage(5, t->stream, table, k, std::string(v));
    return true;
  }).ok());
  staged.put_stage_complete(5, t->stream, t->applied_index);
  REQUIRE(b->write(staged).ok());
  auto mb = machine(*b, 5);
  CHECK(mb->stage_complete(*t));
  auto st = mb->restore(token);
  REQUIRE_MESSAGE(st.ok(), st.message());
  CHECK(mb->applied_index() == t->applied_index);
  CHECK(digest_of(*mb).digest == digest_of(*ma).digest);
  CHECK_FALSE(mb->stage_complete(*t));
}

TEST_CASE("shard state machine: a stream that is unknown or incomplete or of another shard is refused - nothing changes") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto b = open_at(dir.sub("b"));
  auto ma = machine(*a, 5);
  for (uint64_t i = 1; i <= 30; ++i) REQUIRE(ma->apply(i, entry(5, "wf-" + std::to_string(i), 1)).ok());
  auto mb = machine(*b, 5);
  REQUIRE(mb->apply(1, entry(5, "mine", 1)).ok());
  const auto before = digest_of(*mb);
  pb::HandoffChunk chunk;
  CHECK_FALSE(ma->read_stream(12345, 0, "", 1024, &chunk).ok());
  CHECK_FALSE(shard_state_machine::parse_token("garbage").has_value());
  std::string token;
  REQUIRE(ma->open_stream(0, &token).ok());
  auto t = shard_state_machine::parse_token(token);
  REQUIRE(t);
  REQUIRE(ma->read_stream(t->stream, 0, "", 256, &chunk).ok());
  REQUIRE_FALSE(chunk.done());
  REQUIRE(mb->stage_chunk(*t, chunk, true, 0).ok());
  // Incomplete: restore refuses and the data stays.
  CHECK_FALSE(mb->restore(token).ok());
  CHECK(mb->applied_index() == 1);
  CHECK(digest_of(*mb).digest == before.digest);
  // A chunk holding another shard's key or an unknown table is refused.
  pb::HandoffChunk bad;
  auto* e = bad.add_entries();
  e->set_table(0);
  e->set_key(storage::keys::shard_prefix(6) + "x");
  e->set_value("v");
  CHECK_FALSE(mb->stage_chunk(*t, bad, false, 0).ok());
  e->set_key(storage::keys::shard_prefix(5) + "x");
  e->set_table(99);
  CHECK_FALSE(mb->stage_chunk(*t, bad, false, 0).ok());
  // An abandoned pull's stage is dropped.
  // (The stage's files: storage/snapshot_stage.cpp.)
  auto staged_keys = [&](uint64_t stream) {
    const auto stage = std::filesystem::path(dir.sub("b")) / "snapshot-stage" / "5" / std::to_string(stream);
    size_t n = 0;
    std::error_code ec;
    for (auto& f : std::filesystem::directory_iterator(stage, ec))
      if (f.path().extension() == ".sst") ++n;
    return n;
  };
  CHECK(staged_keys(t->stream) > 0);
  REQUIRE(mb->drop_stage(t->stream).ok());
  CHECK(staged_keys(t->stream) == 0);
  REQUIRE(mb->stage_chunk(*t, chunk, true, 0).ok());
  // A new stream's first chunk drops the old stream's stage.
  std::string token2;
  for (uint64_t i = 31; i <= 33; ++i) REQUIRE(ma->apply(i, entry(5, "later", static_cast<int64_t>(i - 30))).ok());
  REQUIRE(ma->open_stream(33, &token2).ok());
  auto t2 = shard_state_machine::parse_token(token2);
  REQUIRE(t2);
  CHECK(t2->stream != t->stream);
  uint32_t table = 0;
  std::string after;
  bool first = true;
  do {
    REQUIRE(ma->read_stream(t2->stream, table, after, 1 << 20, &chunk).ok());
    REQUIRE(mb->stage_chunk(*t2, chunk, first, 0).ok());
    first = false;
    table = chunk.next_table();
    after = chunk.next_after_key();
  } while (!chunk.done());
  CHECK(staged_keys(t->stream) == 0);
  REQUIRE(mb->stage_chunk(*t, chunk, true, t2->stream).ok());  // a stage of an older stream
  CHECK(staged_keys(t->stream) > 0);
  REQUIRE(mb->drop_stages_except(t2->stream).ok());
  CHECK(staged_keys(t->stream) == 0);
  CHECK(mb->stage_complete(*t2));  // the kept one stays
  REQUIRE(mb->restore(token2).ok());
  CHECK(mb->applied_index() == 33);
  CHECK(digest_of(*mb).digest == digest_of(*ma).digest);
}

}  // namespace
}  // namespace chronicle::raft
