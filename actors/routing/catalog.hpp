// The message catalog: every message that carries protobuf bytes between Chronicle's actors, in
// one table (catalog.cpp) naming its atom, its protobuf type, how a node finds where it goes, who
// may send it and which actor serves it. The node actor's published API, the frontend's and the
// shard's routes, the task queue's worker answers, route_of / token_of and the validation of
// client requests and worker answers are all driven by this table.
//
// Adding a message = one line in catalog.cpp + its handler where it is served (for a
// workflow-addressed message: the execution actor's handler).
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/node/api_keys.hpp"
#include "protocol/messages.hpp"

namespace chronicle {

// How a node finds where a message goes.
enum class route_by : uint8_t {
  workflow,    // its namespace and workflow ID (fields 1 and 2): the workflow's shard
  parent,      // ChildWorkflowClosed: the parent's namespace and workflow ID: the parent's shard
  token,       // its TaskToken (field 1): the shard of the workflow the task belongs to
  task_queue,  // the node that owns its task queue (matching places it)
  node,        // served where it arrives (the admin actor asks every node itself)
};

// Which actor of a node serves a message that reached the node actor (from a client, a worker or
// a peer node forwarding it).
enum class served_by : uint8_t { frontend, admin, matching, node };

// Who sends it.
enum class sent_by : uint8_t {
  client,    // a client or the CLI, through the published node actor
  worker,    // a worker, to its task queue (register: through the node actor)
  internal,  // an actor of a node (task queue -> shard, execution -> frontend, node -> node)
};

// What the task queue does with a worker's message on its way to the shard.
enum class queue_pass : uint8_t {
  none,        // not a worker's message to a task queue
  frees_slot,  // the task's answer: its slot is free again
  keeps_slot,  // about a running task (heartbeat, whole-history request): the slot stays taken
};

struct validation_limits;

struct message_kind {
  caf::atom_value atom;
  const char* type;  // the protobuf message its bytes carry (named in errors)
  route_by route;
  served_by server;
  sent_by sender;
  queue_pass pass = queue_pass::none;
  bool activity = false;  // about an activity task (else a workflow task), for token routes
  // Checks (and may rewrite) a client's request or a worker's answer where it enters the
  // workflow path (frontend or task queue); nullptr: checked where it is decided.
  caf::error (*validate)(const validation_limits&, caf::atom_value& kind,
                         std::string& bytes) = nullptr;
  // The routing fields, read without a whole decode (route_of / token_of in routing.hpp).
  bool (*peek)(const std::string& bytes, std::string* ns, std::string* workflow_id,
               pb::TaskToken* token) = nullptr;
  // The role an API key needs in the request's namespace (field 1 of every client request and
  // of a worker's registration) when the node has api_keys (docs/security.md); none: not sent
  // by clients or workers through the node actor.
  role needs = role::none;

  // Routed to the shard of a workflow (by its ID, its parent's or its task token).
  [[nodiscard]] bool to_shard() const {
    return route == route_by::workflow || route == route_by::parent || route == route_by::token;
  }
};

// The entry of `atom`, or nullptr when no message of that kind exists.
const message_kind* find_message(caf::atom_value atom);

// Every entry, in catalog order.
const std::vector<message_kind>& message_catalog();

}  // namespace chronicle
