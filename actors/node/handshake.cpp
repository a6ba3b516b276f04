#include "actors/node/handshake.hpp"

#include <algorithm>

namespace chronicle {

std::string compare_hello(const pb::HelloRequest& mine, const pb::HelloRequest& peer) {
  if (peer.num_shards() != mine.num_shards())
    return "num_shards differs: " + peer.node() + " has " + std::to_string(peer.num_shards())
           + ", " + mine.node() + " has " + std::to_string(mine.num_shards());
  auto rf = [](const pb::HelloRequest& h) { return std::max<uint32_t>(h.replication_factor(), 1); };
  if (rf(peer) != rf(mine))
    return "replication_factor differs: " + peer.node() + " has " + std::to_string(rf(peer))
           + ", " + mine.node() + " has " + std::to_string(rf(mine));
  auto list = [](const pb::HelloRequest& h) {
    std::string out;
    for (auto& m : h.members()) out += (out.empty() ? "" : ",") + m;
    return out;
  };
  if (!lists_member(mine.members(), peer.node()))
    return "node '" + peer.node() + "' is not a member";
  if (list(peer) != list(mine) && (rf(mine) == 1 || !lists_member(peer.members(), mine.node())))
    return "member lists differ: " + peer.node() + " has [" + list(peer) + "], " + mine.node()
           + " has [" + list(mine) + "]";
  return {};
}

}  // namespace chronicle
