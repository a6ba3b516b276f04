// A single node with an HTTP port and a real activity-worker process (samples/activity_worker.cpp,
// identity "act-worker") serving the task queue "activities"; used by tests/e2e/activity_test.cpp
// and cancel_test.cpp.
#pragma once

#include "http_client.hpp"
#include "worker_deployment.hpp"

namespace chronicle::testing {

struct activity_deployment : worker_deployment {
  process worker;

  activity_deployment()
      : worker_deployment("activities", true),
        worker(start_worker(ACTIVITY_WORKER_BIN, "act-worker")) {}

  // The task token the worker printed for `attempt` of the n-th activity it ran (from 1).
  std::string token(int attempt, int nth = 1) {
    std::string marker = "task token " + std::to_string(attempt) + ": ";
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      out = worker.output();
      size_t at = 0;
      for (int i = 0; i < nth && at != std::string::npos; ++i) {
        at = out.find(marker, i == 0 ? 0 : at + 1);
      }
      if (at != std::string::npos) {
        auto begin = at + marker.size();
        return out.substr(begin, out.find('\n', begin) - begin);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("the worker printed no " << marker << "\n" << out);
    return {};
  }

};

}  // namespace chronicle::testing
