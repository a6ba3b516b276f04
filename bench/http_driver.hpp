// The `http` load drivers: C keep-alive connections to the node's HTTP gateway (docs/http.md),
// driven by one Asio thread with Boost.Beast, as a service calling Chronicle over HTTP/JSON would.
//   http       POST .../workflows, then GET .../{wid}/result?wait=true (two requests per workflow)
//   http-wait  POST .../workflows?wait=true: one request that starts and answers with the result
// Latency is start request sent -> result received. Events are counted afterwards over the CAF
// client, like the other drivers.
#pragma once

#include "bench/driver.hpp"

namespace chronicle::bench {

// REQUIRES: opts.http_port is the node's http_port on opts.host.
run_result run_with_http(caf::actor_system& sys, const run_options& opts);

}  // namespace chronicle::bench
