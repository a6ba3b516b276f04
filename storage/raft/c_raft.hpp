// libraft's header has no extern "C" guard of its own (0.15): include it through this file.
#pragma once

extern "C" {
#include <raft.h>
}
