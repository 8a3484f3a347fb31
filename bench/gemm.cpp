// `ember_bench gemm`: SGEMM through Ember's matmul at given MxNxK shapes, the ceiling the attention
// kernels are measured against. Row: kind = "MxNxK", gflops = 2 M N K / seconds.
#include <ember/ember.h>

#include "bench.h"
#include "common.h"

namespace ember::bench {

namespace {

struct GemmOptions {
  CommonOptions common;
  std::vector<std::string> shapes{"512x512x512", "1024x1024x1024", "4096x64x64", "64x64x4096"};
};

void run(const GemmOptions& o) {
  begin(o.common);
  manual_seed(0);
  for (const auto& shape : o.shapes) {
    std::int64_t M = 0, N = 0, K = 0;
    if (std::sscanf(shape.c_str(), "%ldx%ldx%ld", &M, &N, &K) != 3 || M <= 0 || N <= 0 || K <= 0) {
      fmt::print(stderr, "gemm: shape '{}' is not MxNxK\n", shape);
      std::exit(2);
    }
    Tensor a = randn({M, K}), b = randn({K, N});
    Row row;
    row.op = "sgemm";
    row.kind = shape;
    row.seconds = median_seconds([&] { matmul(a, b); }, o.common.warmup, o.common.repeats);
    row.flops = 2.0 * M * N * K;
    print_row(row);
  }
}

}  // namespace

void add_gemm_command(CLI::App& app) {
  auto o = std::make_shared<GemmOptions>();
  CLI::App* cmd = app.add_subcommand("gemm", "SGEMM at MxNxK shapes");
  cmd->add_option("--shapes", o->shapes, "MxNxK list")->delimiter(',');
  add_common_options(cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace ember::bench
