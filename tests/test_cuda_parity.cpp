// CUDA checks that are not one op against its CPU twin (those are the op table's "cuda parity: <op>"
// cases, tests/ops/): matmul under TF32, random numbers equal to the CPU's, fused optimizer steps
// over several steps, bitwise determinism of the backward kernels, and moving strided tensors
// between devices. Without a GPU every case ends at EMBER_REQUIRE_CUDA (helpers.h), which ctest
// reports as skipped, with the reason. CTest label: cuda.
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "helpers.h"
#include "tf32_tolerance.h"
#include "ops/sdpa.h"

#ifdef EMBER_WITH_CUDA
#include "cuda/allocator.h"
#endif

using namespace ember;
using namespace ember::testing;

namespace {

// Largest |actual - expected| over the largest |expected|; infinite when NaN/inf patterns differ.
double relative_error(const Tensor& actual, const Tensor& expected) {
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  REQUIRE(a.size() == e.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(e[i]) || std::isinf(a[i]) || std::isinf(e[i])) {
      if (!(a[i] == e[i] || (std::isnan(a[i]) && std::isnan(e[i])))) return std::numeric_limits<double>::infinity();
      continue;
    }
    diff = std::max(diff, std::abs(a[i] - e[i]));
    scale = std::max(scale, std::abs(e[i]));
  }
  return diff / std::max(scale, 1e-30);
}

void check_close(const Tensor& actual, const Tensor& expected, double tol, const std::string& what) {
  REQUIRE(actual.defined());
  REQUIRE(expected.defined());
  CHECK(actual.shape() == expected.shape());
  const double err = relative_error(actual, expected);
  INFO(what << ": relative error " << err << " (tolerance " << tol << ")");
  CHECK(err <= tol);
}

}  // namespace

TEST_SUITE("cuda") {

TEST_CASE("cuda parity: matmul with TF32") {
  EMBER_REQUIRE_CUDA();
  // Tolerances derived from TF32's 10-bit mantissa and the reduction length (tf32_tolerance.h;
  // checked against emulated TF32 on the CPU by "tf32 tolerance: ..."), one per product.
  const Tf32Case c = tf32_case();
  const cuda::AllowTf32Guard tf32(true);  // restored however this case ends
  Tensor a = c.a.to(kFloat32).to(kCUDA).requires_grad_(), b = c.b.to(kFloat32).to(kCUDA).requires_grad_();
  const Tensor out = matmul(a, b);
  check_close(out, matmul(c.a, c.b), tf32_matmul_tolerance(c.a, c.b), "forward");
  sum(out * c.w.to(kFloat32).to(kCUDA)).backward();
  check_close(a.grad(), matmul(c.w, c.b.t()), tf32_matmul_tolerance(c.w, c.b.t()), "gradient of a");
  check_close(b.grad(), matmul(c.a.t(), c.w), tf32_matmul_tolerance(c.a.t(), c.w), "gradient of b");
}

TEST_CASE("cuda parity: random numbers are the CPU's") {
  EMBER_REQUIRE_CUDA();
  auto both = [](auto draw) {
    Generator cpu_gen(77), gpu_gen(77);
    cpu_gen.advance(5);
    gpu_gen.advance(5);
    return std::pair<Tensor, Tensor>{draw(kCPU, &cpu_gen), draw(kCUDA, &gpu_gen).to(kCPU)};
  };
  auto [u_cpu, u_gpu] = both([](Device d, Generator* g) { return rand({4097}, TensorOptions(kFloat32, d), g); });
  CHECK(u_cpu.to_vector<float>() == u_gpu.to_vector<float>());
  auto [i_cpu, i_gpu] = both([](Device d, Generator* g) { return randint(-3, 1000, {4097}, TensorOptions(kInt64, d), g); });
  CHECK(i_cpu.to_vector<std::int64_t>() == i_gpu.to_vector<std::int64_t>());
  auto [d_cpu, d_gpu] = both([](Device d, Generator* g) { return dropout(ones({4097}, d), 0.3, true, g); });
  CHECK(d_cpu.to_vector<float>() == d_gpu.to_vector<float>());
  // Normal values go through the device's log and cos: equal to rounding.
  auto [n_cpu, n_gpu] = both([](Device d, Generator* g) { return randn({4097}, TensorOptions(kFloat64, d), g); });
  CHECK(relative_error(n_gpu, n_cpu) <= 1e-14);
}

TEST_CASE("cuda parity: fused optimizer steps") {
  EMBER_REQUIRE_CUDA();
  manual_seed(2026);
  auto run = [](auto step) {
    Tensor p = randn({37, 11}, kFloat64).to(kFloat32).to(kFloat64);
    std::vector<Tensor> grads;
    for (int i = 0; i < 3; ++i) grads.push_back(randn({37, 11}, kFloat64).to(kFloat32).to(kFloat64));
    auto state_like = [](const Tensor& t) { return zeros(t.shape(), TensorOptions(t.dtype(), t.device())); };
    Tensor p_gpu = p.to(kFloat32).to(kCUDA);
    std::vector<Tensor> s_cpu{state_like(p), state_like(p), state_like(p)};
    std::vector<Tensor> s_gpu{state_like(p_gpu), state_like(p_gpu), state_like(p_gpu)};
    for (int i = 0; i < 3; ++i) {
      step(p, grads[i], s_cpu, i + 1);
      step(p_gpu, grads[i].to(kFloat32).to(kCUDA), s_gpu, i + 1);
    }
    check_close(p_gpu, p, 1e-5, "parameter");
    for (std::size_t k = 0; k < s_cpu.size(); ++k) check_close(s_gpu[k], s_cpu[k], 1e-5, "state " + std::to_string(k));
  };
  for (bool nesterov : {false, true}) {
    run([nesterov](const Tensor& p, const Tensor& g, std::vector<Tensor>& s, std::int64_t step) {
      fused_sgd_step(p, g, s[0], {.lr = 0.1, .momentum = 0.9, .dampening = 0, .weight_decay = 0.01,
                                  .nesterov = nesterov, .first_step = step == 1});
    });
  }
  run([](const Tensor& p, const Tensor& g, std::vector<Tensor>&, std::int64_t) { fused_sgd_step(p, g, {}, {.lr = 0.1}); });
  for (int variant = 0; variant < 4; ++variant) {
    run([variant](const Tensor& p, const Tensor& g, std::vector<Tensor>& s, std::int64_t step) {
      AdamStepOptions o{.lr = 0.01, .weight_decay = 0.1, .step = step};
      o.decoupled_weight_decay = variant == 1 || variant == 3;
      o.rectified = variant == 3;
      o.amsgrad = variant == 2;
      fused_adam_step(p, g, s[0], s[1], o.amsgrad ? s[2] : Tensor(), o);
    });
  }
}

TEST_CASE("cuda: backward kernels are deterministic") {
  EMBER_REQUIRE_CUDA();
  manual_seed(2027);
  auto grads = [](const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
    Tensor leaf = x.detach().requires_grad_();
    sum(f(leaf) * f(leaf)).backward();
    return leaf.grad().to_vector<float>();
  };
  Tensor w = randn({50, 16}, TensorOptions(kFloat32, kCUDA));
  Tensor idx = randint(0, 5, {4000}, TensorOptions(kInt64, kCUDA));  // many repeats
  auto lookup = [&](const Tensor& weight) { return embedding(weight, idx); };
  CHECK(grads(lookup, w) == grads(lookup, w));
  Tensor x = randn({3000, 64}, TensorOptions(kFloat32, kCUDA)), gamma = randn({64}, TensorOptions(kFloat32, kCUDA));
  auto norm = [&](const Tensor& weight) { return layer_norm(x, {64}, weight); };
  CHECK(grads(norm, gamma) == grads(norm, gamma));
  Tensor q = randn({1, 2, 200, 16}, TensorOptions(kFloat32, kCUDA));
  SdpaOptions causal;
  causal.causal = true;
  auto attend = [&](const Tensor& keys) { return scaled_dot_product_attention(q, keys, keys, causal); };
  CHECK(grads(attend, q) == grads(attend, q));
}

TEST_CASE("cuda: to(device) moves non-contiguous tensors both ways") {
  EMBER_REQUIRE_CUDA();
  Tensor host = arange(24, kFloat32).reshape({2, 3, 4});
  Tensor there = host.permute({2, 0, 1}).to(kCUDA);
  CHECK(there.is_contiguous());
  CHECK(there.to(kCPU).to_vector<float>() == host.permute({2, 0, 1}).contiguous().to_vector<float>());
  Tensor back = there.transpose(0, 2).to(kCPU);
  CHECK(back.to_vector<float>() == host.permute({2, 0, 1}).transpose(0, 2).contiguous().to_vector<float>());
#ifdef EMBER_WITH_CUDA
  const std::size_t before = cuda::memory_stats().allocated;
  Tensor big = empty({1 << 20}, kCUDA);
  CHECK(cuda::memory_stats().allocated >= before + (std::size_t{4} << 20));
  CHECK(cuda::memory_stats().peak_allocated >= cuda::memory_stats().allocated);
#endif
}

}  // TEST_SUITE("cuda")
