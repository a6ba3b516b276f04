#include "storage/batch_coalescer.hpp"

#include <array>
#include <deque>
#include <string_view>
#include <unordered_map>

#include "storage/store_impl.hpp"

namespace chronicle::storage {

struct batch_coalescer::state {
  struct node {
    write_batch::impl::op op;
    int64_t prev = -1;  // the key's operation before this one (-1: none)
    bool live = true;
  };
  // Nodes never move (a deque grows at its end), so the maps' keys can view a node's key.
  std::deque<node> nodes;
  // Per table: key -> index of the key's last live operation (-1: none left).
  std::array<std::unordered_map<std::string_view, int64_t>, keys::table_count> last;
  size_t added = 0;
  size_t held = 0;
  std::string error;

  void kill(int64_t i) {
    nodes[static_cast<size_t>(i)].live = false;
    --held;
  }
  // Drops the key's puts and merges back from `i` to its last delete (a put or a delete that
  // comes next makes them moot); returns the index of the operation left before them.
  int64_t drop_values(int64_t i) {
    while (i >= 0) {
      auto& n = nodes[static_cast<size_t>(i)];
      if (n.op.kind != op_kind::put && n.op.kind != op_kind::merge) break;
      kill(i);
      i = n.prev;
    }
    return i;
  }
  void push(write_batch::impl::op&& op, int64_t prev, int64_t* slot, bool new_key) {
    nodes.push_back({std::move(op), prev, true});
    ++held;
    const auto at = static_cast<int64_t>(nodes.size() - 1);
    if (new_key) last[static_cast<size_t>(nodes.back().op.cf)].emplace(nodes.back().op.key, at);
    else *slot = at;
  }

  void add(write_batch::impl::op&& op) {
    ++added;
    if (op.kind == op_kind::range_del) {  // not for range deletions (see the header): kept as is
      nodes.push_back({std::move(op), -1, true});
      ++held;
      return;
    }
    auto& m = last[static_cast<size_t>(op.cf)];
    auto it = m.find(op.key);
    const bool new_key = it == m.end();
    int64_t* slot = new_key ? nullptr : &it->second;
    const int64_t cur = new_key ? -1 : *slot;
    node* c = cur >= 0 ? &nodes[static_cast<size_t>(cur)] : nullptr;
    switch (op.kind) {
      case op_kind::put: {
        if (c != nullptr && c->op.kind == op_kind::put) {
          c->op.value = std::move(op.value);
          return;
        }
        return push(std::move(op), drop_values(cur), slot, new_key);
      }
      case op_kind::merge:
        if (c != nullptr && c->op.kind == op_kind::merge) {
          auto a = keys::decode_u64(c->op.value), b = keys::decode_u64(op.value);
          if (a && b) {  // from_bytes admits only 8-byte counter deltas
            c->op.value.clear();
            keys::put_u64(&c->op.value, *a + *b);
            return;
          }
        }
        return push(std::move(op), cur, slot, new_key);
      case op_kind::del: {
        const int64_t p = drop_values(cur);
        if (p >= 0 && nodes[static_cast<size_t>(p)].op.kind == op_kind::del) {
          *slot = p;
          return;
        }
        return push(std::move(op), p, slot, new_key);
      }
      case op_kind::single_del:
        if (c != nullptr && c->op.kind == op_kind::put) {
          kill(cur);
          *slot = c->prev;
          return;
        }
        return push(std::move(op), cur, slot, new_key);
      case op_kind::range_del:
        break;
    }
  }
};

batch_coalescer::batch_coalescer() : s_(std::make_unique<state>()) {}
batch_coalescer::~batch_coalescer() = default;

void batch_coalescer::add(write_batch batch) {
  auto& b = *batch.impl_;
  if (s_->error.empty()) s_->error = std::move(b.error);
  for (auto& op : b.ops) s_->add(std::move(op));
}

write_batch batch_coalescer::take() {
  write_batch out;
  auto& o = *out.impl_;
  o.ops.reserve(s_->held);
  for (auto& n : s_->nodes)
    if (n.live) o.ops.push_back(std::move(n.op));
  o.error = std::move(s_->error);
  s_ = std::make_unique<state>();
  return out;
}

size_t batch_coalescer::ops_added() const { return s_->added; }
size_t batch_coalescer::ops_held() const { return s_->held; }

}  // namespace chronicle::storage
