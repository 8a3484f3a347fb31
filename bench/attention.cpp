// `ember_bench attention`: forward+backward of causal/non-causal linear attention and softmax
// attention (fused, or the unfused textbook formula) over a list of sequence lengths.
// Useful flops: softmax fwd+bwd ~ 12 B H N^2 D (half when causal), linear ~ 12 B H N D M.
// --device cuda times on the GPU (synchronising after each step); --precision bf16 runs the
// forward under bfloat16 autocast and reports the kind as "<kind>-bf16".
#include <cmath>
#include <limits>

#include <ember/ember.h>

#include "bench.h"
#include "common.h"

namespace ember::bench {

namespace {

Tensor attention(const std::string& kind, bool causal, std::int64_t chunk, const Tensor& q, const Tensor& k,
                 const Tensor& v) {
  if (kind == "linear") {
    if (causal) return causal_linear_attention(q, k, v, 1e-6, chunk);
    Tensor state = matmul(k.transpose(-1, -2), v);
    Tensor z = sum(k, {2}).unsqueeze(-1);
    return matmul(q, state) / (matmul(q, z) + 1e-6);
  }
  if (kind == "softmax") return scaled_dot_product_attention(q, k, v, {.causal = causal});
  // softmax_unfused: materialises the N x N scores (the reference path).
  Tensor scores = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  if (causal) {
    const std::int64_t n = q.size(2);
    scores = masked_fill(scores, triu(ones({n, n}, q.device()), 1), -std::numeric_limits<double>::infinity());
  }
  return matmul(softmax(scores, -1), v);
}

struct AttentionOptions {
  CommonOptions common;
  std::string kind = "linear";
  bool causal = false;
  std::vector<std::int64_t> lengths{1024, 4096};
  std::int64_t B = 1, H = 8, D = 64;
  std::int64_t chunk = 0;  // causal linear attention's chunk size; 0: the library's default for the device
  std::string device = "cpu", precision = "fp32";
};

void run(const AttentionOptions& o) {
  const Device device = o.device == "cuda" ? Device(kCUDA) : Device(kCPU);
  EMBER_CHECK(!device.is_cuda() || cuda_is_available(), "attention: --device cuda but no CUDA device");
  begin(o.common);
  const bool bf16 = o.precision == "bf16";
  manual_seed(0);
  for (std::int64_t N : o.lengths) {
    // Positive features, as phi(x) = elu(x) + 1 would give.
    Tensor q = (rand({o.B, o.H, N, o.D}) + 0.1).to(device).detach().requires_grad_();
    Tensor k = (rand({o.B, o.H, N, o.D}) + 0.1).to(device).detach().requires_grad_();
    Tensor v = randn({o.B, o.H, N, o.D}).to(device).requires_grad_();
    Tensor g = randn({o.B, o.H, N, o.D}).to(device);
    auto step = [&] {
      Tensor out;
      {
        AutocastGuard autocast(kBFloat16, bf16);
        out = attention(o.kind, o.causal, o.chunk, q, k, v);
      }
      out.backward(g);
      for (Tensor* t : {&q, &k, &v}) t->set_grad(Tensor());
      synchronize(device);
    };
    Row row;
    row.op = "attention_fwd_bwd";
    row.kind = bf16 ? o.kind + "-bf16" : o.kind;
    row.causal = o.causal;
    row.B = o.B, row.H = o.H, row.N = N, row.D = o.D;
    row.seconds = median_seconds(step, o.common.warmup, o.common.repeats);
    const double bhn = double(o.B) * o.H * N;
    row.flops = o.kind == "linear" ? 12.0 * bhn * o.D * o.D : 12.0 * bhn * N * o.D * (o.causal ? 0.5 : 1.0);
    print_row(row);
  }
}

}  // namespace

void add_attention_command(CLI::App& app) {
  auto o = std::make_shared<AttentionOptions>();
  CLI::App* cmd = app.add_subcommand("attention", "attention forward+backward");
  cmd->add_option("--kind", o->kind, "softmax (fused), softmax_unfused or linear")
      ->check(CLI::IsMember({"softmax", "softmax_unfused", "linear"}));
  cmd->add_flag("--causal", o->causal, "causal masking");
  cmd->add_option("--n", o->lengths, "sequence lengths")->delimiter(',');
  cmd->add_option("--batch", o->B, "batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--heads", o->H, "heads")->check(CLI::PositiveNumber);
  cmd->add_option("--dim", o->D, "head dim (D = M)")->check(CLI::PositiveNumber);
  cmd->add_option("--chunk", o->chunk, "chunk size of causal linear attention (0: the device's default, 32 CPU / 64 CUDA)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--precision", o->precision, "fp32, or bf16 (autocast)")->check(CLI::IsMember({"fp32", "bf16"}));
  add_common_options(cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace ember::bench
