// ember_bench: Ember's benchmarks. Every subcommand prints CSV rows (see common.h) on stdout,
// with the header unless --no-header; notes (thread count) go to stderr.
//   ember_bench attention --kind linear --causal --n 1024,65536
//   ember_bench gemm --shapes 512x512x512
//   ember_bench train --protocol paper --d-model 128 --layers 2 --batch 16 --n 32 --kind softmax
//   ember_bench generate --kind linear --positions 64,16384
#include <ember/ember.h>

#include "bench.h"

int main(int argc, char** argv) {
  ember::apply_runtime_defaults(argv);  // may re-execute this program once (ops/runtime_defaults.h)
  CLI::App app{"Ember benchmarks (CSV on stdout)"};
  app.require_subcommand(1);
  ember::bench::add_attention_command(app);
  ember::bench::add_gemm_command(app);
  ember::bench::add_train_command(app);
  ember::bench::add_generate_command(app);
  try {
    CLI11_PARSE(app, argc, argv);
  } catch (const ember::Error& e) {
    fmt::print(stderr, "ember_bench: {}\n", e.what());
    return 2;
  }
  return 0;
}
