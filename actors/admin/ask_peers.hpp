// A cluster-wide question of the admin actor: every other live member is asked (list, count,
// namespaces).
#pragma once

#include <caf/all.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/node/node_env.hpp"
#include "protocol/messages.hpp"

namespace chronicle {

// Asks every other live member for its part of a cluster-wide answer (list, count, a namespace
// record to store: `kind`
// forwarded with `bytes`), merging each answer into `part` with `add`; `done` gets the merged
// part and the members that are down or did not answer within `timeout` (sorted).
template <class Response, class Part, class Add, class Done>
void ask_peers(caf::event_based_actor* self, const node_env& env, caf::timespan timeout,
               caf::atom_value kind, const std::string& bytes, Part part, Add add, Done done) {
  struct gather {
    Part part;
    std::vector<std::string> missing;
    size_t pending = 0;
  };
  auto g = std::make_shared<gather>();
  g->part = std::move(part);
  auto finish = [g, done]() mutable {
    std::sort(g->missing.begin(), g->missing.end());
    done(std::move(g->part), g->missing);
  };
  std::vector<std::pair<std::string, caf::actor>> asks;
  for (auto& m : env.config.members) {
    if (m.name == env.config.name) continue;
    if (auto peer = env.peers->peer(m.name)) asks.emplace_back(m.name, *peer);
    else g->missing.push_back(m.name);
  }
  g->pending = asks.size();
  if (asks.empty()) return finish();
  const auto what = Response::descriptor()->name();
  for (auto& [name, peer] : asks) {
    self->request(peer, timeout, fwd_atom::value, kind, bytes)
      .then(
        [=](const std::string& reply) mutable {
          auto r = decode<Response>(reply, what.c_str());
          if (r) add(g->part, *r);
          else g->missing.push_back(name);
          if (--g->pending == 0) finish();
        },
        [=](caf::error&) mutable {
          g->missing.push_back(name);
          if (--g->pending == 0) finish();
        });
  }
}

}  // namespace chronicle
