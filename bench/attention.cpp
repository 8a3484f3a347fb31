// Attention forward+backward benchmark: Ember's causal/non-causal linear attention and softmax
// attention (fused, or the unfused reference formula) at B, H, D given, over a list of sequence lengths. Prints CSV (see bench/common.h).
// Useful flops: softmax fwd+bwd ~ 12 B H N^2 D (half when causal), linear ~ 12 B H N D M.
//   attention_bench --kind linear --causal --n 1024,4096,65536
#include <CLI/CLI.hpp>

#include <ember/ember.h>

#include "common.h"

using namespace ember;

namespace {

Tensor attention(const std::string& kind, bool causal, const Tensor& q, const Tensor& k, const Tensor& v) {
  if (kind == "linear") {
    if (causal) return causal_linear_attention(q, k, v);
    Tensor state = matmul(k.transpose(-1, -2), v);
    Tensor z = sum(k, {2}).unsqueeze(-1);
    return matmul(q, state) / (matmul(q, z) + 1e-6);
  }
  if (kind == "softmax") return scaled_dot_product_attention(q, k, v, {.causal = causal});
  // softmax_unfused: the textbook formula, materialising the N x N scores (the reference path).
  Tensor scores = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  if (causal) {
    const std::int64_t n = q.size(2);
    scores = masked_fill(scores, triu(ones({n, n}), 1), -std::numeric_limits<double>::infinity());
  }
  return matmul(softmax(scores, -1), v);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Ember attention forward+backward benchmark (CSV on stdout)"};
  std::string kind = "linear";
  bool causal = false;
  std::vector<std::int64_t> lengths{1024, 4096};
  std::int64_t B = 1, H = 8, D = 64;
  int warmup = 1, repeats = 3, threads = 0;
  app.add_option("--kind", kind, "softmax (fused), softmax_unfused or linear")
      ->check(CLI::IsMember({"softmax", "softmax_unfused", "linear"}));
  app.add_flag("--causal", causal, "causal masking");
  app.add_option("--n", lengths, "sequence lengths")->delimiter(',');
  app.add_option("--batch", B, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--heads", H, "heads")->check(CLI::PositiveNumber);
  app.add_option("--dim", D, "head dim (D = M)")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "unmeasured runs")->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", repeats, "measured runs (median)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "OpenMP threads (0: default)")->check(CLI::NonNegativeNumber);
  bool header = true;
  app.add_flag("!--no-header", header, "omit the CSV header");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_num_threads(threads);
  fmt::print(stderr, "threads: {}\n", get_num_threads());
  if (header) fmt::print("{}\n", bench::kCsvHeader);
  manual_seed(0);
  for (std::int64_t N : lengths) {
    // Positive features, as phi(x) = elu(x) + 1 would give.
    Tensor q = (rand({B, H, N, D}) + 0.1).detach().requires_grad_();
    Tensor k = (rand({B, H, N, D}) + 0.1).detach().requires_grad_();
    Tensor v = randn({B, H, N, D}).requires_grad_();
    Tensor g = randn({B, H, N, D});
    auto step = [&] {
      Tensor out = attention(kind, causal, q, k, v);
      out.backward(g);
      for (Tensor* t : {&q, &k, &v}) t->set_grad(Tensor());
    };
    bench::Row row;
    row.op = "attention_fwd_bwd";
    row.kind = kind;
    row.causal = causal;
    row.B = B, row.H = H, row.N = N, row.D = D;
    row.seconds = bench::median_seconds(step, warmup, repeats);
    const double bhn = double(B) * H * N;
    row.flops = kind == "linear" ? 12.0 * bhn * D * D : 12.0 * bhn * N * D * (causal ? 0.5 : 1.0);
    bench::print_row(row);
  }
}
