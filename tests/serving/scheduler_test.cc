// DynamicBatchCut (scheduler.h): the dynamic batcher's choice of how many
// queued requests to dispatch, as Triton's dynamic batcher defines it.
#include "serving/scheduler.h"

#include <catch2/catch.hpp>
#include <vector>

namespace engine::serving {
namespace {

size_t Cut(std::vector<int64_t> queued, int64_t max_batch, std::vector<int> preferred,
           bool delay_over) {
  return DynamicBatchCut(queued, max_batch, preferred, delay_over);
}

TEST_CASE("Without preferred sizes the batcher waits until full or the delay", "[serving]") {
  CHECK(Cut({}, 8, {}, true) == 0);
  CHECK(Cut({1, 1, 1}, 8, {}, false) == 0);           // can grow: wait
  CHECK(Cut({1, 1, 1}, 8, {}, true) == 3);            // delay over: all
  CHECK(Cut({1, 1, 1, 1, 1, 1, 1, 1, 1}, 8, {}, false) == 8);  // full
  CHECK(Cut({4, 2, 4}, 8, {}, false) == 2);           // the next one does not fit
  CHECK(Cut({9}, 8, {}, false) == 1);                 // too large: alone
}

TEST_CASE("Preferred batch sizes are dispatched at once, the largest reached first",
          "[serving]") {
  // Triton: the largest preferred total reached at a request boundary.
  CHECK(Cut({1, 1, 1, 1, 1, 1}, 8, {4}, false) == 4);     // 6 queued: 4 now, 2 stay
  CHECK(Cut({1, 1, 1, 1, 1, 1}, 8, {2, 4}, false) == 4);
  CHECK(Cut({1, 1, 1}, 8, {2, 4}, false) == 2);
  CHECK(Cut({1, 1, 1}, 8, {4}, false) == 0);              // below every preferred: wait
  CHECK(Cut({1, 1, 1}, 8, {4}, true) == 3);               // until the delay
  CHECK(Cut({3, 3}, 8, {4}, false) == 2);                 // 6 > largest preferred: cannot grow
  CHECK(Cut({2, 3}, 8, {4}, false) == 2);                 // totals 2, 5: 4 skipped; 5 >= 4
  CHECK(Cut({1, 1, 1, 1, 1, 1, 1, 1, 1}, 8, {1, 4, 5, 8}, false) == 8);
  CHECK(Cut({1, 1, 1, 1, 1, 1, 1}, 8, {1, 4, 5, 8}, false) == 5);
}

}  // namespace
}  // namespace engine::serving
