// The generation step of MultiHeadAttention (forward_step) in float32 at the sizes where its
// kernels change path (heads split across threads, cache growth), and what a step allocates.
// Its float64 parity with the parallel forward is in test_attention.cpp; the ops it runs are in
// the op table (tests/ops/generation_ops.cpp).
#include <atomic>
#include <cstdlib>
#include <new>

#include "helpers.h"

using namespace ember;

namespace {

// Heap allocations through operator new on this thread while counting is on: tensor handles,
// shapes, autograd nodes (tensor data comes from the CPU allocator and is not counted).
std::atomic<long> news{0};
thread_local bool counting = false;

struct CountNews {
  long start = news.load();
  CountNews() { counting = true; }
  ~CountNews() { counting = false; }
  long count() const { return news.load() - start; }
};

nn::AttentionOptions causal(nn::AttentionKind kind) {
  nn::AttentionOptions o;
  o.kind = kind;
  o.causal = true;
  return o;
}

// The largest |a - b| relative to max(|b|, 1).
double relative_gap(const Tensor& a, const Tensor& b) {
  return max(abs(a - b) / (abs(b) + 1.0)).item<double>();
}

}  // namespace

// The sanitizers' runtimes own operator new and delete (ASan reports a replaced pair as an
// alloc-dealloc mismatch): there the counting test is skipped.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EMBER_COUNTS_NEWS 0
#else
#define EMBER_COUNTS_NEWS 1
void* operator new(std::size_t n) {
  if (counting) news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

TEST_CASE("generation step: float32 softmax steps over a cache long enough to split heads across threads") {
  manual_seed(21);
  nn::MultiHeadAttention mha(64, 2, causal(nn::AttentionKind::Softmax));
  mha.eval();
  const std::int64_t N = 600;  // B * H * N * (D + M) passes the kernel's grain after ~512 positions
  Tensor x = randn({2, N, 64});
  Tensor full_out = mha.forward(x, x, x);
  nn::AttentionCache cache;
  double worst = 0;
  for (std::int64_t t = 0; t < N; ++t) worst = std::max(worst, relative_gap(mha.forward_step(x.narrow(1, t, 1), cache), full_out.narrow(1, t, 1)));
  CHECK(worst < 2e-5);
  CHECK(cache.length == N);
  CHECK(cache.keys.size(2) >= N);
}

TEST_CASE("generation step: float32 linear steps with enough heads to split them across threads") {
  manual_seed(22);
  for (const char* map : {"elu_plus_one", "relu", "a user's map"}) {
    INFO(map);
    nn::AttentionOptions o = causal(nn::AttentionKind::Linear);
    if (std::string(map) == "relu") o.feature_map = nn::feature_maps::relu();
    if (std::string(map) == "a user's map") o.feature_map = [](const Tensor& t) { return sigmoid(t); };
    nn::MultiHeadAttention mha(512, 8, o);  // B * H * D * M = 4 * 8 * 64 * 64 passes the grain
    mha.eval();
    Tensor x = randn({4, 6, 512});
    Tensor full_out = mha.forward(x, x, x);
    nn::AttentionCache cache;
    double worst = 0;
    for (std::int64_t t = 0; t < 6; ++t) worst = std::max(worst, relative_gap(mha.forward_step(x.narrow(1, t, 1), cache), full_out.narrow(1, t, 1)));
    CHECK(worst < 2e-5);
  }
}

TEST_CASE("generation step: a step reuses the cache's buffers and allocates only its result") {
  if (!EMBER_COUNTS_NEWS) EMBER_SKIP("operator new is the sanitizer's here: allocations are not counted");
  for (auto kind : {nn::AttentionKind::Softmax, nn::AttentionKind::Linear}) {
    INFO(nn::attention_kind_name(kind));
    manual_seed(23);
    nn::MultiHeadAttention mha(32, 4, causal(kind));
    mha.eval();
    Tensor x = randn({1, 1, 32});
    nn::AttentionCache cache;
    mha.forward_step(x, cache);  // makes the buffers and the cache (capacity 64 for softmax)
    const void* qkv = cache.buffers.qkv.raw_data();
    const void* memory = (kind == nn::AttentionKind::Softmax ? cache.keys : cache.state).raw_data();
    const int steps = 20;
    CountNews news_in_steps;
    for (int t = 0; t < steps; ++t) mha.forward_step(x, cache);
    const long per_step = news_in_steps.count() / steps;
    MESSAGE(nn::attention_kind_name(kind) << ": " << per_step << " operator new calls per step");
    // The returned tensor (its shape argument, shape, strides, handle and storage record); nothing else.
    CHECK(per_step <= 5);
    CHECK(cache.buffers.qkv.raw_data() == qkv);
    CHECK((kind == nn::AttentionKind::Softmax ? cache.keys : cache.state).raw_data() == memory);
  }
}
