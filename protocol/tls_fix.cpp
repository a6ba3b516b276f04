// CAF 0.17.6's TLS transport fix, linked into every process that loads CAF's OpenSSL module
// (configure_network in runtime.hpp refers to tls_fix_linked(), which pulls this object into
// the program from the static library; nodes, workers, the CLI and users' workers alike).
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdlib>

// The fix for CAF 0.17.6's TLS transport (libcaf_openssl), which dropped healthy connections.
// OpenSSL's SSL_get_error reports SSL_ERROR_SSL whenever the calling thread's error queue holds
// an error, whatever the call it is asked about did; its manual requires an empty queue before
// each TLS I/O call. CAF empties the queue of its I/O thread only inside a log statement, which
// Debian's build (log level QUIET) compiles out. So once one TLS connection failed (a peer
// killed, a redundant connection BASP closes when two nodes dial each other at once, a client
// without TLS), the next read of another connection that had to wait for data was taken for a
// failure, and that connection was closed: the drops of node-to-node TLS. CAF fixed this in its
// later TLS layer (caf-net, commit 2815cf2: ERR_clear_error before each call). Here the calls
// libcaf_openssl makes are wrapped the same way: a program's own definitions of these functions
// take precedence over libssl's for every shared library it loads (ELF symbol interposition);
// the wrappers empty the queue and call libssl's. Workers and the CLI get them too: the cause
// applies to any process, though the client cases tried (a first address that fails the TLS
// handshake, the worker's node killed) did not drop a client's next connection without them.
// Boost.Asio (the HTTP gateway) empties the queue before these calls itself.
namespace {

template <class F>
F libssl(const char* name) {
  auto f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
  if (!f) abort();  // libssl is linked: cannot happen
  return f;
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = libssl<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = libssl<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto real = libssl<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto real = libssl<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

}  // extern "C"

namespace chronicle {

bool tls_fix_linked() { return true; }

}  // namespace chronicle
