// Process-level helpers shared by Chronicle's programs (node, workers, CLI, tools): stop signals,
// the CAF network settings every process uses, and TLS (CAF's OpenSSL module) when configured.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>

namespace chronicle {

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts afterwards (call
// it before creating the actor system); wait_for_stop_signal then waits for one of them.
inline sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Returns the signal received.
inline int wait_for_stop_signal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// PEM files for TLS. All three empty: plain TCP.
struct tls_files {
  std::string certificate;  // this process's certificate
  std::string key;          // its private key
  std::string ca;           // the CA that signed every member's certificate (peers are verified)
  [[nodiscard]] bool enabled() const { return !certificate.empty(); }
};

// TLS files from CHRONICLE_TLS_CERT, CHRONICLE_TLS_KEY and CHRONICLE_TLS_CA (workers, CLI).
inline tls_files tls_from_env() {
  auto get = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  return tls_files{get("CHRONICLE_TLS_CERT"), get("CHRONICLE_TLS_KEY"), get("CHRONICLE_TLS_CA")};
}

// Defined beside the SSL_* wrappers that fix CAF 0.17.6's TLS transport (tls_fix.cpp); calling
// it keeps them in the program.
bool tls_fix_linked();

// Loads CAF's network module with heartbeats on (a hung peer, not only a dead one, is detected),
// and CAF's OpenSSL module when `tls` is enabled: then every connection is TLS.
inline void configure_network(caf::actor_system_config& cfg, const tls_files& tls = tls_from_env()) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
  if (tls.enabled() && tls_fix_linked()) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = tls.certificate;
    cfg.openssl_key = tls.key;
    cfg.openssl_cafile = tls.ca;
  }
}

// The actor that opens connections: the TLS one when the OpenSSL module is loaded.
inline caf::io::middleman_actor network_handle(caf::actor_system& sys) {
  return sys.has_openssl_manager() ? sys.openssl_manager().actor_handle()
                                   : sys.middleman().actor_handle();
}

// Publishes `whom` on host:port (reusing the address), over TLS when the OpenSSL module is loaded.
inline caf::expected<uint16_t> publish_actor(caf::actor_system& sys, const caf::actor& whom,
                                             uint16_t port, const std::string& host) {
  if (sys.has_openssl_manager()) return caf::openssl::publish(whom, port, host.c_str(), true);
  return sys.middleman().publish(whom, port, host.c_str(), true);
}

}  // namespace chronicle
