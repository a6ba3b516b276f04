// Process-level helpers shared by Chronicle's programs (node, sample workers, tools): stop signals
// and the CAF network settings every process uses.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <csignal>

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

// Loads CAF's network module with heartbeats on: a hung peer (not only a dead one) is detected.
inline void configure_network(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
}

}  // namespace chronicle
