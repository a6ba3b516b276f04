// A minimal blocking HTTP/1.1 client for the e2e tests (Boost.Beast): one request per connection.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronicle::testing {

struct http_response {
  unsigned status = 0;  // 0: no answer
  std::string body;
  std::string content_type;
  std::string allow;
  [[nodiscard]] nlohmann::json body_json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// Sends one request to 127.0.0.1:port. Send errors are ignored (a 413 may cut the upload short):
// the answer is read anyway.
// `headers`: extra request header fields (name, value).
inline http_response http_call(
  uint16_t port, boost::beast::http::verb method, const std::string& target,
  const std::string& body = {},
  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  namespace beast = boost::beast;
  namespace bhttp = beast::http;
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket sock{ioc};
  beast::error_code ec;
  sock.connect(net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return {};
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::content_type, "application/json");
  for (auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(sock, req, ec);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(sock, buffer, parser, ec);
  if (ec) return {};
  auto& res = parser.get();
  return http_response{res.result_int(), res.body(), std::string(res[bhttp::field::content_type]),
                       std::string(res[bhttp::field::allow])};
}

inline http_response http_get(uint16_t port, const std::string& target) {
  return http_call(port, boost::beast::http::verb::get, target);
}

inline http_response http_post(uint16_t port, const std::string& target,
                               const std::string& body = {}) {
  return http_call(port, boost::beast::http::verb::post, target, body);
}

// The samples of a metric in Prometheus text: the lines that start with `prefix` (a name alone,
// or a name with its labels and the space before the value). Returns their sum (-1: no such
// line) and their number.
inline std::pair<double, size_t> metric_samples(const std::string& text, const std::string& prefix) {
  double sum = -1;
  size_t samples = 0;
  for (size_t at = 0; at < text.size();) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.substr(0, prefix.size()) != prefix || line.size() <= prefix.size()) continue;
    if (prefix.back() != ' ' && line[prefix.size()] != '{' && line[prefix.size()] != ' ') continue;
    sum = (sum < 0 ? 0 : sum) + std::stod(std::string(line.substr(line.rfind(' ') + 1)));
    ++samples;
  }
  return {sum, samples};
}

// The value of the metric line that starts with `prefix` (e.g. `name{node="node1"} `), or -1.
inline double metric(const std::string& text, const std::string& prefix) {
  return metric_samples(text, prefix).first;
}

// The JSON body of a start on task queue "greetings".
inline nlohmann::json start_body(const std::string& wid, const std::string& type,
                                 const nlohmann::json& input) {
  return nlohmann::json{{"workflow_id", wid}, {"workflow_type", type},
                        {"task_queue", "greetings"}, {"input", input}};
}

}  // namespace chronicle::testing
