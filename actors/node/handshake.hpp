// The node-to-node handshake's comparison: whether a peer describes the same cluster as this node
// (num_shards, replication_factor, member lists). Pure, so that its rules are unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "actors/node/config.hpp"
#include "protocol/codec.hpp"

namespace chronicle {

// The name a member list entry ("name=host:port") gives.
inline std::string_view entry_name(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// Whether a member list entry ("name=host:port") is `name`'s.
inline bool entry_of(std::string_view entry, std::string_view name) {
  return entry.size() > name.size() && entry[name.size()] == '='
         && entry.substr(0, name.size()) == name;
}

// Whether a member list ("name=host:port" entries) names `name`.
template <class List>
bool lists_member(const List& list, std::string_view name) {
  for (const auto& m : list)
    if (entry_of(m, name)) return true;
  return false;
}

// `name`'s entry in a peer's member list as a member_config (where a guest is reached); nullopt
// when the list does not name it or its address does not parse (host:port, port 1-65535).
std::optional<member_config> listed_address(
  const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& name);

// Returns an empty string when `peer` describes the same cluster as `mine`, else the difference.
// Replicated clusters accept a peer whose member list differs as long as one of the two lists
// the other: a rolling restart with a new list then never cuts the cluster in two (a shard's
// group needs its majority to talk; docs/replication.md "Nodes with different member lists").
// A peer only the other side lists is a guest (a node being added or removed). With single
// copies a shard's owner is whatever the ring says, so two lists could mean two owners: the
// lists must be equal.
std::string compare_hello(const pb::HelloRequest& mine, const pb::HelloRequest& peer);

}  // namespace chronicle
