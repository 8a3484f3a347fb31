// doctest's main for the distributed tests (ember_distributed_tests), run under
//   mpirun -np 2 ember_distributed_tests          every case on 2 ranks
//   ember_distributed_tests                       every case at world size 1, no launcher
// Every rank runs every case; the exit status is the same on all ranks (failed anywhere -> 1).
// `--ember-collective-loop` instead all-reduces forever, for the test that kills a rank
// (dead_rank.sh).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include <ember/ember.h>

#include "distributed/distributed.h"

namespace {

// Prints each rank's pid, then all-reduces a small tensor until killed (or until a collective fails).
int collective_loop() {
  using namespace ember;
  std::printf("rank %d pid %d\n", dist::rank(), static_cast<int>(getpid()));
  std::fflush(stdout);
  Tensor t = ones({1024});
  for (;;) dist::all_reduce(t, dist::ReduceOp::Avg);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ember;
  // A timeout short enough for the dead-rank test, long enough for CI's slowest collective.
  dist::init({.timeout = std::chrono::seconds(20)});
  try {
    if (argc == 2 && std::string_view(argv[1]) == "--ember-collective-loop") return collective_loop();
    doctest::Context context(argc, argv);
    const int failed = context.run() != 0 ? 1 : 0;
    Tensor any_failed = from_vector<std::int64_t>({failed});
    dist::all_reduce(any_failed, dist::ReduceOp::Max);
    dist::finalize();
    return static_cast<int>(any_failed.item<std::int64_t>());
  } catch (const Error& error) {
    dist::abort(error.what());
  }
}
