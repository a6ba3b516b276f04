// Helpers shared by the decide tests.
#pragma once

#include <doctest/doctest.h>

#include <utility>
#include <variant>

#include "shards/decide.hpp"

namespace chronicle::testing {

inline constexpr int64_t t0 = 1'700'000'000'000;

// The transition of an accepted input; fails the test when it was rejected.
inline transition must(decide_result r) {
  if (auto* rej = std::get_if<rejection>(&r)) FAIL("rejected: " << rej->message);
  return std::get<transition>(std::move(r));
}

}  // namespace chronicle::testing
