// cuDNN's attention graphs (cuda/cudnn_sdpa.cpp) described without a GPU: every tensor, node and
// operation descriptor of the forward and backward graphs is created and finalized, and cuDNN
// checks each as it finalizes (attribute types, the shapes a matmul or pointwise node joins, the
// inputs a mode needs). What needs a GPU (cuDNN accepting the whole graph, the results) is in the
// cuda-labelled tests. Only built with cuDNN.
#include "helpers.h"

#ifdef EMBER_WITH_CUDNN
#include "cuda/cudnn_graph.h"
#include "cuda/cudnn_sdpa.h"
#include "ops/copy.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("cuDNN attention graphs: every descriptor of forward and backward finalizes") {
  manual_seed(83);
  struct Case {
    std::int64_t Nq, Nk, D;
    bool causal;
  };
  for (const Case& c : {Case{96, 96, 64, false}, Case{96, 96, 64, true}, Case{130, 130, 128, true},
                        Case{40, 72, 64, false}}) {
    INFO("Nq = " << c.Nq << ", Nk = " << c.Nk << ", D = " << c.D << ", causal = " << c.causal);
    const TensorOptions bf16(kBFloat16);
    auto make = [&](std::int64_t N) { return randn({2, 4, N, c.D}).to(kBFloat16); };
    // q, k, v as MultiHeadAttention passes them: heads split from projections (strided).
    Tensor q = make(c.Nq).transpose(1, 2).contiguous().transpose(1, 2), k = make(c.Nk), v = make(c.Nk);
    Tensor out = empty_heads_last(2, 4, c.Nq, c.D, bf16), g = make(c.Nq);
    Tensor dq = empty_heads_last(2, 4, c.Nq, c.D, bf16), dk = empty_heads_last(2, 4, c.Nk, c.D, bf16);
    Tensor dv = empty_heads_last(2, 4, c.Nk, c.D, bf16);
    CHECK_NOTHROW(cuda::describe_cudnn_sdpa_graphs(q, k, v, out, g, dq, dk, dv, c.causal));
  }
}

TEST_CASE("cuDNN attention graphs: cuDNN rejects a malformed node, so the check above can fail") {
  using Spec = cuda::CudnnGraphBuilder::TensorSpec;
  cuda::CudnnGraphBuilder g;
  g.real(1, Spec{{1, 1, 8, 16}, cuda::CudnnGraphBuilder::packed({1, 1, 8, 16}), CUDNN_DATA_BFLOAT16});
  g.real(2, Spec{{1, 1, 24, 8}, cuda::CudnnGraphBuilder::packed({1, 1, 24, 8}), CUDNN_DATA_BFLOAT16});
  const std::int64_t product = g.virt(Spec{{1, 1, 8, 8}, cuda::CudnnGraphBuilder::packed({1, 1, 8, 8})});
  CHECK_THROWS_WITH_AS(g.matmul(1, 2, product), doctest::Contains("cuDNN error in cudnnBackendFinalize"), Error);
}
#endif
