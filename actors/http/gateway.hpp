// The HTTP/JSON gateway of a node (config http_port): a Boost.Beast server on its own Asio thread
// serving the endpoints of http_api.hpp, the web UI and /metrics. It talks to the node's actors
// in-process through one bridge actor that sends the node actor the same encoded protobuf
// requests as the client library; nothing blocks the Asio thread.
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "actors/node/node_env.hpp"

namespace chronicle::http {

class gateway {
public:
  // Listens on env->config.http_host:http_port. Returns nullptr and sets *error (one line) when
  // it cannot.
  static std::unique_ptr<gateway> start(caf::actor_system& sys, caf::actor node, env_ptr env,
                                        std::string* error);
  ~gateway();  // stop()
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  // Stops listening, drops pending node calls (their connections are closed) and joins the Asio
  // thread. Idempotent. Call it before the actor system shuts down.
  void stop();

  [[nodiscard]] uint16_t port() const;
  // Serving HTTPS (config http_tls).
  [[nodiscard]] bool https() const;
  // SIGHUP: new connections use this certificate and key from now on. Returns false and sets
  // *error (one line) when they do not load, or when the gateway serves plain HTTP; the
  // certificate in use then stays.
  bool reload_tls(const std::string& certificate, const std::string& key, std::string* error);

  struct impl;

private:
  explicit gateway(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace chronicle::http
