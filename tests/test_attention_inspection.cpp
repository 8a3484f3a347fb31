// Attention introspection (nn/attention_inspection.h, nn/attention_metrics.h): the recorded
// matrices reproduce the layer's output and are row-stochastic, the metrics are right on
// hand-made matrices, and recording is off by default, selective and confined to its thread.
#include <cmath>
#include <memory>
#include <thread>

#include "nn_helpers.h"
#include "ops/error_rows.h"

using namespace ember;
using namespace ember::testing;

namespace {

constexpr std::int64_t kDModel = 8, kHeads = 2, kHeadDim = kDModel / kHeads;

std::shared_ptr<nn::MultiHeadAttention> make_attention(nn::AttentionKind kind, bool causal) {
  nn::AttentionOptions options;
  options.kind = kind;
  options.causal = causal;
  auto mha = std::make_shared<nn::MultiHeadAttention>(kDModel, kHeads, options);
  mha->to(kFloat64);
  return mha;
}

// The layer's output rebuilt from the recorded matrices: out(merge_heads(A_h V_h)).
Tensor output_from_matrices(nn::MultiHeadAttention& mha, const nn::AttentionRecorder& recorder, const Tensor& key) {
  NoGradGuard no_grad;
  const Tensor V = (*mha.v)(key);  // (B, Nk, H * Dh)
  std::vector<Tensor> heads;
  for (std::int64_t h = 0; h < kHeads; ++h) {
    const Tensor a = nn::attention_matrices(recorder.record(0, h));                 // (B, Nq, Nk)
    heads.push_back(matmul(a, V.narrow(2, h * kHeadDim, kHeadDim).contiguous()));  // (B, Nq, Dh)
  }
  return (*mha.out)(cat(heads, 2));
}

double max_row_sum_error(const Tensor& a) {
  return max(abs(sum(a, {-1}) - 1.0)).item<double>();  // over (B, Nq) rows
}

const nn::AttentionKind kKinds[] = {nn::AttentionKind::Softmax, nn::AttentionKind::Linear};

// A record of hand-made queries and keys (the recorder's own checks are reached through forward).
nn::AttentionRecord record_of(const Shape& queries, const Shape& keys, bool causal = false, Tensor key_lengths = {}) {
  nn::AttentionRecord record;
  record.queries = ones(queries, kFloat64);
  record.keys = ones(keys, kFloat64);
  record.causal = causal;
  record.key_lengths = std::move(key_lengths);
  return record;
}

// Bad inputs of the recorder, the matrices and the metrics (tests/ops/error_rows.h).
std::vector<ErrorRow> inspection_error_rows() {
  const Tensor rows = from_vector<double>({1, 0, 0.25, 0.75, 0.5, 0.5}, {3, 2});
  return {
      {"AttentionRecorder: queries without heads",
       [] { nn::AttentionRecorder r; r.record_softmax(ones({2, 3, 4}), ones({2, 3, 4}), {}, false); },
       {"AttentionRecorder", "[2, 3, 4]"}},
      {"AttentionRecorder: a head the layer lacks",
       [] {
         nn::AttentionRecorder r({.heads = {3}});
         r.record_linear(ones({1, 2, 3, 4}), ones({1, 2, 3, 4}), true, 1e-6);
       },
       {"AttentionRecorder", "head 3", "2 heads"}},
      {"attention_matrices: 4-D queries", [] { nn::attention_matrices(record_of({1, 1, 3, 4}, {1, 3, 4})); },
       {"attention_matrices", "[1, 1, 3, 4]", "[1, 3, 4]"}},
      {"attention_matrices: causal with Nq != Nk",
       [] { nn::attention_matrices(record_of({1, 2, 4}, {1, 3, 4}, true)); },
       {"attention_matrices", "causal", "2 and 3"}},
      {"attention_matrices: key lengths of another batch",
       [] { nn::attention_matrices(record_of({2, 3, 4}, {2, 3, 4}, false, from_vector<std::int64_t>({3}))); },
       {"attention_matrices", "key_lengths", "[1]"}},
      {"attention_entropy: 3-D", [] { nn::attention_entropy(ones({2, 2, 2}, kFloat64)); },
       {"attention_entropy", "2-D float64", "[2, 2, 2]"}},
      {"effective_rank: float32", [] { nn::effective_rank(ones({2, 2})); }, {"effective_rank", "float32"}},
      {"attention_entropy: no rows", [] { nn::attention_entropy(ones({0, 2}, kFloat64)); },
       {"attention_entropy", "[0, 2]", "no rows"}},
      {"effective_rank: zero matrix", [] { nn::effective_rank(zeros({2, 3}, kFloat64)); },
       {"effective_rank", "[2, 3]", "zero"}},
      {"effective_rank: a NaN", [] { nn::effective_rank(tensor({1.0, NAN}).reshape({1, 2}).to(kFloat64)); },
       {"effective_rank", "[1, 2]", "NaN or an infinity"}},
      {"copy_diagonal_mass: too few positions", [rows] { nn::copy_diagonal_mass(rows, {0}); },
       {"copy_diagonal_mass", "1 source positions", "3 rows"}},
      {"copy_diagonal_mass: key out of range", [rows] { nn::copy_diagonal_mass(rows, {0, 2, 0}); },
       {"copy_diagonal_mass", "copies key 2", "2 keys"}},
      {"copy_diagonal_mass: nothing copied", [rows] { nn::copy_diagonal_mass(rows, {-1, -1, -1}); },
       {"copy_diagonal_mass", "no query copies"}},
      {"attention_distance: different shapes", [rows] { nn::attention_distance(rows, ones({2, 3}, kFloat64)); },
       {"attention_distance", "[3, 2] and [2, 3]"}},
  };
}
[[maybe_unused]] const bool registered = register_error_rows(inspection_error_rows);

}  // namespace

TEST_CASE("attention inspection: recorded matrix times V is the layer's output, rows sum to 1") {
  manual_seed(21);
  for (auto kind : kKinds) {
    for (bool causal : {false, true}) {
      INFO(nn::attention_kind_name(kind) << " causal=" << causal);
      auto mha = make_attention(kind, causal);
      Tensor x = randn({2, 7, kDModel}, kFloat64);
      nn::AttentionRecorder recorder;
      const Tensor out = mha->forward(x, x, x);
      REQUIRE(recorder.records().size() == std::size_t(kHeads));
      CHECK(max(abs(out - output_from_matrices(*mha, recorder, x))).item<double>() < 1e-5);
      for (const auto& record : recorder.records()) {
        const Tensor a = nn::attention_matrices(record);
        CHECK(a.shape() == Shape{2, 7, 7});
        CHECK(max_row_sum_error(a) < 1e-5);
        CHECK(max(-a).item<double>() <= 0.0);  // no negative weight
        if (causal) CHECK(max(abs(triu(a, 1))).item<double>() == 0.0);  // no weight on later keys
      }
    }
  }
}

TEST_CASE("attention inspection: key padding, cross-attention shapes") {
  manual_seed(22);
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    auto mha = make_attention(kind, false);
    Tensor q = randn({2, 3, kDModel}, kFloat64), memory = randn({2, 6, kDModel}, kFloat64);
    nn::AttentionRecorder recorder;
    const Tensor out = mha->forward(q, memory, memory, from_vector<std::int64_t>({4, 6}));
    CHECK(max(abs(out - output_from_matrices(*mha, recorder, memory))).item<double>() < 1e-5);
    const Tensor a = nn::attention_matrices(recorder.record(0, 1));  // (B, 3, 6)
    CHECK(a.shape() == Shape{2, 3, 6});
    CHECK(max(abs(a.select(0, 0).narrow(1, 4, 2))).item<double>() == 0.0);  // padded keys of sequence 0
    CHECK(max_row_sum_error(a) < 1e-5);
  }
}

TEST_CASE("attention inspection: only the chosen layers and heads, detached, nothing without a recorder") {
  manual_seed(23);
  nn::TransformerConfig config;
  config.vocab_size = 11;
  config.d_model = kDModel;
  config.heads = kHeads;
  config.decoder_layers = 3;
  config.d_ff = 8;
  config.dropout = 0;
  nn::CausalLM model(config);
  Tensor tokens = randint(0, 11, {2, 5});
  CHECK(nn::AttentionRecorder::active() == nullptr);
  model.forward(tokens);  // no recorder: nothing to look at, nothing kept
  {
    nn::AttentionRecorder recorder({.layers = {0, 2}, .heads = {1}});
    CHECK(nn::AttentionRecorder::active() == &recorder);
    Tensor loss = sum(model.forward(tokens));
    loss.backward();  // recording under grad mode leaves training untouched
    CHECK(recorder.layers_seen() == 3);
    REQUIRE(recorder.records().size() == 2);
    CHECK(recorder.records()[0].layer == 0);
    CHECK(recorder.records()[1].layer == 2);
    for (const auto& record : recorder.records()) {
      CHECK(record.head == 1);
      CHECK_FALSE(record.queries.requires_grad());
      CHECK(record.queries.grad_fn() == nullptr);
    }
    CHECK_THROWS_AS(recorder.record(1, 1), Error);
    {
      nn::AttentionRecorder inner;  // nested: the inner one records, the outer one waits
      model.forward(tokens);
      CHECK(inner.records().size() == std::size_t(3 * kHeads));
      CHECK(recorder.layers_seen() == 3);
    }
    CHECK(nn::AttentionRecorder::active() == &recorder);
  }
  CHECK(nn::AttentionRecorder::active() == nullptr);
  {
    nn::AttentionRecorder too_many_heads({.heads = {kHeads}});
    CHECK_THROWS_WITH_AS(model.forward(tokens), doctest::Contains("head 2 was asked for"), Error);
  }
}

TEST_CASE("attention inspection: recorders destroyed out of order leave no dangling recorder") {
  auto first = std::make_unique<nn::AttentionRecorder>();
  {
    nn::AttentionRecorder second;
    first.reset();  // the outer one goes first
    CHECK(nn::AttentionRecorder::active() == &second);
  }
  CHECK(nn::AttentionRecorder::active() == nullptr);
}

TEST_CASE("attention inspection: a recorder in one thread does not record another thread's forward") {
  manual_seed(24);
  auto mha = make_attention(nn::AttentionKind::Linear, true);
  Tensor x = randn({1, 4, kDModel}, kFloat64);
  nn::AttentionRecorder recorder;
  bool other_thread_saw_recorder = true;
  std::thread other([&] {
    other_thread_saw_recorder = nn::AttentionRecorder::active() != nullptr;
    NoGradGuard no_grad;
    mha->forward(x, x, x);
  });
  other.join();
  CHECK_FALSE(other_thread_saw_recorder);
  CHECK(recorder.records().empty());
  CHECK(recorder.layers_seen() == 0);
  mha->forward(x, x, x);
  CHECK(recorder.records().size() == std::size_t(kHeads));
}

TEST_CASE("attention metrics: identity and uniform matrices") {
  for (std::int64_t n : {1, 5, 16}) {
    INFO("N = " << n);
    Tensor identity = zeros({n, n}, kFloat64);
    for (std::int64_t i = 0; i < n; ++i) identity.select(0, i).select(0, i).fill_(1.0);
    const Tensor uniform = full({n, n}, 1.0 / static_cast<double>(n), kFloat64);
    CHECK(nn::attention_entropy(identity) == doctest::Approx(0.0));
    CHECK(nn::effective_rank(identity) == doctest::Approx(static_cast<double>(n)).epsilon(1e-12));
    CHECK(nn::attention_entropy(uniform) == doctest::Approx(std::log(static_cast<double>(n))).epsilon(1e-12));
    CHECK(nn::effective_rank(uniform) == doctest::Approx(1.0).epsilon(1e-9));
    std::vector<std::int64_t> diagonal(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) diagonal[static_cast<std::size_t>(i)] = i;
    CHECK(nn::copy_diagonal_mass(identity, diagonal) == doctest::Approx(1.0));
    CHECK(nn::copy_diagonal_mass(uniform, diagonal) == doctest::Approx(1.0 / static_cast<double>(n)));
    CHECK(nn::attention_distance(identity, identity) == 0.0);
    // Each row of I - U has n - 1 entries 1/n and one 1 - 1/n: squared norm (n - 1)/n.
    CHECK(nn::attention_distance(identity, uniform) ==
          doctest::Approx(std::sqrt(static_cast<double>(n - 1) / static_cast<double>(n))));
  }
}

TEST_CASE("attention metrics: singular values of a known matrix, copy mass skips rows") {
  // Rows of an orthogonal matrix (a rotation by 0.3 in the first two coordinates) scaled by 3, 2, 0.5.
  const double c = std::cos(0.3), s = std::sin(0.3);
  Tensor a = from_vector<double>({3 * c, -3 * s, 0, 2 * s, 2 * c, 0, 0, 0, 0.5}, {3, 3});
  std::vector<double> sigma = nn::singular_values(a);
  REQUIRE(sigma.size() == 3);
  CHECK(sigma[0] == doctest::Approx(3.0).epsilon(1e-12));
  CHECK(sigma[1] == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(sigma[2] == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(nn::singular_values(randn({4, 9}, kFloat64)).size() == 4);  // wide: min(M, N) values
  const Tensor rows = from_vector<double>({1, 0, 0.25, 0.75, 0.5, 0.5}, {3, 2});
  CHECK(nn::copy_diagonal_mass(rows, {-1, 1, 0}) == doctest::Approx((0.75 + 0.5) / 2));
}

TEST_CASE("attention inspection: a CUDA layer's records give the CPU layer's matrices") {
  EMBER_REQUIRE_CUDA();
  manual_seed(25);
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    nn::AttentionOptions options;
    options.kind = kind;
    options.causal = true;
    nn::MultiHeadAttention mha(kDModel, kHeads, options);
    Tensor x = randn({2, 6, kDModel});
    Tensor on_cpu, on_cuda;
    {
      nn::AttentionRecorder recorder;
      mha.forward(x, x, x);
      on_cpu = nn::attention_matrices(recorder.record(0, 1));
    }
    mha.to(kCUDA);
    {
      nn::AttentionRecorder recorder;
      mha.forward(x.to(kCUDA), x.to(kCUDA), x.to(kCUDA));
      CHECK(recorder.record(0, 1).queries.device() == kCUDA);
      on_cuda = nn::attention_matrices(recorder.record(0, 1));
    }
    CHECK(on_cuda.device() == kCPU);
    CHECK(max(abs(on_cuda - on_cpu)).item<double>() < 2e-3);  // TF32 projections on CUDA
  }
}

TEST_CASE("attention inspection: bad inputs throw ember::Error naming the function and the shapes") {
  for (const ErrorRow& row : inspection_error_rows()) {
    INFO("row: " << row.what);
    CHECK(run_error_row(row).failure == "");
  }
}
