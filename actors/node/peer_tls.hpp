// Why a TLS connection to a peer failed. CAF's OpenSSL transport only reports
// `cannot_connect_to_node` when a TLS handshake fails (a certificate from another CA, on either
// side, included), so after such a failure the node makes one TLS handshake of its own with the
// peer, with the same certificate, key and CA, to name the cause in its log and in the peer's
// status (docs/security.md).
#pragma once

#include <cstdint>
#include <string>

#include "protocol/runtime.hpp"

namespace chronicle {

// Connects to host:port (at most `timeout_ms` for the connection and the handshake each) and
// makes a mutual TLS handshake with `files`. Empty when it succeeds (the failure was something
// else); otherwise the reason, e.g. "its certificate is not signed by our CA (unable to get
// local issuer certificate)" or "it refused our certificate (tlsv1 alert unknown ca)".
// Blocking: the node calls it in a detached actor (node_actor.cpp: connect_peer).
std::string tls_handshake_error(const std::string& host, uint16_t port, const tls_files& files,
                                int timeout_ms = 2000);

}  // namespace chronicle
