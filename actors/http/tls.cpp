#include "actors/http/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace chronicle::http {

namespace ssl = boost::asio::ssl;

bool tls_contexts::load(const std::string& certificate, const std::string& key,
                        std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 and newer only; no compression, no renegotiation by the client.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                   | ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1
                   | ssl::context::no_compression);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(certificate, ec);
  if (ec) {
    *error = "cannot load the http_tls certificate '" + certificate + "': " + ec.message();
    return false;
  }
  ctx->use_private_key_file(key, ssl::context::pem, ec);
  if (ec) {
    *error = "cannot load the http_tls key '" + key + "': " + ec.message();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    *error = "the http_tls key '" + key + "' does not match the certificate '" + certificate + "'";
    return false;
  }
  std::lock_guard lock(mutex_);
  current_ = std::move(ctx);
  return true;
}

std::shared_ptr<ssl::context> tls_contexts::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace chronicle::http
