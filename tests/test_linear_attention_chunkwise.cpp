// The chunkwise-parallel form of causal linear attention (ops/linear_attention_chunkwise.h, the
// op's CUDA kernel, built from Ember's own ops) run on the CPU against the sequential CPU kernel:
// outputs, saved inverse denominators and all three gradients, several N (multiples of the chunk
// size and not), chunk sizes, strided inputs, float64 and float32.
#include "helpers.h"
#include "ops/copy.h"
#include "ops/linear_attention.h"
#include "ops/linear_attention_chunkwise.h"

using namespace ember;
using namespace ember::testing;

namespace {

struct Results {
  Tensor out, inv_denom, dq, dk, dv;
};

// Heads split from one (B, N, 3 H D) projection: strided, unit last-dim stride, as in a model.
std::vector<Tensor> strided_inputs(std::int64_t B, std::int64_t H, std::int64_t N, std::int64_t D, DType dtype) {
  Tensor proj = randn({B, N, 3 * H * D}, dtype);
  auto split = [&](int which) { return proj.narrow(2, which * H * D, H * D).reshape({B, N, H, D}).transpose(1, 2); };
  return {elu(split(0)) + 1.0, elu(split(1)) + 1.0, split(2)};
}

template <typename Forward, typename Backward>
Results run(Forward forward, Backward backward, const std::vector<Tensor>& in, const Tensor& g, std::int64_t chunk) {
  const Tensor &q = in[0], &k = in[1], &v = in[2];
  const std::int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3), M = v.size(3);
  const TensorOptions opts(q.dtype(), q.device());
  Results r{empty_heads_last(B, H, N, M, opts), empty({B, H, N}, opts), empty({B, H, N, D}, opts),
            empty({B, H, N, D}, opts), empty({B, H, N, M}, opts)};
  forward(q, k, v, r.out, r.inv_denom, 1e-6, chunk);
  backward(q, k, v, r.out, r.inv_denom, g, r.dq, r.dk, r.dv, 1e-6, chunk);
  return r;
}

double relative_difference(const Tensor& a, const Tensor& b) {
  const double scale = max(abs(b.to(kFloat64))).item<double>();
  return max(abs(a.to(kFloat64) - b.to(kFloat64))).item<double>() / std::max(scale, 1e-30);
}

}  // namespace

TEST_CASE("causal_linear_attention: the chunkwise-parallel form equals the sequential kernel") {
  manual_seed(11);
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tolerance = dtype == kFloat64 ? 1e-12 : 1e-5;
    for (std::int64_t N : {1, 5, 64, 100, 130}) {
      // At N = 1, dq and dk are pure cancellation (out = v s / (s + eps) barely depends on s), so
      // in float32 both kernels return rounding noise; float64 checks that case.
      if (dtype == kFloat32 && N == 1) continue;
      for (std::int64_t chunk : {64, 16, 7}) {
        INFO("dtype = " << dtype << ", N = " << N << ", chunk = " << chunk);
        const std::vector<Tensor> in = strided_inputs(2, 3, N, 4, dtype);
        const Tensor g = randn({2, 3, N, 4}, dtype);
        const Results sequential = run(kernels::causal_linear_attention_stub(kCPU),
                                       kernels::causal_linear_attention_backward_stub(kCPU), in, g, chunk);
        const Results chunkwise = run(chunkwise::causal_linear_attention_forward,
                                      chunkwise::causal_linear_attention_backward, in, g, chunk);
        CHECK(relative_difference(chunkwise.out, sequential.out) < tolerance);
        CHECK(relative_difference(chunkwise.inv_denom, sequential.inv_denom) < tolerance);
        // At N = 1 dq and dk are eps / (s + eps)^2-sized cancellation results: rounding noise is
        // magnified by about 1 / eps (1e6), so float64 agrees to about 1e-10 there, not 1e-12 (seen
        // under -O2 with ASan, where the compiler contracts other multiply-adds than at -O3).
        const double cancellation_tolerance = N == 1 ? 1e-8 : tolerance;
        CHECK(relative_difference(chunkwise.dq, sequential.dq) < cancellation_tolerance);
        CHECK(relative_difference(chunkwise.dk, sequential.dk) < cancellation_tolerance);
        CHECK(relative_difference(chunkwise.dv, sequential.dv) < tolerance);
      }
    }
  }
}

TEST_CASE("causal_linear_attention: chunk_exclusive_scan, forward and reverse") {
  Tensor x = arange(0, 24, 1, kFloat64).view({2, 3, 4});  // 2 groups, 3 chunks of 4 values
  Tensor forward = x.clone(), reverse = x.clone();
  kernels::chunk_exclusive_scan_stub(kCPU)(forward, false);
  kernels::chunk_exclusive_scan_stub(kCPU)(reverse, true);
  // Group 0 rows are 0..3, 4..7, 8..11: exclusive prefix sums 0, row0, row0 + row1.
  CHECK(forward.to_vector<double>() == std::vector<double>{0, 0, 0, 0, 0, 1, 2, 3, 4, 6, 8, 10,
                                                           0, 0, 0, 0, 12, 13, 14, 15, 28, 30, 32, 34});
  CHECK(reverse.to_vector<double>() == std::vector<double>{12, 14, 16, 18, 8, 9, 10, 11, 0, 0, 0, 0,
                                                           36, 38, 40, 42, 20, 21, 22, 23, 0, 0, 0, 0});
}
