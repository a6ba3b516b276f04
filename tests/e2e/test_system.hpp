// The actor system the e2e tests use for their clients. It lives in main (e2e_main.cpp), so that it
// is shut down before static destruction begins.
#pragma once

#include <caf/all.hpp>

namespace chronicle::testing {

caf::actor_system& test_system();

}  // namespace chronicle::testing
