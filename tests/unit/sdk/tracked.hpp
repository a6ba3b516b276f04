// Counts live instances: a coroutine frame holding one shows whether frames are destroyed (no
// leaks, no double destroys). One counter for the whole test binary; every test ends at 0.
#pragma once

namespace chronicle::sdk::testing {

struct tracked {
  static inline int live = 0;
  tracked() { ++live; }
  tracked(const tracked&) { ++live; }
  ~tracked() { --live; }
};

}  // namespace chronicle::sdk::testing
