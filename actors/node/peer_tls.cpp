#include "actors/node/peer_tls.hpp"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

// The SSL_* wrappers that keep CAF's TLS transport from dropping healthy connections are in
// protocol/tls_fix.cpp (every process that speaks TLS needs them, workers and the CLI too).
namespace chronicle {

namespace {

// OpenSSL's queued errors, oldest first, as one line.
std::string ssl_errors() {
  std::string out;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "connection closed" : out;
}

// A TCP connection with send and receive timeouts, or -1.
int connect_with_timeout(const std::string& host, uint16_t port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard{found, freeaddrinfo};
  for (auto* a = found; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // bounds connect() too
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) return fd;
    close(fd);
  }
  return -1;
}

// Blocks SIGPIPE in this thread while OpenSSL writes to a socket the peer may have closed.
struct sigpipe_blocked {
  sigset_t pipe, saved;
  sigpipe_blocked() {
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &saved);
  }
  ~sigpipe_blocked() {
    timespec zero{};
    sigtimedwait(&pipe, nullptr, &zero);  // one raised meanwhile is consumed, not delivered
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  }
};

// A refusal of our certificate arrives as one of these alerts.
bool refused_ours(const std::string& errors) {
  for (auto* alert : {"unknown ca", "bad certificate", "certificate required",
                      "certificate unknown", "unsupported certificate", "access denied"})
    if (errors.find(alert) != std::string::npos) return true;
  return false;
}

std::string handshake(SSL* ssl) {
  if (SSL_connect(ssl) != 1) {
    auto errors = ssl_errors();
    if (auto v = SSL_get_verify_result(ssl); v != X509_V_OK)
      return "its certificate is not signed by our CA (" +
             std::string(X509_verify_cert_error_string(v)) + ")";
    if (refused_ours(errors)) return "it refused our certificate (" + errors + ")";
    return "TLS handshake failed (" + errors + ")";
  }
  // With TLS 1.3 the server checks our certificate after our side of the handshake is done: a
  // refusal is an alert where the peer's first bytes (BASP's server handshake) would be.
  char byte;
  if (SSL_read(ssl, &byte, 1) > 0) return {};
  auto errors = ssl_errors();
  if (refused_ours(errors)) return "it refused our certificate (" + errors + ")";
  return {};  // a timeout or a close without a word: not a certificate matter we can name
}

}  // namespace

std::string tls_handshake_error(const std::string& host, uint16_t port, const tls_files& files,
                                int timeout_ms) {
  sigpipe_blocked no_sigpipe;
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free};
  if (!ctx) return "cannot create a TLS context (" + ssl_errors() + ")";
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.certificate.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr) != 1)
    return "cannot load this node's TLS files (" + ssl_errors() + ")";
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  int fd = connect_with_timeout(host, port, timeout_ms);
  if (fd < 0) return {};  // not reachable: CAF's error says so already
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), SSL_free};
  std::string why = "cannot create a TLS session (" + ssl_errors() + ")";
  if (ssl && SSL_set_fd(ssl.get(), fd) == 1) {
    why = handshake(ssl.get());
    if (why.empty()) SSL_shutdown(ssl.get());
  }
  close(fd);
  return why;
}

}  // namespace chronicle
