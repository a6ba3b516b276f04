// The client library: start workflows, wait for results, read histories and describe executions,
// talking to any node over CAF. Used by the chronicle CLI and by tests. Calls block the caller.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <string>

#include "protocol/messages.hpp"

namespace chronicle {

class client {
public:
  // Connects to the node at host:port. Fails with an "unavailable" error naming the address.
  static caf::expected<client> connect(caf::actor_system& sys, const std::string& host,
                                       uint16_t port,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

  caf::expected<pb::StartWorkflowResponse> start(const pb::StartWorkflowRequest& req);

  // Waits up to `timeout` for the run to close (current run when run_id is empty). Survives a
  // restart of the node: reconnects and asks again until the deadline.
  caf::expected<pb::GetResultResponse> result(const std::string& ns, const std::string& workflow_id,
                                              const std::string& run_id,
                                              std::chrono::milliseconds timeout);

  caf::expected<pb::GetHistoryResponse> history(const std::string& ns,
                                                const std::string& workflow_id,
                                                const std::string& run_id = {});

  caf::expected<pb::DescribeWorkflowResponse> describe(const std::string& ns,
                                                       const std::string& workflow_id,
                                                       const std::string& run_id = {});

private:
  client(caf::actor_system& sys, std::string host, uint16_t port, caf::actor node);

  // Sends (atom, bytes) and parses the reply as Msg.
  template <class Msg, class Atom>
  caf::expected<Msg> call(Atom atom, const std::string& bytes, std::chrono::milliseconds timeout);

  // True when the node answers a ping within a second.
  bool call_ping();

  caf::actor_system* sys_;
  std::string host_;
  uint16_t port_;
  caf::actor node_;
};

}  // namespace chronicle
