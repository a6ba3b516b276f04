// HTTPS for the gateway (config http_tls): the OpenSSL context built from a certificate chain and
// its private key (PEM), swapped whole when the node re-reads its config on SIGHUP. A connection
// keeps the context it was accepted with; a new certificate that does not load (missing file,
// key not matching) leaves the old one in place.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace chronicle::http {

class tls_contexts {
public:
  // Loads `certificate` and `key`. Returns false and sets *error (one line) when they do not
  // load; the current context is then unchanged.
  bool load(const std::string& certificate, const std::string& key, std::string* error);
  // The context for a new connection (nullptr before the first successful load).
  [[nodiscard]] std::shared_ptr<boost::asio::ssl::context> current() const;

private:
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace chronicle::http
