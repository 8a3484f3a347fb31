// `ember_bench generate`: per-token time of one attention layer in generation mode at a given
// position: linear attention's RNN step (state S, Z) against softmax with a KV cache. The caches
// are filled with random values up to the position instead of generating that many tokens.
// Row: op = generate_token, kind, N = position, H = heads, D = d_model; seconds per token.
#include <ember/ember.h>

#include "bench.h"
#include "common.h"

namespace ember::bench {

namespace {

struct GenerateOptions {
  CommonOptions common;
  std::string kind = "linear";
  std::int64_t d_model = 512, heads = 8, tokens = 16;
  std::vector<std::int64_t> positions{64, 1024, 16384, 65536};
};

void run(const GenerateOptions& o) {
  begin(o.common);
  manual_seed(0);
  NoGradGuard no_grad;
  nn::AttentionOptions options;
  options.kind = nn::parse_attention_kind(o.kind);
  options.causal = true;
  nn::MultiHeadAttention attention(o.d_model, o.heads, options);
  attention.eval();
  const std::int64_t Dh = o.d_model / o.heads;
  for (std::int64_t position : o.positions) {
    nn::AttentionCache cache;
    auto fill = [&] {
      cache = nn::AttentionCache();
      if (options.kind == nn::AttentionKind::Softmax) {
        // Room for the measured tokens, so no cache growth is timed.
        const std::int64_t capacity = position + (o.common.warmup + o.common.repeats + 1) * o.tokens;
        cache.keys = randn({1, o.heads, capacity, Dh});
        cache.values = randn({1, o.heads, capacity, Dh});
      } else {
        cache.state = rand({1, o.heads, Dh, Dh});
        cache.normalizer = rand({1, o.heads, Dh, 1}) * static_cast<double>(position);
      }
      cache.length = position;
    };
    fill();
    Tensor x = randn({1, 1, o.d_model});
    Row row;
    row.op = "generate_token";
    row.kind = o.kind;
    row.causal = true;
    row.B = 1, row.H = o.heads, row.N = position, row.D = o.d_model;
    row.seconds = median_seconds([&] {
      for (std::int64_t t = 0; t < o.tokens; ++t) attention.forward_step(x, cache);
    }, o.common.warmup, o.common.repeats) / static_cast<double>(o.tokens);
    print_row(row);
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "per-token generation time at given positions");
  cmd->add_option("--kind", o->kind, "softmax (KV cache) or linear (RNN state)")->check(CLI::IsMember({"softmax", "linear"}));
  cmd->add_option("--d-model", o->d_model, "model width")->check(CLI::PositiveNumber);
  cmd->add_option("--heads", o->heads, "heads")->check(CLI::PositiveNumber);
  cmd->add_option("--tokens", o->tokens, "tokens per measured run")->check(CLI::PositiveNumber);
  cmd->add_option("--positions", o->positions, "positions")->delimiter(',');
  add_common_options(cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace ember::bench
