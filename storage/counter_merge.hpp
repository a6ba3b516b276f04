// The merge operator of the visibility table's run counters (keys::count_key): i64 values and
// deltas, 8 bytes big-endian. Every opener of a Chronicle database's visibility column family
// needs it (store::open; tests that open the database directly).
#pragma once

#include <memory>

namespace rocksdb {
class MergeOperator;
}

namespace chronicle::storage {

std::shared_ptr<rocksdb::MergeOperator> counter_merge_operator();

}  // namespace chronicle::storage
