#include "actors/routing/forwarding.hpp"

#include <spdlog/spdlog.h>

#include "protocol/messages.hpp"

namespace chronicle {

namespace {

// The error a forwarded request gets when its peer failed it or went down with it.
caf::error lost_with_peer(const caf::error& why) {
  // A chronicle error (the peer's own answer: not found, unavailable, ...) passes through.
  if (chronicle_code(why) != 0) return why;
  return make_error(errc::unavailable,
                    "the node serving this request went down or lost its connection before "
                    "answering (" + error_text(why)
                      + "): its outcome is unknown; retry with the same request ID");
}

}  // namespace

caf::result<caf::message> forwards::forward(caf::event_based_actor* self, const caf::actor& peer,
                                            caf::atom_value kind, std::string bytes) {
  auto rp = self->make_response_promise();
  forward(self, peer, kind, std::move(bytes), rp);
  return rp;
}

void forwards::forward(caf::event_based_actor* self, const caf::actor& peer, caf::atom_value kind,
                       std::string bytes, caf::response_promise rp) {
  auto [it, first] = peers_.try_emplace(peer.address());
  if (first) self->monitor(peer);
  auto id = ++next_;
  it->second.waiting.emplace(id, rp);
  auto addr = peer.address();
  auto settle = [this, addr, id]() -> caf::response_promise {
    auto p = peers_.find(addr);
    if (p == peers_.end()) return {};
    auto w = p->second.waiting.find(id);
    if (w == p->second.waiting.end()) return {};
    auto promise = std::move(w->second);
    p->second.waiting.erase(w);
    return promise;
  };
  self->request(peer, caf::infinite, fwd_atom::value, kind, std::move(bytes))
    .then(
      [settle](std::string& answer) mutable {
        if (auto promise = settle(); promise.pending()) promise.deliver(std::move(answer));
      },
      [settle](caf::error& err) mutable {
        if (auto promise = settle(); promise.pending()) promise.deliver(lost_with_peer(err));
      });
}

bool forwards::on_down(caf::event_based_actor*, const caf::down_msg& msg) {
  auto it = peers_.find(msg.source);
  if (it == peers_.end()) return false;
  auto waiting = std::move(it->second.waiting);
  peers_.erase(it);  // watched again (monitor) by the next forward
  if (!waiting.empty())
    spdlog::warn("{} forwarded request(s) lost with their node ({}): failed as unavailable",
                 waiting.size(), error_text(msg.reason));
  for (auto& [id, promise] : waiting)
    if (promise.pending()) promise.deliver(lost_with_peer(msg.reason));
  return true;
}

size_t forwards::pending() const {
  size_t n = 0;
  for (auto& [addr, p] : peers_) n += p.waiting.size();
  return n;
}

}  // namespace chronicle
