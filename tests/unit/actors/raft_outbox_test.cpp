// The bytes of a batch of Raft messages (actors/shard/raft_outbox.hpp): what the outbox packs
// comes back unchanged, and anything else a peer could send is refused with a reason, never
// read past its end.
#include <doctest/doctest.h>

#include "actors/shard/raft_outbox.hpp"

using namespace chronicle;

namespace {

std::vector<raft_envelope> sample() {
  std::string big(70000, 'x');
  big[12345] = '\0';
  return {{3, 1, "append"}, {15, 0x8000000000000001ull, ""}, {3, 1, big}};
}

std::string unpack_error(const std::string& bytes) {
  std::string why;
  auto out = unpack_raft_batch(bytes, &why);
  CHECK_FALSE(out.has_value());
  return why;
}

}  // namespace

TEST_CASE("raft outbox: a packed batch unpacks to the same messages - in order") {
  auto in = sample();
  std::string why;
  auto out = unpack_raft_batch(pack_raft_batch(in), &why);
  REQUIRE(out.has_value());
  REQUIRE(out->size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CHECK((*out)[i].shard == in[i].shard);
    CHECK((*out)[i].from == in[i].from);
    CHECK((*out)[i].bytes == in[i].bytes);
  }
  auto empty = unpack_raft_batch(pack_raft_batch({}), &why);
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

TEST_CASE("raft outbox: malformed batches are refused with a reason") {
  const auto good = pack_raft_batch(sample());
  CHECK(unpack_error("") == "shorter than its header");
  CHECK(unpack_error(std::string("\x02\0\0\0\0", 5)) == "version 2 (this node reads version 1)");
  // Every cut of a good batch is refused (none reads past the end).
  for (size_t n = 5; n < good.size(); n += (n < 200 ? 1 : 997))
    CHECK_FALSE(unpack_error(good.substr(0, n)).empty());
  CHECK(unpack_error(good + "z") == "1 bytes after the last message");
  // A count far beyond what the bytes hold is refused before anything is reserved for it.
  CHECK(unpack_error(std::string("\x01\xff\xff\xff\xff", 5) + std::string(16, '\0')) ==
        "count 4294967295 larger than its bytes hold");
  auto lying = good;
  lying[5 + 12] = '\x7f';  // the first message's length
  CHECK(unpack_error(lying) == "message 0 cut short");
}
