// bfloat16 tensors and autocast on the CPU: rounding, conversions, printing, matmul, safetensors,
// and a model trained under autocast. (The CUDA bf16 kernels have their parity cases in
// test_cuda_parity.cpp.)
#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "nn_helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

std::uint16_t bits_of(float value) { return bfloat16(value).bits; }

// float32 values rounded to bfloat16 and widened back, as a float64 tensor.
Tensor rounded(const Tensor& t) { return t.to(kBFloat16).to(kFloat64); }

}  // namespace

TEST_CASE("bfloat16: float32 rounds to nearest, ties to even") {
  CHECK(bits_of(1.0f) == 0x3f80);
  CHECK(bits_of(-2.0f) == 0xc000);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: the tie goes to the even mantissa (1).
  CHECK(bits_of(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  CHECK(bits_of(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);
  // Just above the halfway point rounds up.
  CHECK(bits_of(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3f81);
  CHECK(bits_of(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(bits_of(std::numeric_limits<float>::max()) == 0x7f80);  // overflows to infinity
  CHECK(std::isnan(static_cast<float>(bfloat16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low bits must not become infinity.
  CHECK(std::isnan(static_cast<float>(bfloat16(std::bit_cast<float>(0x7f800001u)))));
  CHECK(static_cast<float>(bfloat16(3.140625f)) == 3.140625f);  // representable: exact
}

TEST_CASE("bfloat16: tensors convert, copy through views, fill and print") {
  Tensor x = tensor({1.0, 2.5, -3.0, 1.0 + 1.0 / 256, 1000.0, 1e-3}, kFloat32).reshape({2, 3});
  Tensor b = x.to(kBFloat16);
  CHECK(b.dtype() == kBFloat16);
  CHECK(b.shape() == Shape{2, 3});
  check_values(b, {1.0, 2.5, -3.0, 1.0, 1000.0, 0.00099945068359375}, 0);
  // A transposed (non-contiguous) view copies element by element.
  check_values(b.transpose(0, 1).contiguous(), {1.0, 1.0, 2.5, 1000.0, -3.0, 0.00099945068359375}, 0);
  check_values(full({2}, 0.1, kBFloat16), {0.10009765625, 0.10009765625}, 0);
  check_values(zeros({3}, kBFloat16), {0, 0, 0}, 0);
  const std::string printed = fmt::format("{}", b);
  CHECK(printed.find("dtype=bfloat16") != std::string::npos);
  CHECK(printed.find("1000.0000") != std::string::npos);
}

TEST_CASE("bfloat16: ops without a bfloat16 kernel say so") {
  Tensor b = ones({2, 2}, kBFloat16);
  CHECK_ERROR_CONTAINS(relu(b), "relu", "bfloat16", "to(float32)");
  CHECK_ERROR_CONTAINS(add(b, b), "add", "bfloat16");
  CHECK_ERROR_CONTAINS(softmax(b, -1), "softmax", "bfloat16");
  CHECK_ERROR_CONTAINS(matmul(b, ones({2, 2})), "matmul", "bfloat16", "float32");
}

TEST_CASE("bfloat16: matmul equals the float64 product of the rounded operands") {
  manual_seed(5);
  Tensor a = randn({3, 5, 7}), c = randn({7, 4});
  Tensor product = matmul(a.to(kBFloat16), c.to(kBFloat16));
  CHECK(product.dtype() == kBFloat16);
  Tensor reference = matmul(rounded(a), rounded(c));
  // float32 accumulation, then one rounding of the result to bfloat16 (relative step 2^-8).
  const double err = max(abs(product.to(kFloat64) - reference)).item<double>();
  CHECK(err <= max(abs(reference)).item<double>() * std::ldexp(1.0, -8));
}

TEST_CASE("autocast: matmul reads bfloat16, returns float32 and gives float32 gradients") {
  manual_seed(6);
  Tensor a = randn({4, 6}).requires_grad_(), w = randn({6, 3}).requires_grad_();
  Tensor out;
  {
    AutocastGuard autocast(kBFloat16);
    CHECK(autocast_state().enabled);
    out = matmul(a, w);
  }
  CHECK_FALSE(autocast_state().enabled);
  CHECK(out.dtype() == kFloat32);
  Tensor reference = matmul(rounded(a.detach()), rounded(w.detach()));
  check_values(out, reference.to_vector<double>(), 1e-5);
  // d(sum(out * g))/da = g wᵀ, computed from g and w rounded to bfloat16.
  Tensor g = randn({4, 3});
  (out * g).sum().backward();
  REQUIRE(a.grad().defined());
  CHECK(a.grad().dtype() == kFloat32);
  CHECK(w.grad().dtype() == kFloat32);
  check_values(a.grad(), matmul(rounded(g), rounded(w.detach()).transpose(0, 1)).to_vector<double>(), 1e-5);
  check_values(w.grad(), matmul(rounded(a.detach()).transpose(0, 1), rounded(g)).to_vector<double>(), 1e-5);
  // float64 operands are never downcast: under autocast their product equals a float64 triple loop
  // to float64 rounding, where operands rounded to bfloat16 would be off by about 2^-8 relative.
  AutocastGuard autocast(kBFloat16);
  const std::int64_t M = 3, K = 5, N = 2;
  Tensor x64 = randn({M, K}, kFloat64), y64 = randn({K, N}, kFloat64);
  const std::vector<double> xs = x64.to_vector<double>(), ys = y64.to_vector<double>();
  std::vector<double> product64(M * N, 0.0);
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j)
      for (std::int64_t k = 0; k < K; ++k) product64[i * N + j] += xs[i * K + k] * ys[k * N + j];
  Tensor out64 = matmul(x64, y64);
  CHECK(out64.dtype() == kFloat64);
  check_values(out64, product64, 1e-13);
  CHECK_ERROR_CONTAINS(AutocastGuard(kFloat64), "autocast", "bfloat16", "float64");
}

TEST_CASE("autocast: a tiny CausalLM trains under bfloat16 autocast as it does in float32") {
  nn::TransformerConfig config;
  config.vocab_size = 11;
  config.d_model = 32;
  config.heads = 4;
  config.d_ff = 64;
  config.decoder_layers = 2;
  config.dropout = 0.0;
  config.attention = nn::AttentionKind::Linear;
  manual_seed(41);
  Tensor seq = randint(1, 11, {8, 13});
  Tensor inputs = seq.narrow(1, 0, 12), targets = seq.narrow(1, 1, 12).contiguous();
  double final_loss[2] = {0, 0};
  for (int use_autocast = 0; use_autocast < 2; ++use_autocast) {
    manual_seed(42);
    nn::CausalLM model(config);
    optim::Adam adam(model.parameters(), optim::AdamOptions{.lr = 3e-3});
    for (int step = 0; step < 60; ++step) {
      Tensor loss;
      {
        AutocastGuard autocast(kBFloat16, use_autocast == 1);
        loss = cross_entropy(model.forward(inputs), targets);
      }
      CHECK(loss.dtype() == kFloat32);
      adam.zero_grad();
      loss.backward();
      adam.step();
      final_loss[use_autocast] = loss.item<double>();
    }
    for (const auto& [name, p] : model.named_parameters()) {
      INFO(name);
      CHECK(p.dtype() == kFloat32);
      CHECK(p.grad().dtype() == kFloat32);
    }
  }
  INFO("float32 loss " << final_loss[0] << ", autocast loss " << final_loss[1]);
  CHECK(final_loss[1] < 1.0);  // from ln(11) = 2.4
  CHECK(std::abs(final_loss[1] - final_loss[0]) < 0.1 * final_loss[0] + 0.05);
}

TEST_CASE("bfloat16: safetensors stores BF16 bit for bit") {
  const std::filesystem::path path = std::filesystem::temp_directory_path() / "ember_test_bf16.safetensors";
  Tensor b = randn({3, 4}).to(kBFloat16);
  nn::save_safetensors({{"b", b}}, path.string());
  nn::StateDict loaded = nn::load_safetensors(path.string());
  std::filesystem::remove(path);
  REQUIRE(loaded.count("b") == 1);
  CHECK(loaded.at("b").dtype() == kBFloat16);
  check_values(loaded.at("b"), b.to_vector<double>(), 0);
}
