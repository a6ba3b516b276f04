#include "bench/http_driver.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <memory>

namespace chronicle::bench {

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr size_t max_errors = 5;

// Shared by the connections; all run on the one Asio thread.
struct http_run {
  const run_options* opts = nullptr;
  bool one_request = false;  // http-wait
  std::string base;          // /api/v1/namespaces/{ns}/workflows
  int64_t next = 0;
  int64_t in_flight = 0;
  run_result out;
  std::vector<std::string> completed_ids;

  void note(const std::string& why) {
    if (out.errors.size() < max_errors
        && std::find(out.errors.begin(), out.errors.end(), why) == out.errors.end())
      out.errors.push_back(why);
  }
  void fail(const std::string& why) {
    ++out.failed;
    note(why);
  }
};

// One keep-alive connection running one workflow at a time.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(net::io_context& ioc, http_run& run) : stream_(ioc), run_(run) {}

  void start(const tcp::endpoint& ep) {
    stream_.async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->run_.note("connect: " + ec.message());
        return self->give_up();
      }
      self->stream_.socket().set_option(tcp::no_delay(true));
      self->next();
    });
  }

private:
  void next() {
    auto& r = run_;
    if (r.next >= r.opts->workflows) return;
    if (clock_type::now() > deadline_) {
      r.out.failed += r.opts->workflows - r.next;
      r.note("not started: the run took longer than "
             + std::to_string(r.opts->max_duration.count()) + " s");
      r.next = r.opts->workflows;
      return;
    }
    n_ = r.next++;
    wid_ = r.opts->id_prefix + "-" + std::to_string(n_);
    json body{{"workflow_id", wid_},       {"workflow_type", r.opts->workflow_type},
              {"task_queue", r.opts->task_queue}, {"input", {{"n", n_}}},
              {"request_id", wid_},        {"identity", "chronicle-bench"}};
    std::string target = r.base;
    if (r.one_request)
      target += "?wait=true&timeout_ms=" + std::to_string(r.opts->result_timeout.count());
    t0_ = clock_type::now();
    send(bhttp::verb::post, target, body.dump(), &connection::on_started);
  }

  void on_started(unsigned status, const std::string& body) {
    if (run_.one_request) return on_result(status, body);
    if (status != 200 && status != 201) return failed("start", status, body);
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.contains("run_id")) return failed("start", status, body);
    std::string target = run_.base + "/" + wid_ + "/result?wait=true&run_id="
                         + j["run_id"].get<std::string>() + "&timeout_ms="
                         + std::to_string(run_.opts->result_timeout.count());
    send(bhttp::verb::get, target, {}, &connection::on_result);
  }

  void on_result(unsigned status, const std::string& body) {
    if (status != 200 && status != 201) return failed("result", status, body);
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.contains("status")) return failed("result", status, body);
    auto st = j["status"].get<std::string>();
    if (st != "WORKFLOW_EXECUTION_STATUS_COMPLETED") {
      run_.fail("workflow " + st);
    } else {
      run_.out.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(clock_type::now() - t0_).count());
      run_.completed_ids.push_back(wid_);
    }
    next();
  }

  void failed(const char* step, unsigned status, const std::string& body) {
    run_.fail(std::string(step) + ": HTTP " + std::to_string(status) + " " + body.substr(0, 200));
    next();
  }

  // Gives up on this connection: its share of the workflows is taken by the others; the last one
  // standing counts what nobody can run.
  void give_up() {
    auto& r = run_;
    if (--r.in_flight == 0 && r.next < r.opts->workflows) {
      r.out.failed += r.opts->workflows - r.next;
      r.next = r.opts->workflows;
    }
  }

  using handler = void (connection::*)(unsigned, const std::string&);

  void send(bhttp::verb verb, const std::string& target, std::string body, handler h) {
    req_ = {};
    req_.method(verb);
    req_.target(target);
    req_.version(11);
    req_.set(bhttp::field::host, "bench");
    req_.keep_alive(true);
    if (verb == bhttp::verb::post) {
      req_.set(bhttp::field::content_type, "application/json");
      req_.body() = std::move(body);
    }
    req_.prepare_payload();
    stream_.expires_after(run_.opts->result_timeout + std::chrono::seconds(10));
    bhttp::async_write(stream_, req_, [self = shared_from_this(), h](beast::error_code ec, size_t) {
      if (ec) return self->broken(ec);
      self->res_ = {};
      bhttp::async_read(self->stream_, self->buffer_, self->res_,
                        [self, h](beast::error_code ec, size_t) {
                          if (ec) return self->broken(ec);
                          ((*self).*h)(self->res_.result_int(), self->res_.body());
                        });
    });
  }

  void broken(beast::error_code ec) {
    run_.fail("connection: " + ec.message());
    give_up();
  }

  beast::tcp_stream stream_;
  http_run& run_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> req_;
  bhttp::response<bhttp::string_body> res_;
  int64_t n_ = 0;
  std::string wid_;
  clock_type::time_point t0_;
  clock_type::time_point deadline_ = clock_type::now() + run_.opts->max_duration;
};

}  // namespace

run_result run_with_http(caf::actor_system& sys, const run_options& opts) {
  http_run run;
  run.opts = &opts;
  run.one_request = opts.driver == "http-wait";
  run.base = "/api/v1/namespaces/" + opts.ns + "/workflows";
  net::io_context ioc{1};
  beast::error_code ec;
  tcp::endpoint ep{net::ip::make_address(opts.host, ec), opts.http_port};
  if (ec) {
    run.fail("bad host '" + opts.host + "': " + ec.message());
    run.out.failed = opts.workflows;
    return std::move(run.out);
  }
  if (opts.on_timing_start) opts.on_timing_start();
  auto begin = clock_type::now();
  int conns = std::max(1, opts.concurrency);
  run.in_flight = conns;
  for (int i = 0; i < conns; ++i) std::make_shared<connection>(ioc, run)->start(ep);
  ioc.run();
  auto end = clock_type::now();
  if (opts.on_timing_end) opts.on_timing_end();

  run_result r = std::move(run.out);
  r.seconds = std::chrono::duration<double>(end - begin).count();
  r.completed = static_cast<int64_t>(r.latencies_ms.size());
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  if (opts.count_events) {
    auto counted = count_history_events(sys, opts, run.completed_ids);
    r.events = counted.first;
    r.events_unknown = counted.second;
  }
  return r;
}

}  // namespace chronicle::bench
