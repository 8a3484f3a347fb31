// Fused softmax attention: forward against the unfused formula (matmul, mask, softmax, matmul)
// across block boundaries, causal, key padding and strided heads; gradient checks, with dropout.
#include <cmath>
#include <limits>

#include "helpers.h"
#include "ops/cpu/simd.h"

using namespace ember;
using namespace ember::testing;

namespace {

Tensor reference(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const std::vector<std::int64_t>& lengths = {}) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  Tensor s = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(q.size(-1))));
  const std::int64_t Nq = q.size(2), Nk = k.size(2);
  if (causal) s = masked_fill(s, triu(ones({Nq, Nk}, q.dtype()), 1), neg_inf);
  if (!lengths.empty()) {
    Tensor pad = ge(arange(Nk).reshape({1, 1, 1, Nk}), from_vector(lengths).reshape({-1, 1, 1, 1}));
    s = masked_fill(s, pad, neg_inf);
  }
  return matmul(softmax(s, -1), v);
}

}  // namespace

TEST_CASE("sdpa: forward equals the unfused formula") {
  manual_seed(41);
  for (std::int64_t N : {1, 5, 64, 70, 130}) {
    for (bool causal : {false, true}) {
      Tensor q = randn({2, 3, N, 8}, kFloat64), k = randn({2, 3, N, 8}, kFloat64), v = randn({2, 3, N, 5}, kFloat64);
      Tensor out = scaled_dot_product_attention(q, k, v, {.causal = causal});
      INFO("N = " << N << " causal = " << causal);
      CHECK(max(abs(out - reference(q, k, v, causal))).item<double>() < 1e-12);
    }
  }
  // Cross attention with different lengths and key padding.
  Tensor q = randn({2, 2, 7, 4}, kFloat64), k = randn({2, 2, 90, 4}, kFloat64), v = randn({2, 2, 90, 3}, kFloat64);
  Tensor lengths = from_vector<std::int64_t>({90, 66});
  Tensor out = scaled_dot_product_attention(q, k, v, {.key_lengths = lengths});
  CHECK(max(abs(out - reference(q, k, v, false, {90, 66}))).item<double>() < 1e-12);
  // A sequence with no keys gets zeros, not NaN.
  Tensor none = scaled_dot_product_attention(q, k, v, {.key_lengths = from_vector<std::int64_t>({0, 3})});
  CHECK(max(abs(none.select(0, 0))).item<double>() == 0.0);
}

TEST_CASE("sdpa: float32 heads split from a projection are read in place") {
  manual_seed(42);
  const std::int64_t B = 2, N = 100, H = 4, D = 16;
  Tensor proj = randn({B, N, 3 * H * D});
  auto heads = [&](int i) { return proj.narrow(2, i * H * D, H * D).reshape({B, N, H, D}).transpose(1, 2); };
  Tensor out = scaled_dot_product_attention(heads(0), heads(1), heads(2), {.causal = true});
  Tensor ref = reference(heads(0).to(kFloat64), heads(1).to(kFloat64), heads(2).to(kFloat64), true);
  CHECK(max(abs(out.to(kFloat64) - ref)).item<double>() < 1e-5);
  CHECK(out.transpose(1, 2).is_contiguous());  // heads merge for free
}

TEST_CASE("sdpa: dropout drops about p of the weights and is reproducible") {
  manual_seed(43);
  Tensor q = zeros({1, 1, 200, 4}), k = zeros({1, 1, 200, 4}), v = ones({1, 1, 200, 1});
  // Uniform weights 1/200: with dropout each output is (kept count) / (200 (1 - p)).
  Generator g1(5), g2(5);
  Tensor a = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.25, .generator = &g1});
  Tensor b = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.25, .generator = &g2});
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  CHECK(mean(a).item<double>() == doctest::Approx(1.0).epsilon(0.02));
  CHECK(max(abs(a - 1.0)).item<double>() > 0.01);  // rows differ: the mask is not all-ones
}

TEST_CASE("sdpa: weight (h, i, j) is dropped exactly where philox(seed, offset + (h Nq + i) Nk + j) says") {
  // Zero queries and keys give every weight 1 / Nk; identity values make the output the weights
  // themselves, so each output element shows one keep decision. Nk = 70: past one key block and
  // not a multiple of the eight counters per vector Philox call.
  const std::int64_t H = 2, Nq = 3, Nk = 70;
  const double p = 0.3;
  std::vector<float> identity(Nk * Nk, 0.0f);
  for (std::int64_t j = 0; j < Nk; ++j) identity[j * Nk + j] = 1.0f;
  Tensor v = from_vector(identity, {1, 1, Nk, Nk}).expand({1, H, Nk, Nk}).contiguous();
  for (DType dtype : {kFloat32, kFloat64}) {
    Generator gen(41);
    gen.advance(11);
    Tensor q = zeros({1, H, Nq, 4}, dtype), k = zeros({1, H, Nk, 4}, dtype);
    std::vector<double> out =
        scaled_dot_product_attention(q, k, v.to(dtype), {.dropout_p = p, .generator = &gen}).to_vector<double>();
    CHECK(gen.offset() == 11 + H * Nq * Nk);
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < Nq; ++i)
        for (std::int64_t j = 0; j < Nk; ++j) {
          const auto w = philox(41, 11 + static_cast<std::uint64_t>((h * Nq + i) * Nk + j));
          const bool kept = 1.0 - philox_uniform(w[0], w[1]) >= p;
          INFO(dtype_name(dtype) << " h " << h << " i " << i << " j " << j);
          CHECK(out[(h * Nq + i) * Nk + j] == doctest::Approx(kept ? 1.0 / (Nk * (1 - p)) : 0.0).epsilon(1e-6));
        }
  }
}

TEST_CASE("sdpa: float32 on every SIMD level of this CPU equals the float64 kernel, forward and backward") {
  // Generic is BLAS + std::exp; AVX2 and AVX-512 are simd.h's tiles (ragged blocks, D = 5, 64).
  manual_seed(45);
  std::vector<cpu::SimdLevel> levels = {cpu::SimdLevel::Generic, cpu::SimdLevel::Avx2, cpu::SimdLevel::Avx512};
  for (cpu::SimdLevel level : levels) {
    if (static_cast<int>(level) > static_cast<int>(cpu::detected_simd_level())) {
      MESSAGE("not on this CPU, not tested: " << std::string(cpu::simd_level_name(level)));
      continue;
    }
    cpu::ScopedSimdLevel scoped(level);
    for (std::int64_t N : {1, 70, 130}) {
      for (std::int64_t D : {5, 64}) {
        for (bool causal : {false, true}) {
          INFO(std::string(cpu::simd_level_name(level)) << " N = " << N << " D = " << D << " causal = " << causal);
          Tensor q = randn({2, 2, N, D}, kFloat64), k = randn({2, 2, N, D}, kFloat64), v = randn({2, 2, N, D}, kFloat64);
          Tensor g = randn({2, 2, N, D}, kFloat64);
          Tensor lengths = from_vector<std::int64_t>({N, N / 2 + 1});
          SdpaOptions options{.causal = causal, .key_lengths = causal ? Tensor() : lengths};
          auto run = [&](DType dtype) {
            std::vector<Tensor> in = {q.to(dtype).detach().requires_grad_(), k.to(dtype).detach().requires_grad_(),
                                     v.to(dtype).detach().requires_grad_()};
            Tensor out = scaled_dot_product_attention(in[0], in[1], in[2], options);
            (out * g.to(dtype)).sum().backward();
            return std::vector<Tensor>{out, in[0].grad(), in[1].grad(), in[2].grad()};
          };
          std::vector<Tensor> exact = run(kFloat64), single = run(kFloat32);
          for (std::size_t i = 0; i < exact.size(); ++i) {
            INFO("tensor " << i << " (out, dq, dk, dv)");
            CHECK(max(abs(single[i].to(kFloat64) - exact[i])).item<double>() < 2e-5 * (1 + max(abs(exact[i])).item<double>()));
          }
        }
      }
    }
    // A NaN query row gives a NaN output row and leaves the other rows finite.
    Tensor qn = randn({1, 1, 70, 64}), kn = randn({1, 1, 70, 64}), vn = randn({1, 1, 70, 64});
    qn.select(2, 3).select(2, 0).fill_(std::nan(""));
    Tensor on = scaled_dot_product_attention(qn, kn, vn);
    CHECK(std::isnan(on.select(2, 3).select(2, 0).item<float>()));
    CHECK(std::isfinite(sum(on.narrow(2, 4, 66)).item<float>()));
    // Dropout draws the same mask on every path.
    Tensor q = randn({1, 2, 90, 8}), k = randn({1, 2, 90, 8}), v = randn({1, 2, 90, 8});
    Generator g1(3), g2(3);
    Tensor a = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.2, .generator = &g1});
    Tensor b = scaled_dot_product_attention(q.to(kFloat64), k.to(kFloat64), v.to(kFloat64), {.dropout_p = 0.2, .generator = &g2});
    CHECK(max(abs(a.to(kFloat64) - b)).item<double>() < 1e-5);
  }
}

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: scaled_dot_product_attention over several key blocks, with dropout and key lengths") {
  manual_seed(44);
  for (std::int64_t N : {3, 70}) {
    for (bool causal : {false, true}) {
      INFO("N = " << N << " causal = " << causal);
      check_gradients([causal](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], {.causal = causal});
      }, {input({1, 1, N, 2}), input({1, 1, N, 2}), input({1, 1, N, 2})});
    }
  }
  Tensor lengths = from_vector<std::int64_t>({4, 2});
  check_gradients([&](const std::vector<Tensor>& in) {
    Generator gen(9);  // same dropout mask at every evaluation
    return scaled_dot_product_attention(in[0], in[1], in[2], {.dropout_p = 0.3, .key_lengths = lengths, .generator = &gen});
  }, {input({2, 2, 3, 2}), input({2, 2, 4, 2}), input({2, 2, 4, 3})});
}
}

TEST_CASE("sdpa: bad inputs") {
  CHECK_ERROR_CONTAINS(scaled_dot_product_attention(zeros({1, 2, 3, 4}), zeros({1, 2, 3, 5}), zeros({1, 2, 3, 4})),
                       "scaled_dot_product_attention", "[1, 2, 3, 5]");
  CHECK_ERROR_CONTAINS(scaled_dot_product_attention(zeros({1, 1, 3, 4}), zeros({1, 1, 5, 4}), zeros({1, 1, 5, 4}), {.causal = true}),
                       "scaled_dot_product_attention", "causal");
  CHECK_ERROR_CONTAINS(scaled_dot_product_attention(zeros({1, 1, 3, 4}), zeros({1, 1, 3, 4}), zeros({1, 1, 3, 4}), {.dropout_p = 1.0}),
                       "scaled_dot_product_attention", "dropout");
}
