#include "storage/raft/codec.hpp"

#include <cstring>
#include <vector>

namespace chronicle::raft {
namespace {

constexpr uint8_t wire_version = 1;

class writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void bytes(const void* p, size_t n) {
    u64(n);
    out_.append(static_cast<const char*>(p), n);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  bool u8(uint8_t& v) {
    if (in_.size() < 1) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  template <class T>  // any 64-bit unsigned (uint64_t, raft_term, raft_index, raft_id)
  bool u64(T& v) {
    static_assert(sizeof(T) == 8);
    if (in_.size() < 8) return false;
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i) x |= uint64_t(static_cast<uint8_t>(in_[i])) << (8 * i);
    v = static_cast<T>(x);
    in_.remove_prefix(8);
    return true;
  }
  bool bytes(std::string_view& v) {
    uint64_t n = 0;
    if (!u64(n) || n > in_.size()) return false;
    v = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

void write_configuration(writer& w, const raft_configuration& c) {
  w.u64(c.n);
  for (unsigned i = 0; i < c.n; ++i) {
    w.u64(c.servers[i].id);
    w.u8(static_cast<uint8_t>(c.servers[i].role));
    w.bytes(c.servers[i].address, std::strlen(c.servers[i].address));
  }
}

bool read_configuration(reader& r, raft_configuration& c) {
  uint64_t n = 0;
  if (!r.u64(n) || n > 1024) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id = 0;
    uint8_t role = 0;
    std::string_view address;
    if (!r.u64(id) || !r.u8(role) || !r.bytes(address)) return false;
    std::string a(address);
    if (raft_configuration_add(&c, id, a.c_str(), role) != 0) return false;
  }
  return true;
}

bool read_entries(reader& r, raft_append_entries& ae) {
  uint64_t n = 0;
  if (!r.u64(n) || n > (1u << 20)) return false;
  ae.entries = nullptr;
  ae.n_entries = 0;
  if (n == 0) return true;
  struct raw {
    uint64_t term;
    uint8_t type;
    std::string_view data;
  };
  std::vector<raw> raws(n);
  size_t total = 0;
  for (auto& e : raws) {
    if (!r.u64(e.term) || !r.u8(e.type) || !r.bytes(e.data)) return false;
    total += e.data.size();
  }
  // One batch holds every payload, as libraft's own backends do; raft frees it.
  auto* batch = static_cast<char*>(raft_malloc(total == 0 ? 1 : total));
  auto* entries = static_cast<raft_entry*>(raft_calloc(n, sizeof(raft_entry)));
  if (batch == nullptr || entries == nullptr) {
    raft_free(batch);
    raft_free(entries);
    return false;
  }
  size_t off = 0;
  for (uint64_t i = 0; i < n; ++i) {
    std::memcpy(batch + off, raws[i].data.data(), raws[i].data.size());
    entries[i].term = raws[i].term;
    entries[i].type = raws[i].type;
    entries[i].buf.base = batch + off;
    entries[i].buf.len = raws[i].data.size();
    entries[i].batch = batch;
    off += raws[i].data.size();
  }
  ae.entries = entries;
  ae.n_entries = static_cast<unsigned>(n);
  return true;
}

}  // namespace

std::string encode_message(const raft_message& m, uint64_t from, std::string_view from_address) {
  writer w;
  w.u8(wire_version);
  w.u8(static_cast<uint8_t>(m.type));
  w.u64(from);
  w.bytes(from_address.data(), from_address.size());
  switch (m.type) {
    case RAFT_IO_APPEND_ENTRIES: {
      const auto& a = m.append_entries;
      w.u64(a.term);
      w.u64(a.prev_log_index);
      w.u64(a.prev_log_term);
      w.u64(a.leader_commit);
      w.u64(a.n_entries);
      for (unsigned i = 0; i < a.n_entries; ++i) {
        w.u64(a.entries[i].term);
        w.u8(static_cast<uint8_t>(a.entries[i].type));
        w.bytes(a.entries[i].buf.base, a.entries[i].buf.len);
      }
      break;
    }
    case RAFT_IO_APPEND_ENTRIES_RESULT: {
      const auto& a = m.append_entries_result;
      w.u64(a.term);
      w.u64(a.rejected);
      w.u64(a.last_log_index);
      break;
    }
    case RAFT_IO_REQUEST_VOTE: {
      const auto& a = m.request_vote;
      w.u64(a.term);
      w.u64(a.candidate_id);
      w.u64(a.last_log_index);
      w.u64(a.last_log_term);
      w.u8(a.disrupt_leader ? 1 : 0);
      w.u8(a.pre_vote ? 1 : 0);
      break;
    }
    case RAFT_IO_REQUEST_VOTE_RESULT: {
      const auto& a = m.request_vote_result;
      w.u64(a.term);
      w.u8(a.vote_granted ? 1 : 0);
      w.u8(static_cast<uint8_t>(a.pre_vote));
      break;
    }
    case RAFT_IO_INSTALL_SNAPSHOT: {
      const auto& a = m.install_snapshot;
      w.u64(a.term);
      w.u64(a.last_index);
      w.u64(a.last_term);
      write_configuration(w, a.conf);
      w.u64(a.conf_index);
      w.bytes(a.data.base, a.data.len);
      break;
    }
    case RAFT_IO_TIMEOUT_NOW: {
      const auto& a = m.timeout_now;
      w.u64(a.term);
      w.u64(a.last_log_index);
      w.u64(a.last_log_term);
      break;
    }
  }
  return w.take();
}

void decoded_message::release() {
  if (msg.type == RAFT_IO_APPEND_ENTRIES && msg.append_entries.entries != nullptr) {
    raft_free(msg.append_entries.entries[0].batch);
    raft_free(msg.append_entries.entries);
    msg.append_entries.entries = nullptr;
  } else if (msg.type == RAFT_IO_INSTALL_SNAPSHOT) {
    raft_free(msg.install_snapshot.data.base);
    msg.install_snapshot.data.base = nullptr;
    raft_configuration_close(&msg.install_snapshot.conf);
  }
}

bool decode_message(std::string_view bytes, decoded_message& out) {
  reader r(bytes);
  uint8_t version = 0, type = 0;
  std::string_view address;
  if (!r.u8(version) || version != wire_version || !r.u8(type) || !r.u64(out.from) ||
      !r.bytes(address))
    return false;
  out.from_address = std::string(address);
  out.msg = raft_message{};
  out.msg.type = type;
  out.msg.server_id = out.from;
  uint8_t b1 = 0, b2 = 0;
  switch (type) {
    case RAFT_IO_APPEND_ENTRIES: {
      auto& a = out.msg.append_entries;
      if (!r.u64(a.term) || !r.u64(a.prev_log_index) || !r.u64(a.prev_log_term) ||
          !r.u64(a.leader_commit) || !read_entries(r, a))
        return false;
      if (!r.done()) {
        out.release();
        return false;
      }
      return true;
    }
    case RAFT_IO_APPEND_ENTRIES_RESULT: {
      auto& a = out.msg.append_entries_result;
      return r.u64(a.term) && r.u64(a.rejected) && r.u64(a.last_log_index) && r.done();
    }
    case RAFT_IO_REQUEST_VOTE: {
      auto& a = out.msg.request_vote;
      if (!r.u64(a.term) || !r.u64(a.candidate_id) || !r.u64(a.last_log_index) ||
          !r.u64(a.last_log_term) || !r.u8(b1) || !r.u8(b2) || !r.done())
        return false;
      a.disrupt_leader = b1 != 0;
      a.pre_vote = b2 != 0;
      return true;
    }
    case RAFT_IO_REQUEST_VOTE_RESULT: {
      auto& a = out.msg.request_vote_result;
      if (!r.u64(a.term) || !r.u8(b1) || !r.u8(b2) || b2 > raft_tribool_false || !r.done())
        return false;
      a.vote_granted = b1 != 0;
      a.pre_vote = static_cast<raft_tribool>(b2);
      return true;
    }
    case RAFT_IO_INSTALL_SNAPSHOT: {
      auto& a = out.msg.install_snapshot;
      raft_configuration_init(&a.conf);
      std::string_view data;
      if (!r.u64(a.term) || !r.u64(a.last_index) || !r.u64(a.last_term) ||
          !read_configuration(r, a.conf) || !r.u64(a.conf_index) || !r.bytes(data) || !r.done()) {
        raft_configuration_close(&a.conf);
        return false;
      }
      a.data.base = raft_malloc(data.size() == 0 ? 1 : data.size());
      if (a.data.base == nullptr) {
        raft_configuration_close(&a.conf);
        return false;
      }
      std::memcpy(a.data.base, data.data(), data.size());
      a.data.len = data.size();
      return true;
    }
    case RAFT_IO_TIMEOUT_NOW: {
      auto& a = out.msg.timeout_now;
      return r.u64(a.term) && r.u64(a.last_log_index) && r.u64(a.last_log_term) && r.done();
    }
    default:
      return false;
  }
}

std::optional<std::string> install_snapshot_data(std::string_view bytes) {
  if (bytes.size() < 2 || static_cast<uint8_t>(bytes[1]) != RAFT_IO_INSTALL_SNAPSHOT) return std::nullopt;
  decoded_message d;
  if (!decode_message(bytes, d)) return std::nullopt;
  std::string data(static_cast<const char*>(d.msg.install_snapshot.data.base),
                   d.msg.install_snapshot.data.len);
  d.release();
  return data;
}

std::string encode_configuration(const raft_configuration& c) {
  writer w;
  write_configuration(w, c);
  return w.take();
}

std::string encode_single_voter(uint64_t id, const std::string& address) {
  raft_configuration c;
  raft_configuration_init(&c);
  std::string out;
  if (raft_configuration_add(&c, id, address.c_str(), RAFT_VOTER) == 0) out = encode_configuration(c);
  raft_configuration_close(&c);
  return out;
}

bool decode_configuration(std::string_view bytes, raft_configuration& c) {
  reader r(bytes);
  return read_configuration(r, c) && r.done();
}

bool decode_change_entry(std::string_view bytes, raft_configuration& c) {
  size_t at = 0;
  auto u64 = [&](uint64_t& v) {
    if (bytes.size() - at < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
    at += 8;
    return true;
  };
  uint64_t n = 0;
  if (bytes.empty() || bytes[0] != 1) return false;
  at = 1;
  if (!u64(n) || n > bytes.size()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id = 0;
    if (!u64(id)) return false;
    auto end = bytes.find('\0', at);
    if (end == std::string_view::npos || end + 1 >= bytes.size()) return false;
    std::string address(bytes.substr(at, end - at));
    int role = static_cast<uint8_t>(bytes[end + 1]);
    at = end + 2;
    if (raft_configuration_add(&c, id, address.c_str(), role) != 0) return false;
  }
  return at == bytes.size();
}

}  // namespace chronicle::raft
