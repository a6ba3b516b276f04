#include "actors/http/gateway.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <thread>

#include "actors/http/api.hpp"
#include "actors/http/auth.hpp"
#include "actors/http/tls.hpp"

namespace chronicle::http {

// One node call of a session, handed to the bridge actor (local messages only).
struct bridge_call {
  caf::atom_value kind;
  std::string bytes;
  std::chrono::milliseconds timeout;
  std::function<void(caf::expected<std::string>)> done;  // runs on a CAF thread
};

}  // namespace chronicle::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chronicle::http::bridge_call)

namespace chronicle::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr auto idle_timeout = std::chrono::seconds(60);
constexpr auto write_timeout = std::chrono::seconds(30);
constexpr uint32_t header_limit = 16 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds(10);
// One Asio thread runs every connection: no strands, and the io_context's own executor rather
// than the type-erased any_io_executor (perf showed both in the gateway thread's profile).
using executor = net::io_context::executor_type;
using socket_type = net::basic_stream_socket<tcp, executor>;
using plain_stream = beast::basic_stream<tcp, executor>;
using tls_stream = beast::ssl_stream<plain_stream>;

// Sends every call to the node actor with its timeout and hands the answer to the session.
caf::behavior bridge(caf::event_based_actor* self, caf::actor node) {
  return {
    [=](bridge_call& c) {
      auto done = std::move(c.done);
      self->request(node, c.timeout, c.kind, std::move(c.bytes))
        .then([done](std::string& answer) { done(std::move(answer)); },
              [done](caf::error& err) { done(std::move(err)); });
    },
  };
}

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

// A whole answer (head and body) in one buffer, written with one async_write: Beast's
// response serializer and its per-field allocations were ~9 % of the gateway thread's CPU.
std::string response_text(const reply& r, unsigned version, bool keep_alive) {
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  std::string t;
  t.reserve(160 + r.content_type.size() + r.allow.size() + r.cache_control.size()
            + r.www_authenticate.size() + r.body.size());
  t += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  t += std::to_string(r.status);
  t += ' ';
  t.append(reason.data(), reason.size());
  t += "\r\nServer: chronicle\r\nContent-Type: ";
  t += r.content_type;
  auto field = [&t](const char* name, const std::string& value) {
    if (value.empty()) return;
    t += "\r\n";
    t += name;
    t += ": ";
    t += value;
  };
  field("Allow", r.allow);
  field("Cache-Control", r.cache_control);
  field("WWW-Authenticate", r.www_authenticate);
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told.
  if (version == 10 && keep_alive) t += "\r\nConnection: keep-alive";
  if (version != 10 && !keep_alive) t += "\r\nConnection: close";
  t += "\r\nContent-Length: ";
  t += std::to_string(r.body.size());
  t += "\r\n\r\n";
  t += r.body;
  return t;
}

// One connection: read a request, serve it (possibly through node calls), write the reply, repeat.
// Stream: plain_stream (HTTP) or tls_stream (HTTPS, config http_tls).
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
  session(socket_type&& socket, env_ptr env, caf::actor bridge)
    : stream_(std::move(socket)), env_(std::move(env)), bridge_(std::move(bridge)) {}
  // HTTPS: `tls` is the context of the certificate current when the connection was accepted.
  session(socket_type&& socket, env_ptr env, caf::actor bridge,
          std::shared_ptr<net::ssl::context> tls)
    : stream_(std::move(socket), *tls), env_(std::move(env)), bridge_(std::move(bridge)),
      tls_(std::move(tls)) {}

  ~session() {
    if (streaming_) env_->metrics->on_http_streams(-1);
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->start(); });
  }

private:
  using std::enable_shared_from_this<session<Stream>>::shared_from_this;

  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void start() {
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      lowest().expires_after(handshake_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  spdlog::debug("http: TLS handshake failed: {}", ec.message());
                                  return self->close();
                                }
                                self->read();
                              });
    } else {
      read();
    }
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(env_->config.http_max_body_bytes);
    parser_->header_limit(header_limit);
    lowest().expires_after(idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  // A client that sent "Expect: 100-continue" (curl does for bodies over 1 KiB) waits for a go
  // before it sends the body; a body that is too large was refused above (Content-Length).
  void on_header(beast::error_code ec, size_t) {
    if (ec) return fail(ec);
    auto& head = parser_->get();
    if (!beast::iequals(head[bhttp::field::expect], "100-continue")) return read_body();
    auto go = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                   head.version());
    bhttp::async_write(stream_, *go, [self = shared_from_this(), go](beast::error_code wec, size_t) {
      if (wec) return self->close();
      self->read_body();
    });
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  // Answers a failed read when there is someone to answer, else closes.
  void fail(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout) return close();
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      version_ = parser_->get().version();
      return respond(error_reply(413, "payload_too_large",
                                 "request body larger than http_max_body_bytes ("
                                   + std::to_string(env_->config.http_max_body_bytes) + ")"));
    }
    if (ec == bhttp::error::header_limit) {
      keep_alive_ = false;
      return respond(error_reply(431, "invalid_argument", "request header too large"));
    }
    if (ec && is_http_error(ec)) {
      keep_alive_ = false;
      return respond(error_reply(400, "invalid_argument", "malformed HTTP request: " + ec.message()));
    }
    close();  // connection reset and such: nobody to answer
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec) return fail(ec);
    auto msg = parser_->release();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    request req{std::string(msg.method_string()), std::string(msg.target()), std::move(msg.body()),
                std::string(msg["Last-Event-ID"])};
    method_ = req.method;
    target_ = req.target.substr(0, 200);
    auto authorization = msg[bhttp::field::authorization];
    if (auto refused = authorize(req, {authorization.data(), authorization.size()},
                                 *env_->keys->current()))
      return respond(std::move(*refused));
    serve(guarded([&] { return handle(req, *env_); }));
  }

  // A step, or a 500 reply when producing it threw (never expected, never fatal).
  template <class F>
  static step guarded(F&& f) {
    try {
      return f();
    } catch (const std::exception& e) {
      spdlog::error("http: internal error: {}", e.what());
      return step{error_reply(500, "internal", std::string("internal error: ") + e.what()),
                  std::nullopt};
    }
  }

  void serve(step s) {
    if (s.done) return respond(std::move(*s.done));
    auto self = shared_from_this();
    auto finish = std::move(s.call->finish);
    caf::anon_send(bridge_, bridge_call{s.call->kind, std::move(s.call->bytes), s.call->timeout,
                                        [self, finish](caf::expected<std::string> answer) {
                                          net::post(self->stream_.get_executor(),
                                                    [self, finish, answer = std::move(answer)] {
                                                      self->serve(guarded([&] { return finish(answer); }));
                                                    });
                                        }});
  }

  void respond(reply r) {
    if (r.more || streaming_) return stream(std::move(r));
    env_->metrics->on_http_request(r.status);
    spdlog::debug("http: {} {} -> {}", method_, target_, r.status);
    auto text = std::make_shared<std::string>(response_text(r, version_ ? version_ : 11, keep_alive_));
    lowest().expires_after(write_timeout);
    net::async_write(stream_, net::buffer(*text),
                     [self = shared_from_this(), text](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       if (!self->keep_alive_) return self->linger();
                       self->read();
                     });
  }

  // An event stream (reply::more): the head (chunked) with the first piece, each piece as a
  // chunk once its node call answered, the last chunk after the piece without `more`; then the
  // connection closes. Between pieces nothing is pending on the Asio thread but the node call.
  void stream(reply r) {
    auto self = shared_from_this();
    auto more = std::move(r.more);
    auto after = [self, more](beast::error_code ec) {
      if (ec) return self->close();  // the client went away: its next poll is not made
      if (!more) return self->end_stream();
      self->serve(step{std::nullopt, std::move(*more)});
    };
    lowest().expires_after(write_timeout);
    if (!streaming_) {
      streaming_ = true;
      keep_alive_ = false;
      env_->metrics->on_http_request(r.status);
      env_->metrics->on_http_streams(1);
      spdlog::debug("http: {} {} -> {} (stream)", method_, target_, r.status);
      auto head = std::make_shared<bhttp::response<bhttp::empty_body>>(
        static_cast<bhttp::status>(r.status), version_ ? version_ : 11);
      head->set(bhttp::field::server, "chronicle");
      head->set(bhttp::field::content_type, r.content_type);
      head->set(bhttp::field::cache_control, "no-cache");
      head->keep_alive(false);
      head->chunked(true);
      auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
      auto body = std::make_shared<std::string>(std::move(r.body));
      bhttp::async_write_header(stream_, *sr, [self, head, sr, body, after](beast::error_code ec,
                                                                             size_t) {
        if (ec) return after(ec);
        self->write_chunk(std::move(*body), after);
      });
      return;
    }
    write_chunk(std::move(r.body), after);
  }

  template <class Then>
  void write_chunk(std::string text, Then then) {
    if (text.empty()) return then(beast::error_code{});
    auto buf = std::make_shared<std::string>(std::move(text));
    net::async_write(stream_, bhttp::make_chunk(net::buffer(*buf)),
                     [buf, then](beast::error_code ec, size_t) { then(ec); });
  }

  void end_stream() {
    lowest().expires_after(write_timeout);
    net::async_write(stream_, bhttp::make_chunk_last(),
                     [self = shared_from_this()](beast::error_code, size_t) { self->linger(); });
  }

  // After an answer that closes the connection: stop sending, and read what the client still
  // sends (e.g. the rest of a body too large) until it closes, so that closing does not reset the
  // connection before the client has read the answer.
  void linger() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, tls_stream>) return close();  // (no half-close in TLS)
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().expires_after(std::chrono::seconds(5));
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->close();
                              self->linger_more();
                            });
  }
  void linger_more() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->close();
                              self->linger_more();
                            });
  }

  void close() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::array<char, 16 * 1024> discard_{};
  env_ptr env_;
  caf::actor bridge_;
  std::string method_, target_;  // of the request being served (for the debug log)
  unsigned version_ = 11;
  bool keep_alive_ = true;
  std::shared_ptr<net::ssl::context> tls_;  // HTTPS: kept alive as long as the connection
  bool streaming_ = false;  // an event stream's head was sent
};

}  // namespace

struct gateway::impl {
  caf::actor_system* sys = nullptr;
  env_ptr env;
  caf::actor bridge;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry{ioc};
  tls_contexts tls;  // config http_tls; no context: plain HTTP
  bool https = false;
  std::thread thread;
  bool stopped = false;

  void accept() {
    acceptor.async_accept(ioc.get_executor(), [this](beast::error_code ec, socket_type socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {  // e.g. out of file descriptors: try again a little later
        spdlog::warn("http: accept failed: {}", ec.message());
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec) accept();
        });
        return;
      }
      beast::error_code nd;
      socket.set_option(tcp::no_delay(true), nd);  // answers are written whole: no Nagle wait
      if (!https) {
        std::make_shared<session<plain_stream>>(std::move(socket), env, bridge)->run();
      } else {
        std::make_shared<session<tls_stream>>(std::move(socket), env, bridge, tls.current())
          ->run();
      }
      accept();
    });
  }
};

gateway::gateway(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

gateway::~gateway() { stop(); }

std::unique_ptr<gateway> gateway::start(caf::actor_system& sys, caf::actor node, env_ptr env,
                                        std::string* error) {
  auto im = std::make_unique<impl>();
  im->sys = &sys;
  im->env = env;
  const auto& c = env->config;
  if (!c.http_tls_certificate.empty()) {
    if (!im->tls.load(c.http_tls_certificate, c.http_tls_key, error)) return nullptr;
    im->https = true;
  }
  beast::error_code ec;
  auto address = net::ip::make_address(c.http_host, ec);
  if (ec) {
    // A host name: resolve it (first address).
    tcp::resolver resolver{im->ioc};
    auto results = resolver.resolve(c.http_host, std::to_string(c.http_port), ec);
    if (ec || results.empty()) {
      *error = "cannot resolve http_host '" + c.http_host + "': " + ec.message();
      return nullptr;
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint{address, c.http_port};
  auto& acc = im->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + c.http_host + ":" + std::to_string(c.http_port) + " (http): "
             + ec.message();
    return nullptr;
  }
  im->bridge = sys.spawn(bridge, std::move(node));
  im->accept();
  auto* raw = im.get();
  im->thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), "http");
    raw->ioc.run();
  });
  return std::unique_ptr<gateway>(new gateway(std::move(im)));
}

void gateway::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  net::post(impl_->ioc, [im = impl_.get()] {
    beast::error_code ec;
    im->acceptor.close(ec);
    im->retry.cancel();
  });
  // Pending node calls are dropped with the bridge; once it is gone nothing posts any more.
  caf::scoped_actor self{*impl_->sys};
  self->send_exit(impl_->bridge, caf::exit_reason::user_shutdown);
  self->wait_for(impl_->bridge);
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool gateway::https() const { return impl_->https; }

bool gateway::reload_tls(const std::string& certificate, const std::string& key,
                         std::string* error) {
  if (!impl_->https) {
    *error = "http_tls can only be changed by a restart (the gateway started with plain HTTP)";
    return false;
  }
  return impl_->tls.load(certificate, key, error);
}

uint16_t gateway::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace chronicle::http
