#include "actors/node/membership.hpp"

#include "actors/node/handshake.hpp"

#include <algorithm>

namespace chronicle {

void membership::set_up(const std::string& name, caf::actor node, int64_t now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& p = peers_[name];
  p.node = std::move(node);
  if (!p.up) p.since_ms = now;
  p.up = true;
  p.error.clear();
  update_queue_ring();
}

void membership::set_down(const std::string& name, std::string error, int64_t now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& p = peers_[name];
  if (p.up || p.since_ms == 0) p.since_ms = now;
  p.node = nullptr;
  p.up = false;
  p.error = std::move(error);
  update_queue_ring();
}

std::optional<caf::actor> membership::peer(const std::string& name, std::string* why) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = peers_.find(name);
  if (it == peers_.end() || !it->second.up) {
    if (why) *why = it == peers_.end() ? "not connected yet" : it->second.error;
    return std::nullopt;
  }
  return it->second.node;
}

peer_info membership::info(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = peers_.find(name);
  return it == peers_.end() ? peer_info{} : it->second;
}

void membership::set_fenced(const std::string& name, std::string why) {
  std::lock_guard lock(mtx_);
  peers_[name].fenced = std::move(why);
}

bool membership::fenced(const std::string& name) const {
  std::lock_guard lock(mtx_);
  auto it = peers_.find(name);
  return it != peers_.end() && !it->second.fenced.empty();
}

void membership::set_raft_id(const std::string& name, uint64_t id) {
  std::lock_guard lock(mtx_);
  peers_[name].raft_id = id;
}

void membership::set_raft_batches(const std::string& name, bool takes) {
  std::lock_guard lock(mtx_);
  peers_[name].raft_batches = takes;
}

void membership::set_members(const std::string& name, std::vector<std::string> members) {
  std::lock_guard lock(mtx_);
  lists_[name] = std::move(members);
  update_queue_ring();
}

namespace {

// The names of a member list's entries ("name=host:port").
void add_names(const std::vector<std::string>& list, std::vector<std::string>* names) {
  for (auto& entry : list) names->emplace_back(entry_name(entry));
}

void sort_unique(std::vector<std::string>* names) {
  std::sort(names->begin(), names->end());
  names->erase(std::unique(names->begin(), names->end()), names->end());
}

}  // namespace

void membership::set_own_list(std::vector<std::string> mine) {
  std::lock_guard lock(mtx_);
  own_names_.clear();
  add_names(mine, &own_names_);
  sort_unique(&own_names_);
  queue_ring_names_ = own_names_;
  update_queue_ring();
}

void membership::update_queue_ring() {
  if (own_names_.empty()) return;  // set_own_list not called (single-node tests)
  auto names = own_names_;
  for (auto& [name, p] : peers_)
    if (p.up)
      if (auto it = lists_.find(name); it != lists_.end()) add_names(it->second, &names);
  sort_unique(&names);
  if (names == queue_ring_names_) return;
  queue_ring_names_ = names;
  queue_ring_changed_ = true;
  queue_ring_ = names == own_names_ ? nullptr : std::make_shared<const hash_ring>(names);
}

std::shared_ptr<const hash_ring> membership::queue_ring() const {
  std::lock_guard lock(mtx_);
  return queue_ring_;
}

bool membership::take_queue_ring_change(size_t* members) {
  std::lock_guard lock(mtx_);
  if (!queue_ring_changed_) return false;
  queue_ring_changed_ = false;
  *members = queue_ring_ ? queue_ring_names_.size() : 0;
  return true;
}

std::vector<std::string> membership::members_of(const std::string& name) const {
  std::lock_guard lock(mtx_);
  auto it = lists_.find(name);
  return it == lists_.end() ? std::vector<std::string>{} : it->second;
}

std::string membership::other_member_list(const std::vector<std::string>& mine) const {
  std::lock_guard lock(mtx_);
  for (auto& [name, p] : peers_) {
    if (!p.up || !lists_member(mine, name)) continue;
    auto it = lists_.find(name);
    if (it == lists_.end() || it->second != mine) return name;
  }
  return {};
}

bool membership::listed_by_all_up(const std::string& name,
                                  const std::vector<std::string>& mine) const {
  std::lock_guard lock(mtx_);
  for (auto& [peer, p] : peers_) {
    if (!p.up || !lists_member(mine, peer)) continue;
    auto it = lists_.find(peer);
    if (it == lists_.end() || !lists_member(it->second, name)) return false;
  }
  return true;
}

std::string membership::leaves_out(const std::string& self,
                                   const std::vector<std::string>& mine) const {
  std::lock_guard lock(mtx_);
  for (auto& [name, p] : peers_) {
    if (!p.up || !lists_member(mine, name)) continue;
    auto it = lists_.find(name);
    if (it != lists_.end() && !lists_member(it->second, self)) return name;
  }
  return {};
}

void membership::set_founders(std::vector<std::string> names) {
  std::lock_guard lock(mtx_);
  founders_ = std::move(names);
}

bool membership::has_founders() const {
  std::lock_guard lock(mtx_);
  return !founders_.empty();
}

std::vector<std::string> membership::founders() const {
  std::lock_guard lock(mtx_);
  return founders_;
}

uint64_t membership::founding_id(const std::string& name) const {
  std::lock_guard lock(mtx_);
  for (size_t i = 0; i < founders_.size(); ++i)
    if (founders_[i] == name) return i + 1;
  return 0;
}

std::string membership::founder(uint64_t id) const {
  std::lock_guard lock(mtx_);
  return id >= 1 && id <= founders_.size() ? founders_[id - 1] : std::string{};
}

uint64_t membership::raft_id(const std::string& name) const {
  std::lock_guard lock(mtx_);
  auto it = peers_.find(name);
  return it == peers_.end() ? 0 : it->second.raft_id;
}

std::string membership::raft_member(uint64_t id) const {
  if (id == 0) return {};
  std::lock_guard lock(mtx_);
  for (auto& [name, p] : peers_)
    if (p.raft_id == id) return name;
  return {};
}

}  // namespace chronicle
