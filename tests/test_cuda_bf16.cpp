// CUDA bfloat16 parity: bf16 matmul (cuBLAS tensor cores), bf16 attention (cuDNN's fused SDPA, or
// the float32 fallback where cuDNN does not take the shape), and both under autocast, forward and
// backward, against a float64 CPU reference on the same bf16-rounded values. Relative error (the
// largest absolute difference over the largest reference magnitude) at most 1e-2; NaN never
// passes. Without a GPU every case is reported skipped by ctest (EMBER_REQUIRE_CUDA). CTest label: cuda.
#include <cmath>
#include <limits>
#include <string>

#include "helpers.h"

#ifdef EMBER_WITH_CUDA
#include "cuda/attention_paths.h"
#include "cuda/context.h"
#endif

using namespace ember;
using namespace ember::testing;

namespace {

constexpr double kTolerance = 1e-2;

double relative_error(const Tensor& actual, const Tensor& expected) {
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  REQUIRE(a.size() == e.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(e[i])) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, std::abs(a[i] - e[i]));
    scale = std::max(scale, std::abs(e[i]));
  }
  return diff / std::max(scale, 1e-30);
}

void check_close(const Tensor& actual, const Tensor& expected, const std::string& what) {
  REQUIRE(actual.defined());
  REQUIRE(expected.defined());
  CHECK(actual.shape() == expected.shape());
  const double err = relative_error(actual, expected);
  INFO(what << ": relative error " << err << " (tolerance " << kTolerance << ")");
  CHECK(err <= kTolerance);
}

// A float64 CPU leaf holding bf16-representable values, and the same values on the GPU as `dtype`.
struct Pair {
  Tensor cpu, gpu;
};
Pair make_pair(const Shape& shape, DType dtype) {
  Tensor values = randn(shape, kFloat64).to(kBFloat16).to(kFloat64);
  return {values.detach().requires_grad_(), values.to(dtype).to(kCUDA).detach().requires_grad_()};
}

// Runs fn on the CPU pairs (float64) and the GPU pairs, then compares outputs and gradients.
template <typename Fn>
void check_both(std::vector<Pair>& pairs, Fn fn, const std::string& name) {
  INFO("case: " << name);
  std::vector<Tensor> cpu, gpu;
  for (auto& p : pairs) {
    cpu.push_back(p.cpu);
    gpu.push_back(p.gpu);
  }
  Tensor expected = fn(cpu, false), actual = fn(gpu, true);
  CHECK(actual.device() == kCUDA);
  check_close(actual, expected, "forward");
  Tensor w = randn(expected.shape(), kFloat64).to(kBFloat16).to(kFloat64);
  sum(expected * w).backward();
  sum(actual.to(kFloat32) * w.to(kFloat32).to(kCUDA)).backward();
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    REQUIRE(pairs[i].gpu.grad().defined());
    CHECK(pairs[i].gpu.grad().dtype() == pairs[i].gpu.dtype());
    check_close(pairs[i].gpu.grad(), pairs[i].cpu.grad(), "gradient of input " + std::to_string(i));
  }
}

}  // namespace

TEST_SUITE("cuda") {

TEST_CASE("cuda bf16: matmul on bfloat16 tensors") {
  EMBER_REQUIRE_CUDA();
  manual_seed(71);
  std::vector<Pair> p = {make_pair({3, 40, 72}, kBFloat16), make_pair({72, 24}, kBFloat16)};
  check_both(p, [](const std::vector<Tensor>& in, bool) { return matmul(in[0], in[1]); }, "batched, broadcast");
  std::vector<Pair> t = {make_pair({72, 40}, kBFloat16), make_pair({24, 72}, kBFloat16)};
  check_both(t, [](const std::vector<Tensor>& in, bool) { return matmul(in[0].transpose(0, 1), in[1].transpose(0, 1)); },
             "transposed views");
}

TEST_CASE("cuda bf16: matmul under autocast returns float32 with float32 gradients") {
  EMBER_REQUIRE_CUDA();
  manual_seed(72);
  std::vector<Pair> p = {make_pair({2, 33, 64}, kFloat32), make_pair({64, 48}, kFloat32)};
  check_both(p, [](const std::vector<Tensor>& in, bool on_gpu) {
    AutocastGuard autocast(kBFloat16, on_gpu);
    Tensor out = matmul(in[0], in[1]);
    if (on_gpu) CHECK(out.dtype() == kFloat32);
    return out;
  }, "autocast matmul");
}

TEST_CASE("cuda bf16: scaled_dot_product_attention on bfloat16 tensors") {
  EMBER_REQUIRE_CUDA();
  manual_seed(73);
#ifdef EMBER_WITH_CUDA
  const cuda::AttentionPaths before = cuda::attention_paths();
#endif
  for (bool causal : {false, true}) {
    for (std::int64_t D : {64, 128}) {
      std::vector<Pair> p = {make_pair({2, 4, 96, D}, kBFloat16), make_pair({2, 4, 96, D}, kBFloat16),
                             make_pair({2, 4, 96, D}, kBFloat16)};
      check_both(p, [causal](const std::vector<Tensor>& in, bool) {
        SdpaOptions o;
        o.causal = causal;
        return scaled_dot_product_attention(in[0], in[1], in[2], o);
      }, fmt::format("causal={} D={}", causal, D));
    }
  }
  // These shapes are ones cuDNN takes on sm80 and newer: they must not have passed on the fallback
  // (EMBER_CUDNN_DEBUG=1 prints why a call fell back).
#ifdef EMBER_WITH_CUDA
  const cuda::AttentionPaths after = cuda::attention_paths();
  if (cuda::cudnn_built() && cuda::properties(0).major >= 8) {
    CHECK(after.cudnn_forward - before.cudnn_forward == 4);
    CHECK(after.cudnn_backward - before.cudnn_backward == 4);
    CHECK(after.fallback_forward == before.fallback_forward);
    CHECK(after.fallback_backward == before.fallback_backward);
  }
#endif
  // A head size cuDNN does not take runs on the float32 fallback and still matches.
  std::vector<Pair> odd = {make_pair({1, 2, 17, 20}, kBFloat16), make_pair({1, 2, 23, 20}, kBFloat16),
                           make_pair({1, 2, 23, 12}, kBFloat16)};
  check_both(odd, [](const std::vector<Tensor>& in, bool) { return scaled_dot_product_attention(in[0], in[1], in[2]); },
             "fallback shape");
#ifdef EMBER_WITH_CUDA
  CHECK(cuda::attention_paths().fallback_forward == after.fallback_forward + 1);
  CHECK(cuda::attention_paths().fallback_backward == after.fallback_backward + 1);
#endif
}

TEST_CASE("cuda bf16: cuDNN attention and the float32 fallback agree") {
  EMBER_REQUIRE_CUDA();
#ifdef EMBER_WITH_CUDA  // the path counters and device properties exist in CUDA builds only
  // Without cuDNN both runs below would take the fallback and compare it with itself.
  if (!cuda::cudnn_built()) EMBER_SKIP("built without cuDNN: there is no cuDNN path to compare with the fallback");
  if (cuda::properties(0).major < 8) EMBER_SKIP("cuDNN's fused bfloat16 attention needs sm80 or newer");
  manual_seed(79);
  // Dropout 0 and key lengths all N: the same math, but key_lengths sends the call to the fallback.
  const std::int64_t B = 2, H = 4, N = 80, D = 64;
  Tensor q = randn({B, H, N, D}).to(kBFloat16).to(kCUDA), k = randn({B, H, N, D}).to(kBFloat16).to(kCUDA);
  Tensor v = randn({B, H, N, D}).to(kBFloat16).to(kCUDA);
  Tensor full_lengths = full({B}, static_cast<double>(N), TensorOptions(kInt64, kCUDA));
  Tensor w = randn({B, H, N, D}).to(kCUDA);
  auto run = [&](bool fallback) {
    std::vector<Tensor> in{q.clone().requires_grad_(), k.clone().requires_grad_(), v.clone().requires_grad_()};
    SdpaOptions o;
    o.causal = true;
    if (fallback) o.key_lengths = full_lengths;
    Tensor out = scaled_dot_product_attention(in[0], in[1], in[2], o);
    sum(out.to(kFloat32) * w).backward();
    return std::vector<Tensor>{out.to(kCPU), in[0].grad().to(kCPU), in[1].grad().to(kCPU), in[2].grad().to(kCPU)};
  };
  // Each run must have taken the path it stands for: one forward and one backward call each, read
  // from the attention-path counters.
  const cuda::AttentionPaths start = cuda::attention_paths();
  const std::vector<Tensor> cudnn = run(false);
  const cuda::AttentionPaths middle = cuda::attention_paths();
  const std::vector<Tensor> fallback = run(true);
  const cuda::AttentionPaths end = cuda::attention_paths();
  INFO("EMBER_CUDNN_DEBUG=1 prints why a call fell back");
  CHECK(middle.cudnn_forward - start.cudnn_forward == 1);
  CHECK(middle.cudnn_backward - start.cudnn_backward == 1);
  CHECK(middle.fallback_forward == start.fallback_forward);
  CHECK(middle.fallback_backward == start.fallback_backward);
  CHECK(end.fallback_forward - middle.fallback_forward == 1);
  CHECK(end.fallback_backward - middle.fallback_backward == 1);
  CHECK(end.cudnn_forward == middle.cudnn_forward);
  CHECK(end.cudnn_backward == middle.cudnn_backward);
  for (std::size_t i = 0; i < cudnn.size(); ++i)
    check_close(cudnn[i].to(kFloat64), fallback[i].to(kFloat64), "output/gradient " + std::to_string(i));
#endif
}

TEST_CASE("cuda bf16: scaled_dot_product_attention under autocast, with key padding") {
  EMBER_REQUIRE_CUDA();
  manual_seed(74);
  std::vector<Pair> p = {make_pair({3, 2, 40, 64}, kFloat32), make_pair({3, 2, 56, 64}, kFloat32),
                         make_pair({3, 2, 56, 64}, kFloat32)};
  Tensor lengths = tensor({56, 31, 7}, kInt64);
  check_both(p, [&](const std::vector<Tensor>& in, bool on_gpu) {
    AutocastGuard autocast(kBFloat16, on_gpu);
    SdpaOptions o;
    o.key_lengths = lengths.to(in[0].device());
    Tensor out = scaled_dot_product_attention(in[0], in[1], in[2], o);
    if (on_gpu) CHECK(out.dtype() == kFloat32);
    return out;
  }, "autocast, key lengths");
}

}  // TEST_SUITE("cuda")
