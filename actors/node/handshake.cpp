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
  bool i_list_it = lists_member(mine.members(), peer.node());
  if (list(peer) == list(mine))
    return i_list_it ? std::string{} : "node '" + peer.node() + "' is not a member";
  if (rf(mine) > 1 && (i_list_it || lists_member(peer.members(), mine.node()))) return {};
  if (!i_list_it) return "node '" + peer.node() + "' is not a member";
  return "member lists differ: " + peer.node() + " has [" + list(peer) + "], " + mine.node()
         + " has [" + list(mine) + "]";
}

std::optional<member_config> listed_address(
  const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& name) {
  for (auto& entry : list) {
    if (!entry_of(entry, name)) continue;
    auto addr = entry.substr(name.size() + 1);
    auto colon = addr.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size()) return std::nullopt;
    auto digits = addr.substr(colon + 1);
    if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    auto port = std::stoul(digits);
    if (port == 0 || port > 65535) return std::nullopt;
    return member_config{name, addr.substr(0, colon), static_cast<uint16_t>(port)};
  }
  return std::nullopt;
}

}  // namespace chronicle
