// The commit pipeline's ordering and failure rules (actors/execution/commit_pipeline.hpp),
// driven by a fake commit log whose writes the test completes in any order.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "actors/execution/commit_pipeline.hpp"

using namespace chronicle;

namespace {

// A commit log that holds every batch until the test completes it (in any order, ok or not).
struct fake_log final : storage::commit_log {
  std::vector<std::function<void(const storage::status&)>> pending;
  void submit(storage::write_batch, std::function<void(const storage::status&)> done,
              storage::committer_chain) override {
    pending.push_back(std::move(done));
  }
  // Completes write `seq` (1-based, as the pipeline numbers them).
  void complete(uint64_t seq, storage::status st = {}) { pending.at(seq - 1)(st); }
};

// The owner: a log, a pipeline, and completions fed straight back (one thread in the test).
struct owner {
  fake_log log;
  commit_pipeline pipe{&log};
  std::vector<std::string> calls;  // what the waiters saw, in order
  bool failed_now = false;

  uint64_t write() {
    return pipe.submit(storage::write_batch{}, [this](uint64_t seq, const storage::status& st) {
      failed_now = pipe.on_committed(seq, st) || failed_now;
    });
  }
  commit_pipeline::waiter note(std::string name) {
    return [this, name](const storage::status& st) {
      calls.push_back(st.ok() ? name : name + ":" + st.message());
    };
  }
};

}  // namespace

TEST_CASE("a waiter with nothing pending is called at once") {
  owner o;
  o.pipe.when_durable(o.note("a"));
  CHECK(o.calls == std::vector<std::string>{"a"});
  CHECK(o.pipe.all_durable());
}

TEST_CASE("a waiter is called only once every write before it is durable") {
  owner o;
  o.write();
  o.pipe.when_durable(o.note("after 1"));
  o.write();
  o.pipe.when_durable(o.note("after 2"));
  CHECK(o.calls.empty());
  o.log.complete(1);
  CHECK(o.calls == std::vector<std::string>{"after 1"});
  CHECK_FALSE(o.pipe.all_durable());
  o.log.complete(2);
  CHECK(o.calls == std::vector<std::string>{"after 1", "after 2"});
  CHECK(o.pipe.all_durable());
}

TEST_CASE("a write reported durable before an earlier one acknowledges nothing until the earlier one is") {
  owner o;
  o.write();
  o.pipe.when_durable(o.note("after 1"));
  o.write();
  o.pipe.when_durable(o.note("after 2"));
  o.write();
  o.pipe.when_durable(o.note("after 3"));
  o.log.complete(3);
  o.log.complete(2);
  CHECK(o.calls.empty());  // write 1 is not durable: nothing after it may be acknowledged
  CHECK(o.pipe.durable_through() == 0);
  o.log.complete(1);
  CHECK(o.calls == std::vector<std::string>{"after 1", "after 2", "after 3"});
  CHECK(o.pipe.durable_through() == 3);
}

TEST_CASE("waiters are called in the order they were registered") {
  owner o;
  o.write();
  o.pipe.when_durable(o.note("first"));
  o.pipe.after(1, o.note("second"));
  o.pipe.when_durable(o.note("third"));
  o.log.complete(1);
  CHECK(o.calls == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("a failed write fails every pending waiter and every later one") {
  owner o;
  o.write();
  o.pipe.when_durable(o.note("after 1"));
  o.write();
  o.pipe.when_durable(o.note("after 2"));
  o.log.complete(1, storage::status::error("disk full"));
  CHECK(o.failed_now);
  CHECK(o.pipe.failed());
  CHECK(o.calls == std::vector<std::string>{"after 1:disk full", "after 2:disk full"});
  o.pipe.when_durable(o.note("later"));
  CHECK(o.calls.back() == "later:disk full");
}

TEST_CASE("a write reported durable after a failure acknowledges nothing") {
  owner o;
  o.write();
  o.write();
  o.pipe.when_durable(o.note("after 2"));
  o.log.complete(1, storage::status::error("io error"));
  o.log.complete(2);  // the log should not do this (chain), but if it did: still failed
  CHECK(o.calls == std::vector<std::string>{"after 2:io error"});
  CHECK(o.pipe.failed());
  CHECK_FALSE(o.pipe.all_durable());
}

TEST_CASE("a write submitted after a failure is not written and completes as failed") {
  owner o;
  o.write();
  o.log.complete(1, storage::status::error("io error"));
  o.write();
  CHECK(o.log.pending.size() == 1);  // write 2 never reached the log
  o.pipe.after(2, o.note("after 2"));
  CHECK(o.calls == std::vector<std::string>{"after 2:io error"});
}

TEST_CASE("each waiter is called exactly once - also when a waiter registers another") {
  owner o;
  int count = 0;
  o.write();
  o.pipe.when_durable([&](const storage::status&) {
    ++count;
    o.pipe.when_durable([&](const storage::status&) { ++count; });  // nothing pending: at once
  });
  o.log.complete(1);
  o.log.complete(1);  // a duplicate answer changes nothing
  CHECK(count == 2);
}
