// The actor system the e2e tests use for their clients. It lives in main (e2e_main.cpp), so that it
// is shut down before static destruction begins.
#pragma once

#include <caf/all.hpp>

#include <string>

#include "protocol/messages.hpp"

namespace chronicle::testing {

caf::actor_system& test_system();

using chronicle::error_text;  // of a caf::error, beside the overload below
// The text of `e`'s error, empty when it holds a value: for a check's message, which doctest
// renders even when the check passes under -s (e.error() on a value is undefined behaviour; it
// crashed the runner).
template <class T>
std::string error_text(const caf::expected<T>& e) {
  return e ? std::string() : chronicle::error_text(e.error());
}

}  // namespace chronicle::testing
