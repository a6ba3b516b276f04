#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <memory>

#include "protocol/runtime.hpp"
#include "test_system.hpp"

namespace chronicle::testing {

namespace {
caf::actor_system* current_system = nullptr;
}  // namespace

caf::actor_system& test_system() { return *current_system; }

}  // namespace chronicle::testing

int main(int argc, char** argv) {
  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  auto sys = std::make_unique<caf::actor_system>(cfg);
  chronicle::testing::current_system = sys.get();
  doctest::Context ctx(argc, argv);
  int code = ctx.run();
  chronicle::testing::current_system = nullptr;
  sys.reset();
  return code;
}
