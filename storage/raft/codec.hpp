// Wire encoding of libraft messages and configurations (a compact little-endian format with a
// version byte). Decoding validates every length; a malformed message is refused, never trusted.
#pragma once

#include "storage/raft/c_raft.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chronicle::raft {

// Encodes `m` (as handed to raft_io.send) with the sender's id and address.
std::string encode_message(const raft_message& m, uint64_t from, std::string_view from_address);

// A decoded message owning its memory the way raft_io.recv's callee expects (raft_malloc'd
// entries in one batch, snapshot data and configuration). Call release() if raft never sees it.
struct decoded_message {
  raft_message msg{};
  uint64_t from = 0;
  std::string from_address;
  void release();
};
// Returns false on malformed input (nothing allocated then).
bool decode_message(std::string_view bytes, decoded_message& out);
// The snapshot data of an encoded InstallSnapshot (nullopt for any other or malformed message).
std::optional<std::string> install_snapshot_data(std::string_view bytes);

std::string encode_configuration(const raft_configuration& c);
// The encoded configuration of one voter (a converted shard's seed, rocks_log_store::seed).
std::string encode_single_voter(uint64_t id, const std::string& address);
// Fills an initialised configuration. Returns false on malformed input.
bool decode_configuration(std::string_view bytes, raft_configuration& c);
// Decodes libraft's own encoding of a configuration (a RAFT_CHANGE entry's payload: format byte
// 1, server count, then id, NUL-terminated address and role per server; little-endian). Fills an
// initialised configuration; false on malformed input.
bool decode_change_entry(std::string_view bytes, raft_configuration& c);

}  // namespace chronicle::raft
