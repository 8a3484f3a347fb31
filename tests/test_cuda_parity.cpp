// CUDA parity: every CUDA kernel against the CPU, in the shape of ggml's test-backend-ops. Each op
// is described once (inputs and a function of them); the description runs on float64 CPU inputs
// and on the same values as float32 CUDA tensors, and the CUDA result and every input's gradient
// (through autograd, with a random upstream gradient) must match the CPU's to a relative error of
// 1e-5 (largest absolute difference over the largest reference magnitude; a NaN that the CPU did
// not produce fails). Views inside the descriptions give the kernels non-contiguous inputs.
//
// Ops without a gradient path (random numbers, optimizer steps, in-place updates) have their own
// cases below the table, as do bitwise determinism and TF32. Without a GPU every case ends at
// EMBER_REQUIRE_CUDA (helpers.h), which ctest reports as skipped, with the reason. CTest label: cuda.
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

using Inputs = const std::vector<Tensor>&;
using Make = std::function<Tensor()>;  // one CPU input: float64 (differentiable) or int64

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

Make normal(Shape s) { return [s] { return randn(s, kFloat64); }; }
Make positive(Shape s, double low = 0.5, double high = 2.0) {
  return [=] { return rand(s, kFloat64) * (high - low) + low; };
}
Make away_from_zero(Shape s) {  // |x| in [0.2, 1.2): no kinks of relu/abs between CPU and GPU
  return [s] { return (rand(s, kFloat64) + 0.2) * (gt(rand(s, kFloat64), full({}, 0.5, kFloat64)) * 2.0 - 1.0); };
}
Make indices(Shape s, std::int64_t high) { return [=] { return randint(0, high, s); }; }
Make features(Shape s) { return [s] { return elu(randn(s, kFloat64)) + 1.0; }; }  // phi(x) > 0

struct OpCase {
  std::string family, name;
  std::vector<Make> inputs;
  std::function<Tensor(Inputs)> fn;
  bool grad = true;
};

// Runs one description on both devices and compares outputs and gradients.
void check_parity(const OpCase& c, double tol = 1e-5) {
  INFO("op: " << c.name);
  std::vector<Tensor> cpu, gpu;
  for (const Make& make : c.inputs) {
    Tensor x = make().detach();
    const bool floating = is_floating(x.dtype());
    if (floating) x = x.to(kFloat32).to(kFloat64);  // values both devices hold exactly
    Tensor on_gpu = (floating ? x.to(kFloat32) : x).to(kCUDA);
    if (floating && c.grad) {
      x.requires_grad_();
      on_gpu.requires_grad_();
    }
    cpu.push_back(x);
    gpu.push_back(on_gpu);
  }
  const Tensor expected = c.fn(cpu), actual = c.fn(gpu);
  CHECK(actual.device() == kCUDA);
  check_close(actual, expected, tol, "forward");
  if (!c.grad) return;
  const Tensor w = randn(expected.shape(), kFloat64).to(kFloat32).to(kFloat64);
  sum(expected * w).backward();
  sum(actual * w.to(kFloat32).to(kCUDA)).backward();
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    if (!cpu[i].grad().defined()) continue;
    check_close(gpu[i].grad(), cpu[i].grad(), tol, "gradient of input " + std::to_string(i));
  }
}

Tensor same_device(const Tensor& t, const Tensor& like) { return t.to(like.device()); }

// Softmax attention composed of unfused ops (the reference for the fused kernel), with the dropout
// mask regenerated from the counter scheme of ops/sdpa.h.
Tensor attention_reference(Inputs in, const SdpaOptions& o, std::uint64_t seed) {
  const Tensor &q = in[0], &k = in[1], &v = in[2];
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), Nk = k.size(2);
  const double scale = o.scale > 0 ? o.scale : 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  std::vector<double> mask(B * H * Nq * Nk);
  const std::vector<std::int64_t> lengths =
      o.key_lengths.defined() ? o.key_lengths.to_vector<std::int64_t>() : std::vector<std::int64_t>(B, Nk);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < Nq; ++i)
        for (std::int64_t j = 0; j < Nk; ++j) {
          const std::uint64_t counter = static_cast<std::uint64_t>(((b * H + h) * Nq + i) * Nk + j);
          const auto w = philox(seed, counter);
          const bool kept = o.dropout_p == 0 || 1.0 - philox_uniform(w[0], w[1]) >= o.dropout_p;
          const bool visible = j < lengths[b] && !(o.causal && j > i);
          mask[counter] = visible ? (kept ? 1.0 / (1.0 - o.dropout_p) : 0.0) : -1.0;
        }
  Tensor m = from_vector(mask, {B, H, Nq, Nk}).to(q.dtype());
  Tensor visible = gt(m, zeros({}, kFloat64)) + eq(m, zeros({}, kFloat64));
  // -1e30 instead of -inf keeps fully masked rows finite; multiplying by the mask zeroes them.
  Tensor scores = where(visible, matmul(q, k.transpose(-1, -2)) * scale, full({}, -1e30, kFloat64));
  return matmul(softmax(scores) * visible * relu(m), v);
}

// The table: one entry per op and layout worth covering.
std::vector<OpCase> op_table() {
  auto tr = [](Inputs in, int i) { return in[i].transpose(0, 1); };  // a non-contiguous input
  std::vector<OpCase> t = {
      // elementwise: broadcasting, transposed operands, scalars, every unary op and backward
      {"elementwise", "add broadcast", {normal({4, 1, 5}), normal({3, 5})}, [](Inputs in) { return in[0] + in[1]; }},
      {"elementwise", "sub transposed", {normal({5, 4}), normal({4, 5})}, [tr](Inputs in) { return tr(in, 0) - in[1]; }},
      {"elementwise", "mul 0-dim", {normal({6, 7}), normal({})}, [](Inputs in) { return in[0] * in[1]; }},
      {"elementwise", "div", {normal({3, 4}), positive({3, 4})}, [](Inputs in) { return in[0] / in[1]; }},
      {"elementwise", "large flat (vectorized + tail)", {normal({1001, 1003}), normal({1003})},
       [](Inputs in) { return in[0] * in[1] + in[0]; }},
      {"elementwise", "10 dims (host split)", {normal({2, 2, 2, 2, 2, 2, 2, 2, 2, 3})},
       [](Inputs in) { return exp(in[0].permute({9, 8, 7, 6, 5, 4, 3, 2, 1, 0})); }},
      {"elementwise", "scalars", {positive({5, 6})},
       [](Inputs in) { return (in[0] * 2.5 + 1.0) + (3.0 - in[0]) + 2.0 / in[0] - in[0] / 4.0; }},
      {"elementwise", "neg exp tanh sigmoid", {normal({19, 37})},
       [tr](Inputs in) { return -exp(tr(in, 0) * 0.5) + tanh(tr(in, 0)) + sigmoid(tr(in, 0)); }},
      {"elementwise", "log sqrt rsqrt pow", {positive({37, 19})},
       [](Inputs in) { return log(in[0]) + sqrt(in[0]) + rsqrt(in[0]) + pow(in[0], 2.5) + pow(in[0], 2.0); }},
      {"elementwise", "abs relu", {away_from_zero({8, 9})}, [tr](Inputs in) { return abs(tr(in, 0)) + relu(in[0]).t(); }},
      {"elementwise", "gelu elu", {normal({8, 9})}, [](Inputs in) { return gelu(in[0]) + elu(in[0], 0.7); }},
      {"elementwise", "comparisons", {normal({4, 5}), normal({5})},
       [](Inputs in) { return lt(in[0], in[1]) + le(in[0], in[1]) * 2.0 + gt(in[0], in[1]) * 4.0 +
                              ge(in[0], in[1]) * 8.0 + eq(in[0], in[0]) * 16.0 + ne(in[0], in[1]) * 32.0; },
       false},
      {"elementwise", "where masked_fill", {normal({3, 1, 5}), normal({4, 5}), normal({3, 4, 1})},
       [](Inputs in) {
         Tensor cond = gt(in[2], zeros({}, TensorOptions(in[2].dtype(), in[2].device())));
         return where(cond, in[0], in[1]) + masked_fill(in[1], lt(in[1], in[1] * 0.0), -3.0);
       }},
      {"elementwise", "in-place add_ mul_ on a strided view", {normal({6, 5}), normal({5, 6})},
       [](Inputs in) {
         Tensor y = in[0].detach().clone();
         Tensor view = y.t();
         view.add_(in[1].detach(), 0.5);
         view.mul_(3.0);
         y.sub_(in[0].detach());
         return y;
       },
       false},
      // copy: layout changes, dtype conversion, broadcast sources, strided destinations, fill
      {"copy", "contiguous of transpose", {normal({7, 9})}, [tr](Inputs in) { return tr(in, 0).contiguous() * 1.0; }},
      {"copy", "dtype round trips", {normal({5, 4})},
       [](Inputs in) { return (in[0] * 8.0).to(kInt64).to(kFloat64).to(in[0].dtype()) + in[0].to(kFloat64).to(in[0].dtype()); },
       false},
      {"copy", "cat into strided slices", {normal({4, 3}), normal({3, 5})},
       [tr](Inputs in) { return cat({tr(in, 1), in[0]}, 1); }},
      {"copy", "expand then contiguous, strided slice", {normal({3, 1}), normal({4, 9})},
       [](Inputs in) { return in[0].expand({3, 4}).contiguous() + in[1].slice(1, 0, 7, 2).t().t().narrow(1, 0, 4).slice(0, 0, 3); }},
      {"copy", "fill", {normal({2, 3})},
       [](Inputs in) { return full({2, 3}, 2.5, TensorOptions(in[0].dtype(), in[0].device())) * in[0] + ones_like(in[0]); }},
      // reduce: inner == 1, inner > 1, non-adjacent dims, all dims, split paths, argmax, int64
      {"reduce", "sum dims", {normal({3, 4, 5})},
       [](Inputs in) { return cat({sum(in[0], {2}).flatten(), sum(in[0], {0}).flatten(), sum(in[0], {0, 2}).flatten(), sum(in[0]).reshape({1})}); }},
      {"reduce", "mean var keepdim transposed", {normal({6, 5})},
       [tr](Inputs in) { return mean(tr(in, 0), {1}, true) + var(tr(in, 0), {1}, 1, true); }},
      {"reduce", "max with grad", {normal({7, 40})}, [](Inputs in) { return max(in[0], {1}) + max(in[0]); }},
      {"reduce", "sum of 300000 (split rows)", {normal({300000})}, [](Inputs in) { return sum(in[0]).reshape({1}); }},
      {"reduce", "sum over dim 0 of (20000, 3) (split columns)", {normal({20000, 3})},
       [](Inputs in) { return sum(in[0], {0}); }},
      {"reduce", "max over 70000 columns (split rows)", {normal({5, 70000})}, [](Inputs in) { return max(in[0], {1}); }},
      {"reduce", "argmax", {normal({6, 50, 3})},
       [](Inputs in) { return cat({argmax(in[0], 1).flatten(), argmax(in[0], 2).flatten(), argmax(in[0].flatten(), 0).reshape({1})}); },
       false},
      {"reduce", "int64 sum max", {indices({9, 1000}, 50)},
       [](Inputs in) { return cat({sum(in[0], {1}), max(in[0], {1}), max(in[0], {0}).flatten()}); }, false},
      // matmul through cuBLAS: transpose flags, batch broadcast, 1-D operands, irregular batches
      {"matmul", "2-D", {normal({5, 7}), normal({7, 3})}, [](Inputs in) { return matmul(in[0], in[1]); }},
      {"matmul", "transposed operands", {normal({7, 5}), normal({3, 7})},
       [](Inputs in) { return matmul(in[0].t(), in[1].t()); }},
      {"matmul", "batch broadcast", {normal({2, 1, 4, 5}), normal({3, 5, 6})}, [](Inputs in) { return matmul(in[0], in[1]); }},
      {"matmul", "1-D operands", {normal({5}), normal({2, 5, 3}), normal({3})},
       [](Inputs in) { return matmul(matmul(in[0], in[1]), in[2]); }},
      {"matmul", "permuted batch dims (looped batches)", {normal({3, 2, 4, 5}), normal({2, 3, 5, 6})},
       [](Inputs in) { return matmul(in[0].permute({1, 0, 2, 3}), in[1]); }},
      {"matmul", "operand needing a copy", {normal({4, 10}), normal({2, 3, 4})},
       [](Inputs in) { return matmul(in[1], in[0].slice(1, 0, 10, 2)); }},
      // tril / triu on a transposed batch
      {"shape_ops", "tril triu", {normal({3, 6, 5})},
       [](Inputs in) { Tensor x = in[0].transpose(1, 2); return tril(x, -1) + triu(x, 1) * 2.0 + tril(x) * 3.0; }},
      // softmax: warp rows, block rows (n > 1024), another dim
      {"softmax", "softmax log_softmax", {normal({9, 33})},
       [](Inputs in) { return softmax(in[0]) + log_softmax(in[0], -1) + softmax(in[0], 0); }},
      {"softmax", "long rows", {normal({3, 3000})}, [](Inputs in) { return softmax(in[0] * 3.0) + log_softmax(in[0]); }},
      // layer_norm: with and without affine parameters, long rows, many rows (several chunks)
      {"layer_norm", "affine", {normal({4, 7, 33}), normal({33}), normal({33})},
       [](Inputs in) { return layer_norm(in[0], {33}, in[1], in[2]); }},
      {"layer_norm", "plain, transposed", {normal({12, 5})}, [tr](Inputs in) { return layer_norm(tr(in, 0), {12}); }},
      {"layer_norm", "long rows", {normal({3, 2000}), normal({2000}), normal({2000})},
       [](Inputs in) { return layer_norm(in[0], {2000}, in[1], in[2], 1e-3); }},
      {"layer_norm", "many rows", {normal({700, 48}), normal({48}), normal({48})},
       [](Inputs in) { return layer_norm(in[0], {48}, in[1], in[2]); }},
      // embedding with repeated indices (the segmented backward)
      {"embedding", "gather and scatter", {normal({11, 6}), indices({4, 25}, 11)},
       [](Inputs in) { return embedding(in[0], in[1]); }},
      // cross_entropy: ignore_index, label smoothing, many classes
      {"loss", "cross_entropy", {normal({2, 6, 9}), indices({2, 6}, 9)},
       [](Inputs in) {
         Tensor targets = where(eq(in[1], full({}, 4.0, TensorOptions(kInt64, in[1].device()))),
                                full({}, -100.0, TensorOptions(kInt64, in[1].device())), in[1]);
         return cross_entropy(in[0], targets, {.label_smoothing = 0.1}).reshape({1});
       }},
      {"loss", "cross_entropy, 2000 classes", {normal({5, 2000}), indices({5}, 2000)},
       [](Inputs in) { return cross_entropy(in[0] * 2.0, in[1]).reshape({1}); }},
  };
  // Causal linear attention: several chunks, a partial last chunk, heads split from one projection.
  for (std::int64_t chunk : {64, 16, 5}) {
    t.push_back({"linear_attention", "chunk " + std::to_string(chunk),
                 {features({2, 70, 3 * 8}), normal({2, 3, 70, 5})},
                 [chunk](Inputs in) {
                   Tensor heads = in[0].reshape({2, 70, 3, 8}).transpose(1, 2);  // (B, H, N, D), strided
                   return causal_linear_attention(heads, heads * 0.5 + 0.1, in[1], 1e-6, chunk);
                 }});
  }
  // Fused softmax attention: the composed reference on the CPU, the fused kernel on CUDA.
  struct AttentionCase {
    std::string name;
    std::int64_t Nq, Nk;
    bool causal;
    double dropout_p;
    std::vector<std::int64_t> lengths;
  };
  for (const AttentionCase& a : std::vector<AttentionCase>{{"plain, Nq != Nk", 37, 70, false, 0.0, {}},
                                                          {"causal", 70, 70, true, 0.0, {}},
                                                          {"key lengths (one empty)", 20, 70, false, 0.0, {45, 0}},
                                                          {"causal with lengths and dropout", 70, 70, true, 0.2, {70, 33}}}) {
    t.push_back({"sdpa", a.name,
                 {normal({2, 3, a.Nq, 16}), normal({2, a.Nk, 3, 16}), normal({2, 3, a.Nk, 12})},
                 [a](Inputs in) {
                   constexpr std::uint64_t kSeed = 42;
                   Generator gen(kSeed);
                   SdpaOptions o;
                   o.causal = a.causal;
                   o.dropout_p = a.dropout_p;
                   o.scale = 0.3;
                   o.generator = &gen;
                   if (!a.lengths.empty()) o.key_lengths = same_device(from_vector(a.lengths), in[0]);
                   std::vector<Tensor> qkv{in[0], in[1].transpose(1, 2), in[2]};  // strided keys
                   return in[0].device().is_cuda() ? scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], o)
                                                   : attention_reference(qkv, o, kSeed);
                 }});
  }
  return t;
}

// Empty operands, one or more per op family: a kernel launched with a zero-sized grid fails, and an
// output that backward must fill (layer_norm's weight gradient) may be left unwritten.
std::vector<OpCase> zero_size_table() {
  return {
      {"elementwise", "empty: tanh exp mul", {normal({0, 5}), normal({5})},
       [](Inputs in) { return tanh(in[0]) * in[1] + exp(in[0]); }},
      {"copy", "empty: contiguous of a transpose", {normal({5, 0})}, [](Inputs in) { return in[0].t().contiguous(); }},
      {"reduce", "empty: sum and mean over a non-empty dim of an empty tensor", {normal({0, 4})},
       [](Inputs in) { return sum(in[0], {1}) + mean(in[0], {1}); }},
      {"reduce", "empty: sum over an empty dim", {normal({3, 0})}, [](Inputs in) { return sum(in[0], {1}); }},
      {"matmul", "empty: K = 0", {normal({3, 0}), normal({0, 4})}, [](Inputs in) { return matmul(in[0], in[1]); }},
      {"matmul", "empty: M = 0", {normal({0, 6}), normal({6, 4})}, [](Inputs in) { return matmul(in[0], in[1]); }},
      {"softmax", "empty: no rows", {normal({0, 7})}, [](Inputs in) { return softmax(in[0]) + log_softmax(in[0]); }},
      {"layer_norm", "empty: no rows", {normal({0, 16}), normal({16}), normal({16})},
       [](Inputs in) { return layer_norm(in[0], {16}, in[1], in[2]); }},
      {"embedding", "empty: no indices", {normal({11, 6}), indices({0}, 11)},
       [](Inputs in) { return embedding(in[0], in[1]); }},
  };
}

void run_family(const std::string& family) {
  manual_seed(2024);
  int ran = 0;
  for (const OpCase& c : op_table()) {
    if (c.family != family) continue;
    check_parity(c);
    ++ran;
  }
  CHECK(ran > 0);
}

}  // namespace

TEST_SUITE("cuda") {

TEST_CASE("cuda parity: empty operands of every family") {
  EMBER_REQUIRE_CUDA();
  manual_seed(2026);
  for (const OpCase& c : zero_size_table()) check_parity(c);
}

TEST_CASE("cuda parity: elementwise") { EMBER_REQUIRE_CUDA(); run_family("elementwise"); }
TEST_CASE("cuda parity: copy and fill") { EMBER_REQUIRE_CUDA(); run_family("copy"); }
TEST_CASE("cuda parity: reductions") { EMBER_REQUIRE_CUDA(); run_family("reduce"); }
TEST_CASE("cuda parity: matmul") { EMBER_REQUIRE_CUDA(); run_family("matmul"); }
TEST_CASE("cuda parity: tril and triu") { EMBER_REQUIRE_CUDA(); run_family("shape_ops"); }
TEST_CASE("cuda parity: softmax") { EMBER_REQUIRE_CUDA(); run_family("softmax"); }
TEST_CASE("cuda parity: layer_norm") { EMBER_REQUIRE_CUDA(); run_family("layer_norm"); }
TEST_CASE("cuda parity: embedding") { EMBER_REQUIRE_CUDA(); run_family("embedding"); }
TEST_CASE("cuda parity: cross_entropy") { EMBER_REQUIRE_CUDA(); run_family("loss"); }
TEST_CASE("cuda parity: causal_linear_attention") { EMBER_REQUIRE_CUDA(); run_family("linear_attention"); }
TEST_CASE("cuda parity: scaled_dot_product_attention") { EMBER_REQUIRE_CUDA(); run_family("sdpa"); }

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

// The CPU half of the empty-operand rows, which runs everywhere: forward and backward work, and
// every gradient that exists has its input's shape (zeros for layer_norm's weight and bias).
TEST_CASE("empty operands: every zero-size parity row runs forward and backward on the CPU") {
  manual_seed(2026);
  for (const OpCase& c : zero_size_table()) {
    INFO("op: " << c.name);
    std::vector<Tensor> in;
    for (const Make& make : c.inputs) {
      Tensor x = make().detach();
      if (is_floating(x.dtype())) x.requires_grad_();
      in.push_back(x);
    }
    Tensor out;
    REQUIRE_NOTHROW(out = c.fn(in));
    if (out.requires_grad()) REQUIRE_NOTHROW(sum(out).backward());
    for (const Tensor& x : in) {
      if (!x.grad().defined()) continue;
      CHECK(x.grad().shape() == x.shape());
      for (double g : x.grad().to_vector<double>()) CHECK(g == 0.0);
    }
  }
}
