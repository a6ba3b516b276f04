#include "actors/node/node_actor.hpp"

#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "actors/admin/admin_actor.hpp"
#include "actors/node/client_keys.hpp"
#include "actors/routing/catalog.hpp"
#include "actors/routing/frontend_actor.hpp"
#include "actors/routing/routing.hpp"
#include "actors/node/copy_cleanup.hpp"
#include "actors/node/handoff_actor.hpp"
#include "actors/node/handshake.hpp"
#include "actors/node/peer_tls.hpp"
#include "protocol/ab_switch.hpp"
#include "protocol/runtime.hpp"
#include "actors/matching/matching_actor.hpp"
#include "actors/shard/shard_actor.hpp"
#include "actors/shard/raft_outbox.hpp"

namespace chronicle {

namespace {

struct node_state {
  env_ptr env;
  std::map<std::string, int64_t> backoff_ms;  // per peer
  std::map<std::string, bool> connecting;     // a connection attempt is in flight
  std::map<std::string, std::string> refusal; // why the last handshake with a peer was refused
  std::set<caf::node_id> authenticated;       // remote processes that presented the secret
  std::set<caf::node_id> refused;             // logged once each
  client_keys keys;                           // API keys presented by remote processes
  std::set<caf::node_id> greeted;             // remote processes whose handshake we accepted
  // Replicated clusters: peers this node's member list leaves out but whose list names this node
  // (a node being removed, or one being added, during a rolling restart): connected while up,
  // forgotten when their connection drops (they connect again themselves).
  std::map<std::string, member_config> guests;
};

using self_ptr = caf::stateful_actor<node_state>*;

// Constant-time comparison of secrets.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<size_t>(b.size(), 1)];
  return diff == 0;
}

// With a cluster secret configured, only local actors and remote processes that presented it may
// use the node. Refusals are logged once per remote process.
caf::error authorize(caf::stateful_actor<struct node_state>* self);
// authorize, and with api_keys: only peers (remote processes whose handshake was accepted; none
// in a single-member cluster) may send peer messages, which carry no API key.
caf::error authorize_peer(caf::stateful_actor<struct node_state>* self);

constexpr int64_t min_backoff_ms = 100;
constexpr int64_t max_backoff_ms = 2000;

// The handshake (handshake.hpp compares what both sides say).
pb::HelloRequest make_hello(const node_env& env) {
  auto& c = env.config;
  pb::HelloRequest hello;
  hello.set_incarnation(env.store->incarnation());
  hello.set_raft_id(env.peers->own_raft_id());
  hello.set_raft_batches(true);
  hello.set_node(c.name);
  hello.set_num_shards(c.num_shards);
  hello.set_replication_factor(c.replication_factor);
  for (auto& m : env.member_list) hello.add_members(m);
  return hello;
}

void connect_peer(self_ptr self, const member_config& m);

// Records the member list a peer's handshake named; says so once when it differs from this
// node's (a rolling restart with a new list is under way).
void note_member_list(const node_env& env, const std::string& peer, std::vector<std::string> list) {
  bool differs = list != env.member_list;
  if (differs && env.peers->members_of(peer) != list)
    spdlog::warn("peer {} runs with another member list ({} members, this node {}): shards' "
                 "membership changes wait until every node that is up runs the same list",
                 peer, list.size(), env.member_list.size());
  env.peers->set_members(peer, std::move(list));
}

// A peer's data dir, as its handshake names it (incarnation, storage/store.hpp), against the one
// this node first saw it with. Another one means the peer was wiped (or replaced) and restarted:
// its Raft state is gone, so with replication its votes and acknowledgements under its old Raft
// ID would count for a log it no longer has (an acknowledged write could be lost). That ID is
// then fenced (membership::fenced: its traffic is dropped both ways) until the old data dir is
// back; the peer takes part again under a new, joined Raft ID, which the shards' leaders add to
// their groups as a new member (decide_identity, actors/shard/replica.cpp).
void check_incarnation(const node_env& env, const std::string& peer, uint64_t incarnation) {
  if (incarnation == 0) return;
  storage::status st;
  auto known = env.store->peer_incarnation(peer, &st);
  if (!st.ok()) {
    spdlog::error("reading the incarnation recorded for {}: {}", peer, st.message());
    return;
  }
  if (known == 0) {
    if (auto w = env.store->set_peer_incarnation(peer, incarnation); !w.ok())
      spdlog::error("{}", w.message());
    return;
  }
  bool was = env.peers->fenced(peer);
  if (known == incarnation) {
    if (was) {
      env.peers->set_fenced(peer, {});
      spdlog::info("peer {} is back with its data dir: it takes part in replication again", peer);
    }
    return;
  }
  if (!env.replicated() || was) return;
  auto why = "its data dir was wiped or replaced (incarnation " + std::to_string(incarnation)
             + ", known as " + std::to_string(known)
             + "): its old Raft ID takes no part in the shards' groups any more; it rejoins "
               "them as a new member";
  env.peers->set_fenced(peer, why);
  spdlog::warn("peer {}: {}", peer, why);
}

// Records the Raft ID a peer announced, when it is one the peer may use: its founding ID while
// its data dir is the one first seen, or the joined ID of the incarnation it presented.
void record_raft_id(const node_env& env, const std::string& peer, uint64_t id,
                    uint64_t incarnation) {
  if (id == 0 || !env.replicated()) return;
  bool founding = id == env.member_id(peer);
  bool ok = (founding && !env.peers->fenced(peer))
            || (incarnation != 0 && id == node_env::joined_raft_id(peer, incarnation));
  if (!ok) {
    spdlog::error("peer {} announced Raft ID {}, which is not its own (its data dir was "
                  "replaced): its replication traffic is dropped", peer, id);
    return;
  }
  if (env.peers->raft_id(peer) == id) return;
  env.peers->set_raft_id(peer, id);
  spdlog::info("peer {} takes part in the shards' Raft groups as {} ({} member)", peer, id,
               founding ? "founding" : "joined");
}

constexpr uint64_t identity_founding = 1;
constexpr uint64_t identity_joined = 2;

// Records this node's identity and the founding members (synced, before any replica starts) and
// sets its Raft ID.
bool record_identity(const node_env& env, uint64_t identity, std::vector<std::string> founders) {
  std::string list;
  for (auto& f : founders) list += (list.empty() ? "" : ",") + f;
  for (auto w : {env.store->set_raft_founders(list), env.store->set_raft_identity(identity)})
    if (!w.ok()) {
      spdlog::error("{}", w.message());
      return false;
    }
  env.peers->set_founders(std::move(founders));
  env.peers->set_own_raft_id(identity == identity_joined
                               ? node_env::joined_raft_id(env.config.name, env.store->incarnation())
                               : env.member_id(env.config.name));
  return true;
}

// This node's Raft ID from the identity recorded in its data dir. A data dir with no identity
// but with Raft state (made by a build before identities) is a founding member's, founded with
// today's member list. Otherwise the identity is decided by the first peer that answers the
// handshake (decide_identity).
void load_identity(const node_env& env) {
  if (!env.replicated()) return;
  storage::status st;
  auto identity = env.store->raft_identity(&st);
  auto recorded = st.ok() ? env.store->raft_founders(&st) : std::string{};
  if (!st.ok()) {
    spdlog::error("reading this node's raft identity: {}", st.message());
    return;
  }
  for (uint32_t shard = 0; identity == 0 && shard < env.config.num_shards; ++shard)
    if (env.store->has_raft_state(shard, &st)) identity = identity_founding;
  if (identity == 0) return;
  std::vector<std::string> founders;
  for (size_t at = 0; !recorded.empty() && at <= recorded.size();) {
    auto comma = std::min(recorded.find(',', at), recorded.size());
    founders.push_back(recorded.substr(at, comma - at));
    at = comma + 1;
  }
  if (founders.empty()) founders = env.ring->members();
  record_identity(env, identity, std::move(founders));
}

// Tells peer `name` this node's Raft ID (a hello; its answer records the peer's).
void announce_raft_id(self_ptr self, const std::string& name, const caf::actor& node) {
  self->request(node, std::chrono::seconds(5), hello_atom::value,
                encode(make_hello(*self->state.env)))
    .then(
      [=](const std::string& bytes) {
        if (auto resp = decode<pb::HelloResponse>(bytes, "HelloResponse"))
          record_raft_id(*self->state.env, name, resp->raft_id(), resp->incarnation());
      },
      [](caf::error&) {});  // the next handshake announces it
}

// A data dir with no identity yet, answered by a peer. It joins the groups as a new member when
// the peer knew this node with another data dir (it refuses its replication: wiped or replaced)
// or when this node is not among the founders the peer recorded (a node added to a running
// cluster); otherwise the cluster is being founded, with the peer's founders (or, when it has
// none yet, today's member list). Announced to the peers already greeted.
// Returns true when it decided the identity now.
bool decide_identity(self_ptr self, bool refused, const std::vector<std::string>& theirs) {
  auto& env = *self->state.env;
  if (!env.replicated() || env.peers->own_raft_id() != 0) return false;
  bool outsider = !theirs.empty()
                  && std::find(theirs.begin(), theirs.end(), env.config.name) == theirs.end();
  auto identity = refused || outsider ? identity_joined : identity_founding;
  if (!record_identity(env, identity, theirs.empty() ? env.ring->members() : theirs))
    return false;
  auto id = env.peers->own_raft_id();
  if (identity == identity_joined)
    spdlog::warn("this node's data dir is new to a running cluster ({}): its replicas join the "
                 "shards' Raft groups as new members (Raft ID {}) and catch up",
                 refused ? "which knew it with another data dir" : "not one of its founders", id);
  else
    spdlog::info("this node is a founding member of the shards' Raft groups (Raft ID {})", id);
  for (auto& m : env.config.members) {
    if (m.name == env.config.name) continue;
    if (auto node = env.peers->peer(m.name)) announce_raft_id(self, m.name, *node);
  }
  return true;
}

// A peer replica's Raft message to this node's replica of `shard`, unless its sender's Raft ID is
// refused (check_incarnation, record_raft_id).
void deliver_raft(self_ptr self, uint32_t shard, uint64_t from, std::string bytes) {
  auto& env = *self->state.env;
  if (!env.raft_peer_ok(from)) return;
  if (shard < env.shards.size() && env.shards[shard])
    self->send(env.shards[shard], raft_atom::value, shard, from, std::move(bytes));
}

void retry_later(self_ptr self, const member_config& m, const std::string& why) {
  auto& st = self->state;
  auto before = st.env->peers->info(m.name);
  auto& refusal = st.refusal[m.name];
  st.env->peers->set_down(m.name, refusal.empty() || why.find(refusal) != std::string::npos
                                    ? why : why + "; handshake refused: " + refusal,
                          now_ms());
  if (before.up || before.error != why)
    spdlog::warn("peer {} ({}:{}) is down: {}", m.name, m.host, m.port, why);
  auto& backoff = st.backoff_ms[m.name];
  backoff = std::clamp<int64_t>(backoff * 2, min_backoff_ms, max_backoff_ms);
  self->delayed_send(self, std::chrono::milliseconds(backoff), retry_atom::value, m.name);
}

// Tells every local shard to dispatch the pending tasks in `scope` again (routing.hpp).
void redispatch_all(self_ptr self, const redispatch_scope& scope) {
  for (auto& shard : self->state.env->shards)
    if (shard) self->send(shard, redispatch_atom::value, scope);
}

// Peer `member` came up (it may own task queues whose tasks were lost with it), or (replicated
// clusters, where task queues move to the next live member) went down: matching places its
// workers' registrations again, the shards dispatch the pending tasks of the queues that moved.
// When the ring task queues are placed on changed (membership::queue_ring: a peer on another
// member list came or went), queues may have moved between two other members: every pending
// task is dispatched again.
void placement_changed(self_ptr self, const std::string& member) {
  auto& env = *self->state.env;
  if (env.replicated())
    self->send(env.matching, redispatch_atom::value);
  size_t members = 0;
  if (env.replicated() && env.peers->take_queue_ring_change(&members)) {
    if (members > 0)
      spdlog::info("member lists differ: task queues are placed on the ring of all {} members "
                   "the lists name, the same on every node", members);
    else
      spdlog::info("every peer that is up runs this node's member list: task queues are "
                   "placed on its ring again");
    redispatch_all(self, redispatch_scope{});
    return;
  }
  redispatch_all(self, redispatch_scope::of_member(member));
}

void say_hello(self_ptr self, const member_config& m, caf::actor node);

// Presents the cluster secret (when configured), then says hello.
void on_peer_connected(self_ptr self, const member_config& m, caf::actor node) {
  auto& secret = self->state.env->config.cluster_secret;
  if (secret.empty()) {
    say_hello(self, m, node);
    return;
  }
  self->request(node, std::chrono::seconds(5), auth_atom::value, secret)
    .then([=](const std::string&) { say_hello(self, m, node); },
          [=](caf::error& err) {
            self->state.connecting[m.name] = false;
            spdlog::error("peer {} refused our cluster secret: {}", m.name, error_text(err));
            retry_later(self, m, "authentication failed: " + error_text(err));
          });
}

void say_hello(self_ptr self, const member_config& m, caf::actor node) {
  auto& st = self->state;
  self->request(node, std::chrono::seconds(5), hello_atom::value,
                encode(make_hello(*st.env)))
    .then(
      [=](const std::string& bytes) {
        auto& st = self->state;
        bool decided = false;  // this answer decided this node's identity
        if (auto resp = decode<pb::HelloResponse>(bytes, "HelloResponse")) {
          check_incarnation(*st.env, m.name, resp->incarnation());
          record_raft_id(*st.env, m.name, resp->raft_id(), resp->incarnation());
          st.env->peers->set_raft_batches(m.name, resp->raft_batches());
          note_member_list(*st.env, m.name, {resp->members().begin(), resp->members().end()});
          bool refused = !resp->replication_refused().empty();
          decided = decide_identity(self, refused,
                                    {resp->founders().begin(), resp->founders().end()});
          if (refused && st.env->peers->own_raft_id() == st.env->member_id(st.env->config.name)) {
            // A founding member whose data dir the peer does not know (restored from an old
            // copy?): its replicas stay out; routing asks the other replicas.
            st.env->peers->set_refused(true);
            spdlog::error("peer {} refuses this node's replication traffic: {}", m.name,
                          resp->replication_refused());
          }
        }
        st.connecting[m.name] = false;
        st.backoff_ms[m.name] = 0;
        st.refusal.erase(m.name);
        self->monitor(node);
        st.env->peers->set_up(m.name, node, now_ms());
        // decide_identity announced the new Raft ID to the peers already up, which this one was
        // not yet: it may have greeted this node before, while it had no ID, and would never
        // learn it (then it never hands a shard's leadership back to this node).
        if (decided) announce_raft_id(self, m.name, node);
        spdlog::info("peer {} ({}:{}) is up", m.name, m.host, m.port);
        self->send(st.env->handoff, hello_atom::value, m.name, node);
        self->send(st.env->admin, ns_push_atom::value, m.name);  // its namespaces may be older
        placement_changed(self, m.name);
      },
      [=](caf::error& err) {
        self->state.connecting[m.name] = false;
        auto why = error_text(err);
        if (chronicle_code(err) == static_cast<uint8_t>(errc::invalid_argument)) {
          spdlog::error("peer {} refused the handshake: {}", m.name, why);
          self->state.refusal[m.name] = why;
        }
        retry_later(self, m, "handshake failed: " + why);
      });
}

// A failed connection to a peer. With TLS, CAF says `cannot_connect_to_node` whatever the cause
// (a certificate from another CA too): a TLS handshake of our own, off the scheduler's threads,
// then names the cause (peer_tls.hpp), once in the log and in the peer's status.
void connect_failed(self_ptr self, const member_config& m, const std::string& why) {
  auto& c = self->state.env->config;
  if (c.tls_certificate.empty()) {
    self->state.connecting[m.name] = false;
    retry_later(self, m, why);
    return;
  }
  tls_files files{c.tls_certificate, c.tls_key, c.tls_ca};
  auto probe = self->spawn<caf::detached>([=](caf::event_based_actor* p) -> caf::behavior {
    return {[=](caf::get_atom) {
      p->quit();
      return tls_handshake_error(m.host, m.port, files);
    }};
  });
  auto done = [=](const std::string& tls_why) {
    self->state.connecting[m.name] = false;
    retry_later(self, m, tls_why.empty() ? why : "TLS: " + tls_why);
  };
  self->request(probe, std::chrono::seconds(10), caf::get_atom::value)
    .then(done, [=](caf::error&) { done({}); });
}

void connect_peer(self_ptr self, const member_config& m) {
  auto& st = self->state;
  if (st.connecting[m.name] || st.env->peers->peer(m.name)) return;
  st.connecting[m.name] = true;
  auto mm = network_handle(self->system());
  self->request(mm, std::chrono::seconds(2), caf::connect_atom::value, m.host, m.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto node = caf::actor_cast<caf::actor>(ptr);
        if (!node) {
          self->state.connecting[m.name] = false;
          retry_later(self, m, "nothing published at its address");
          return;
        }
        on_peer_connected(self, m, node);
      },
      [=](caf::error& err) { connect_failed(self, m, error_text(err)); });
}

const member_config* member(const node_config& c, const std::string& name) {
  for (auto& m : c.members)
    if (m.name == name) return &m;
  return nullptr;
}

// The local actor that serves a message of the catalog (catalog.hpp: served_by).
caf::actor local_server(const node_env& env, const message_kind& entry) {
  switch (entry.server) {
    case served_by::admin: return env.admin;
    case served_by::matching: return env.matching;
    default: return env.frontend;
  }
}

}  // namespace

caf::behavior node_actor(caf::stateful_actor<node_state>* self, env_ptr env) {
  self->state.env = env;
  load_identity(*env);
  // Anything else that arrives (garbage, unknown kinds) is refused with an error, never a crash.
  harden(self, "node");
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    std::vector<member_config> peers = st.env->config.members;
    for (auto& [name, g] : st.guests) peers.push_back(g);
    for (auto& m : peers) {
      auto peer = st.env->peers->peer(m.name);
      if (peer && peer->address() == msg.source) {
        st.backoff_ms[m.name] = 0;
        bool guest = st.guests.erase(m.name) > 0;  // it connects again itself
        if (guest) st.env->peers->set_down(m.name, "connection lost", now_ms());
        else retry_later(self, m, "connection lost (" + error_text(msg.reason) + ")");
        if (self->state.env->replicated()) {
          // Replicas that follow it campaign now rather than after the election timeout
          // (CHRONICLE_RAFT_LEADER_GONE=0: they wait it out, for A/B benchmarks).
          static const bool campaign = ab::on("CHRONICLE_RAFT_LEADER_GONE");
          for (auto& shard : self->state.env->shards)
            if (shard && campaign) self->send(shard, leader_gone_atom::value, m.name);
          placement_changed(self, m.name);
        }
      }
    }
  });
  for (auto& m : env->config.members)
    if (m.name != env->config.name) {
      env->peers->set_down(m.name, "not connected yet", now_ms());
      connect_peer(self, m);
    }
  return {
    [=](ping_atom) -> caf::result<std::string> {
      if (auto err = authorize(self)) return err;
      return self->state.env->config.name;
    },
    [=](auth_atom, const std::string& secret) -> caf::result<std::string> {
      auto& st = self->state;
      auto sender = self->current_sender();
      if (!sender) return make_error(errc::unauthenticated, "anonymous sender");
      if (st.env->config.cluster_secret.empty()
          || same_secret(secret, st.env->config.cluster_secret)) {
        st.authenticated.insert(sender->node());
        return std::string{"ok"};
      }
      spdlog::warn("refused a peer at {}: wrong cluster secret", caf::to_string(sender->node()));
      return make_error(errc::unauthenticated, "wrong cluster secret");
    },
    [=](apikey_atom, const std::string& key) -> caf::result<std::string> {
      if (auto err = authorize(self)) return err;
      auto sender = self->current_sender();
      if (!sender) return make_error(errc::unauthenticated, "anonymous sender");
      if (auto err = self->state.keys.present(*self->state.env, sender->node(), key)) return err;
      return std::string{"ok"};
    },
    [=](hello_atom, const std::string& bytes) -> caf::result<std::string> {
      if (auto err = authorize(self)) return err;
      auto& env = *self->state.env;
      auto peer = decode<pb::HelloRequest>(bytes, "HelloRequest");
      if (!peer) return peer.error();
      auto diff = compare_hello(make_hello(env), *peer);
      if (!diff.empty()) {
        spdlog::error("refusing handshake from {}: {}", peer->node(), diff);
        if (member(env.config, peer->node())) {
          self->state.refusal[peer->node()] = diff;
          env.peers->set_down(peer->node(), "handshake refused: " + diff, now_ms());
        }
        return make_error(errc::invalid_argument, "cluster config mismatch: " + diff);
      }
      // The peer is (back) up: connect to it now instead of waiting for the backoff. A guest (a
      // replicated peer whose list names this node while this node's does not) at the address
      // its own list gives.
      if (auto* m = member(env.config, peer->node())) {
        connect_peer(self, *m);
      } else if (auto g = listed_address(peer->members(), peer->node())) {
        if (!self->state.guests.count(g->name))
          spdlog::info("peer {} is not in this node's member list but its list names this node: "
                       "connected as a guest while it runs (a rolling restart)", g->name);
        self->state.guests[g->name] = *g;
        connect_peer(self, *g);
      }
      check_incarnation(env, peer->node(), peer->incarnation());
      record_raft_id(env, peer->node(), peer->raft_id(), peer->incarnation());
      env.peers->set_raft_batches(peer->node(), peer->raft_batches());
      note_member_list(env, peer->node(), {peer->members().begin(), peer->members().end()});
      // (A process calling itself this node is not a peer: a single-member cluster has none.)
      if (auto sender = self->current_sender(); sender && peer->node() != env.config.name)
        self->state.greeted.insert(sender->node());
      pb::HelloResponse resp;
      resp.set_node(env.config.name);
      resp.set_incarnation(env.store->incarnation());
      resp.set_replication_refused(env.peers->info(peer->node()).fenced);
      resp.set_raft_id(env.peers->own_raft_id());
      resp.set_raft_batches(true);
      for (auto& m : env.member_list) resp.add_members(m);
      for (auto& f : env.peers->founders()) resp.add_founders(f);
      return encode(resp);
    },
    [=](handoff_atom, const std::string& bytes) -> caf::result<std::string> {
      if (auto err = authorize_peer(self)) return err;
      auto chunk = serve_handoff(*self->state.env, bytes);
      if (!chunk) return chunk.error();
      return std::move(*chunk);
    },
    [=](release_atom, const std::string& bytes) -> caf::result<std::string> {
      if (auto err = authorize_peer(self)) return err;
      auto done = serve_release(*self->state.env, bytes);
      if (!done) return done.error();
      return std::move(*done);
    },
    [=](raft_atom, uint32_t shard, uint64_t from, std::string& bytes) {
      // A replica of a peer to this node's replica of `shard` (actors/shard/replica.hpp).
      if (authorize_peer(self)) return;
      deliver_raft(self, shard, from, std::move(bytes));
    },
    [=](raft_batch_atom, const std::string& bytes) {
      // Several of a peer's replicas' messages (its raft outbox, actors/shard/raft_outbox.hpp).
      if (authorize_peer(self)) return;
      std::string why;
      auto messages = unpack_raft_batch(bytes, &why);
      if (!messages) {
        auto sender = self->current_sender();
        spdlog::warn("dropped a batch of Raft messages from {}: {}",
                     sender ? caf::to_string(sender->node()) : std::string("an anonymous sender"),
                     why);
        return;
      }
      for (auto& m : *messages) deliver_raft(self, m.shard, m.from, std::move(m.bytes));
    },
    [=](snapchunk_atom atom, uint32_t shard, uint64_t from, std::string& bytes)
      -> caf::result<std::string> {
      // A replica of a peer pulling a snapshot stream this node's replica of `shard` holds.
      if (auto err = authorize_peer(self)) return err;
      auto& env = *self->state.env;
      if (!env.raft_peer_ok(from))
        return make_error(errc::permission_denied, "unknown or replaced Raft ID " + std::to_string(from));
      if (shard >= env.shards.size() || !env.shards[shard])
        return make_error(errc::unavailable, "no replica of shard " + std::to_string(shard) + " here");
      self->delegate(env.shards[shard], atom, shard, from, std::move(bytes));
      return caf::delegated<std::string>{};
    },
    [=](members_atom atom, uint32_t shard) -> caf::result<std::string> {
      // A peer that holds a copy of `shard` it no longer replicates asks this node's replica
      // whether the group still counts it (actors/node/copy_cleanup.hpp).
      if (auto err = authorize_peer(self)) return err;
      auto& env = *self->state.env;
      if (shard >= env.shards.size() || !env.shards[shard])
        return make_error(errc::unavailable, "no replica of shard " + std::to_string(shard) + " here");
      self->delegate(env.shards[shard], atom, shard);
      return caf::delegated<std::string>{};
    },
    [=](register_atom atom, std::string& bytes, const caf::actor& worker) {
      // A peer's matching registers a worker connected there with a task queue owned here now.
      if (authorize_peer(self)) return;
      self->send(self->state.env->matching, atom, std::move(bytes), worker);
    },
    [=](retry_atom, const std::string& name) {
      if (auto* m = member(self->state.env->config, name)) connect_peer(self, *m);
      else if (auto g = self->state.guests.find(name); g != self->state.guests.end())
        connect_peer(self, g->second);
    },
    [=](fwd_atom, caf::atom_value kind, std::string& bytes) -> caf::result<caf::message> {
      if (auto err = authorize_peer(self)) return err;
      auto* entry = find_message(kind);
      if (!entry) return make_error(errc::bad_message, "unknown message kind " + caf::to_string(kind));
      if (kind == overload_atom::value) {  // one-way, from the queue's owner
        if (auto note = decode<pb::OverloadNote>(bytes, "OverloadNote"))
          self->state.env->overloaded->set(note->namespace_(), note->task_queue(),
                                           note->overloaded());
        return caf::message{};
      }
      if (kind == redispatch_atom::value) {
        // One-way: a task queue drained its backlog (its note names it; empty from an older
        // version: every task).
        auto scope = redispatch_scope{};
        if (!bytes.empty())
          if (auto note = decode<pb::OverloadNote>(bytes, "OverloadNote"))
            scope = redispatch_scope::of_queue(note->namespace_(), note->task_queue());
        redispatch_all(self, scope);
        return caf::message{};
      }
      if (kind == gone_atom::value || kind == dispatch_atom::value) {
        // One-way: a worker registered through the sender died; a task the local matching
        // places (here).
        self->send(self->state.env->matching, kind, std::move(bytes));
        return caf::message{};
      }
      self->delegate(local_server(*self->state.env, *entry), fwd_atom::value, kind,
                     std::move(bytes));
      return caf::delegated<caf::message>{};
    },
    // Last: the published API, every kind the catalog lists as sent by clients (and a worker's
    // registration), handed to the local actor that serves it.
    [=](caf::atom_value kind, std::string& bytes) -> caf::result<caf::message> {
      if (auto err = authorize(self)) return err;
      auto* entry = find_message(kind);
      if (!entry || (entry->sender != sent_by::client && kind != register_atom::value))
        return make_error(errc::bad_message, "unexpected message " + caf::to_string(kind));
      // API keys: checked for remote processes (the HTTP gateway, local, checks its own).
      auto sender = self->current_sender();
      if (sender && sender->node() != self->node())
        if (auto err = self->state.keys.check(*self->state.env, sender->node(), *entry, bytes))
          return err;
      self->delegate(local_server(*self->state.env, *entry), kind, std::move(bytes));
      return caf::delegated<caf::message>{};
    },
  };
}

namespace {

caf::error authorize_peer(self_ptr self) {
  if (auto err = authorize(self)) return err;
  auto& st = self->state;
  if (st.env->keys->current()->open()) return caf::none;
  auto sender = self->current_sender();
  if (sender && (sender->node() == self->node() || st.greeted.count(sender->node())))
    return caf::none;
  auto who = sender ? caf::to_string(sender->node()) : std::string("an anonymous sender");
  spdlog::warn("refused a peer message from {}: not a peer (no accepted handshake)", who);
  return make_error(errc::unauthenticated, "peer messages are for the cluster's nodes only");
}

caf::error authorize(self_ptr self) {
  auto& st = self->state;
  if (st.env->config.cluster_secret.empty()) return caf::none;
  auto sender = self->current_sender();
  if (sender && (sender->node() == self->node() || st.authenticated.count(sender->node())))
    return caf::none;
  auto who = sender ? caf::to_string(sender->node()) : std::string("an anonymous sender");
  if (!sender || st.refused.insert(sender->node()).second)
    spdlog::warn("refused unauthenticated peer {}: it did not present the cluster secret", who);
  return make_error(errc::unauthenticated,
                    "unauthenticated: this cluster requires its cluster secret "
                    "(CHRONICLE_CLUSTER_SECRET)");
}

}  // namespace

caf::actor start_node(caf::actor_system& sys, std::shared_ptr<node_env> env) {
  env->started_at_ms = now_ms();
  std::vector<std::string> names;
  for (auto& m : env->config.members) names.push_back(m.name);
  env->ring = std::make_unique<hash_ring>(names);
  for (auto& m : env->config.members)
    env->member_list.push_back(m.name + "=" + m.host + ":" + std::to_string(m.port));
  std::sort(env->member_list.begin(), env->member_list.end());
  env->peers->set_own_list(env->member_list);
  env_ptr ro = env;
  // Handles are filled in before any message flows: the actors read them only when handling.
  env->frontend = sys.spawn(frontend_actor, ro);
  env->admin = sys.spawn(admin_actor, ro);
  env->matching = spawn_matching(sys, ro);
  env->shards.resize(env->config.num_shards);
  env->shard_ready = std::make_unique<std::atomic<bool>[]>(env->config.num_shards);
  env->placement = place_shards(*env->ring, env->config.num_shards, env->config.replication_factor);
  env->shard_leader = std::make_unique<std::atomic<uint64_t>[]>(env->config.num_shards);
  env->shard_outside = std::make_unique<std::atomic<bool>[]>(env->config.num_shards);
  env->shard_lag = std::make_unique<std::atomic<uint64_t>[]>(env->config.num_shards);
  // CHRONICLE_RAFT_OUTBOX=0: every replica sends its own messages (A/B benchmarks).
  if (env->replicated() && ab::on("CHRONICLE_RAFT_OUTBOX"))
    env->raft_outbox = spawn_raft_outbox(sys, ro);
  for (uint32_t i = 0; i < env->config.num_shards; ++i)
    if (env->owns_shard(i)) env->shards[i] = spawn_shard(sys, ro, i);
  // Only now, with every handle in place, may messages flow. Replicated shards start their
  // replicas (a shard serves once its replica leads); otherwise the handoff actor lets each shard
  // recover (and dispatch its tasks) once it is sure no peer still holds the shard's data.
  std::vector<uint32_t> pending;
  if (env->replicated()) {
    for (auto& shard : env->shards)
      if (shard) caf::anon_send(shard, recover_atom::value);
  } else {
    pending = start_ready_shards(*env);
  }
  env->handoff = spawn_handoff(sys, ro, std::move(pending));
  env->copy_cleanup = spawn_copy_cleanup(sys, ro, left_copies(*env));
  return sys.spawn(node_actor, ro);
}

}  // namespace chronicle
