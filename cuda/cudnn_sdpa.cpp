// cuDNN fused flash attention for bfloat16 (see cudnn_sdpa.h).
//
// The graphs are cuDNN's flash-attention pattern, which its runtime-fusion engines recognise and
// compile into one kernel (sizes: B batch, H heads, Nq/Nk query/key rows, D head size):
//
// forward:  S = scale q k^T                       (B, H, Nq, Nk) float32, never in memory
//           S = causal ? (row >= col ? S : -inf) : S
//           m = rowmax S, E = exp(S - m), l = rowsum E
//           lse = m + log l                        (B, H, Nq, 1) float32, written
//           out = (E / l in bfloat16) v            (B, H, Nq, D) bfloat16
// backward: delta = rowsum(dO * out)               float32, in the workspace
//           P = exp(masked scale q k^T - lse)
//           dV = P^T dO,  dP = dO v^T,  dS = scale P (dP - delta)
//           dK = dS^T q,  dQ = dS k                (dQ accumulated in float32 in the workspace)
//
// Transposes (k^T, v^T, P^T, dS^T) are strides on the same memory or reshape nodes. Every tensor
// is described with its real strides, so the heads-last outputs and strided inputs need no copies.
// A plan is built once per shape, strides and masking, and cached (a shape no engine takes is
// cached as such). EMBER_CUDNN_DEBUG=1 prints why a call falls back. cuDNN's backward accumulates
// dQ with atomics, so unlike Ember's own kernels it is not bit-for-bit repeatable.
#include "cuda/cudnn_sdpa.h"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/factory.h"
#include "cuda/context.h"
#include "cuda/cudnn_graph.h"

namespace ember::cuda {
namespace {

using Spec = CudnnGraphBuilder::TensorSpec;

// Ids of the tensors passed at execution time.
enum : std::int64_t {
  kQ = 1, kK, kV, kOut, kStats, kScale, kNegInf, kGradOut, kGradQ, kGradK, kGradV, kOne, kDelta, kGradQAccum
};

constexpr std::int64_t kMaxHeadSize = 128;  // cuDNN's flash backward limit outside Hopper

bool decline(const char* direction, const std::string& why) {
  if (cudnn_debug()) std::fprintf(stderr, "ember: cuDNN attention %s not used: %s\n", direction, why.c_str());
  return false;
}

Spec bf16(const Tensor& t) { return {t.shape(), t.strides(), CUDNN_DATA_BFLOAT16}; }

// (B, H, X, Y) as (B, H, Y, X): the same memory read transposed.
Spec transposed(Spec spec) {
  std::swap(spec.dims[2], spec.dims[3]);
  std::swap(spec.strides[2], spec.strides[3]);
  return spec;
}

Spec packed(std::vector<std::int64_t> dims, cudnnDataType_t type = CUDNN_DATA_FLOAT) {
  Spec spec{std::move(dims), {}, type};
  spec.strides = CudnnGraphBuilder::packed(spec.dims);
  return spec;
}

Spec scalar() { return packed({1, 1, 1, 1}); }

// Why cuDNN cannot take these operands, or empty when it can.
std::string unsupported(const std::vector<const Tensor*>& operands, const Tensor& key_lengths,
                        const kernels::SdpaParams& params, std::int64_t D, std::int64_t M) {
  // 9.6 is where cuDNN started clearing the dQ accumulator itself and took dO with its own
  // strides; 9.10.0 and 9.10.1 have broken bfloat16 forward kernels.
  const std::size_t version = cudnnGetVersion();
  if (version < 90600 || version == 91000 || version == 91001)
    return fmt::format("cuDNN {} (needs 9.6 or newer, not 9.10.0/9.10.1)", version);
  if (params.dropout_p > 0) return "dropout";
  if (key_lengths.defined()) return "key_lengths";
  if (D != M || D % 8 != 0 || D > kMaxHeadSize)
    return fmt::format("head sizes D = {}, M = {} (need equal multiples of 8 up to {})", D, M, kMaxHeadSize);
  for (const Tensor* t : operands) {
    if (t->numel() == 0) return "empty operand";
    if (reinterpret_cast<std::uintptr_t>(t->raw_data()) % 16 != 0) return "operand not 16-byte aligned";
    for (std::int64_t d = 0; d < 3; ++d)
      if (t->size(d) > 1 && (t->stride(d) <= 0 || t->stride(d) % 8 != 0))
        return fmt::format("strides {} (need positive multiples of 8)", t->strides());
    if (t->stride(3) != 1) return "last dimension not contiguous";
  }
  const cudaDeviceProp& props = properties(operands.front()->device().index);
  if (props.major < 8) return fmt::format("compute capability {}.{} (needs 8.0 or newer)", props.major, props.minor);
  return {};
}

// scale q k^T (float32, never in memory) from the graph's q, k^T and scale tensors.
std::int64_t scaled_scores(CudnnGraphBuilder& g, const std::vector<std::int64_t>& scores) {
  const std::int64_t raw = g.virt(packed(scores));
  g.matmul(kQ, kK, raw);
  const std::int64_t scaled = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_MUL, raw, scaled, kScale);
  return scaled;
}

// x with the causal mask applied (entries above the diagonal set to causal_mask_fill), or x itself.
std::int64_t causal_masked(CudnnGraphBuilder& g, std::int64_t x, const std::vector<std::int64_t>& scores, bool causal) {
  if (!causal) return x;
  g.real(kNegInf, scalar(), /*by_value=*/true);
  const std::int64_t row = g.virt(packed(scores, CUDNN_DATA_INT32));
  const std::int64_t col = g.virt(packed(scores, CUDNN_DATA_INT32));
  g.pointwise(CUDNN_POINTWISE_GEN_INDEX, x, row, -1, -1, /*axis=*/2);
  g.pointwise(CUDNN_POINTWISE_GEN_INDEX, x, col, -1, -1, /*axis=*/3);
  const std::int64_t keep = g.virt(packed(scores, CUDNN_DATA_BOOLEAN));
  g.pointwise(CUDNN_POINTWISE_CMP_GE, row, keep, col, -1, -1, CUDNN_DATA_BOOLEAN);
  const std::int64_t masked = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_BINARY_SELECT, x, masked, kNegInf, keep);
  return masked;
}

void build_forward(CudnnGraphBuilder& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                   bool causal) {
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), Nk = k.size(2);
  const std::vector<std::int64_t> scores{B, H, Nq, Nk}, rows{B, H, Nq, 1};
  g.real(kQ, bf16(q));
  g.real(kK, transposed(bf16(k)));  // (B, H, D, Nk)
  g.real(kV, bf16(v));
  g.real(kOut, bf16(out));
  g.real(kStats, packed(rows));
  g.real(kScale, scalar(), /*by_value=*/true);
  const std::int64_t s = causal_masked(g, scaled_scores(g, scores), scores, causal);
  const std::int64_t row_max = g.virt(packed(rows));
  g.reduction(CUDNN_REDUCE_TENSOR_MAX, s, row_max);
  const std::int64_t shifted = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_SUB, s, shifted, row_max);
  const std::int64_t e = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_EXP, shifted, e);
  const std::int64_t row_sum = g.virt(packed(rows));
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, e, row_sum);
  const std::int64_t log_sum = g.virt(packed(rows));
  g.pointwise(CUDNN_POINTWISE_LOG, row_sum, log_sum);
  g.pointwise(CUDNN_POINTWISE_ADD, row_max, kStats, log_sum);
  const std::int64_t p = g.virt(packed(scores, CUDNN_DATA_BFLOAT16));  // the second matmul takes bfloat16
  g.pointwise(CUDNN_POINTWISE_DIV, e, p, row_sum);
  g.matmul(p, kV, kOut);
}

void build_backward(CudnnGraphBuilder& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                    const Tensor& grad_out, const Tensor& dq, const Tensor& dk, const Tensor& dv, bool causal) {
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), Nk = k.size(2), D = q.size(3);
  const std::vector<std::int64_t> scores{B, H, Nq, Nk}, rows{B, H, Nq, 1};
  g.real(kQ, bf16(q));
  g.real(kK, transposed(bf16(k)));  // (B, H, D, Nk)
  g.real(kV, transposed(bf16(v)));  // (B, H, M, Nk)
  g.real(kOut, bf16(out));
  g.real(kGradOut, bf16(grad_out));
  g.real(kStats, packed(rows));
  g.real(kGradQ, bf16(dq));
  g.real(kGradK, bf16(dk));
  g.real(kGradV, bf16(dv));
  g.real(kScale, scalar(), /*by_value=*/true);
  g.real(kOne, scalar(), /*by_value=*/true);
  g.real(kDelta, packed(rows));                 // workspace
  g.real(kGradQAccum, packed({B, H, Nq, D}));  // workspace

  // delta = rowsum(dO * out), written (times one, the pattern's dropout scale) for the kernel.
  const std::int64_t products = g.virt(packed({B, H, Nq, D}));
  g.pointwise(CUDNN_POINTWISE_MUL, kGradOut, products, kOut);
  const std::int64_t delta = g.virt(packed(rows));
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, products, delta);
  g.pointwise(CUDNN_POINTWISE_MUL, delta, kDelta, kOne);

  // P = exp(masked scale q k^T - lse)
  const std::int64_t shifted = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_SUB, scaled_scores(g, scores), shifted, kStats);
  const std::int64_t masked = causal_masked(g, shifted, scores, causal);
  const std::int64_t p = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_EXP, masked, p);

  // dV = P^T dO
  const std::int64_t p_t = g.virt(transposed(packed(scores, CUDNN_DATA_BFLOAT16)));  // (B, H, Nk, Nq)
  g.reshape(p, p_t);
  g.matmul(p_t, kGradOut, kGradV);

  // dS = scale P (dO v^T - delta)
  const std::int64_t dp = g.virt(packed(scores));
  g.matmul(kGradOut, kV, dp);
  const std::int64_t centred = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_SUB, dp, centred, kDelta);
  const std::int64_t weighted = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_MUL, centred, weighted, p);
  const std::int64_t ds = g.virt(packed(scores));
  g.pointwise(CUDNN_POINTWISE_MUL, weighted, ds, kScale);

  // dK = dS^T q
  const std::int64_t ds_t = g.virt(transposed(packed(scores, CUDNN_DATA_BFLOAT16)));  // (B, H, Nk, Nq)
  g.reshape(ds, ds_t);
  g.matmul(ds_t, kQ, kGradK);

  // dQ = dS k, accumulated in float32, then rounded into dq.
  Spec k_rows = bf16(k);  // (B, H, Nk, D): k untransposed, as a node of its own (one id, one descriptor)
  k_rows.type = CUDNN_DATA_FLOAT;
  const std::int64_t k_view = g.virt(k_rows);
  g.reshape(kK, k_view);
  g.matmul(ds, k_view, kGradQAccum);
  g.pointwise(CUDNN_POINTWISE_IDENTITY, kGradQAccum, kGradQ);
}

// Plans by (direction, device, masking, shapes, strides); a null entry: no engine takes it. One
// entry per distinct shape, which suits training at fixed shapes; a plan holds no device memory.
class PlanCache {
 public:
  // The cached plan, or a new one built (outside the lock: it may compile a kernel). Throws for a
  // failure that may be transient (not cached).
  template <typename Build>
  std::shared_ptr<const CudnnPlan> get(const std::vector<std::int64_t>& key, cudnnHandle_t handle, Build&& build) {
    {
      std::lock_guard lock(mutex_);
      auto it = plans_.find(key);
      if (it != plans_.end()) return it->second;
    }
    std::shared_ptr<const CudnnPlan> plan;
    CudnnGraphBuilder g;
    build(g);
    if (auto built = g.build(handle)) plan = std::make_shared<const CudnnPlan>(std::move(*built));
    std::lock_guard lock(mutex_);
    return plans_.emplace(key, plan).first->second;
  }
  // Held while a plan runs: cuDNN does not promise that one plan can run from two threads at once.
  std::mutex& execute_mutex() { return execute_mutex_; }

 private:
  std::mutex mutex_, execute_mutex_;
  std::map<std::vector<std::int64_t>, std::shared_ptr<const CudnnPlan>> plans_;
};

PlanCache& plan_cache() {
  static auto* cache = new PlanCache;  // never destroyed, like the handles its plans were built on
  return *cache;
}

// The plan for `key`, or null (with the reason reported) when cuDNN does not take the graph or
// building it failed.
template <typename Build>
std::shared_ptr<const CudnnPlan> find_plan(const char* direction, const std::vector<std::int64_t>& key,
                                           cudnnHandle_t handle, Build&& build) {
  try {
    auto plan = plan_cache().get(key, handle, build);
    if (!plan) decline(direction, "no cuDNN engine for this graph");
    return plan;
  } catch (const CudnnEnvironmentError& e) {
    // Not cached (PlanCache::get caches only what build returns): said once, whatever the debug
    // setting, since every bfloat16 attention call will now take the slower path.
    static std::once_flag said;
    std::call_once(said, [&] {
      std::fprintf(stderr, "ember: cuDNN's fused attention cannot run on this machine (%s); bfloat16 attention "
                           "uses Ember's own kernel. Is NVRTC (libnvrtc) installed?\n", e.what());
    });
    decline(direction, e.what());
    return nullptr;
  } catch (const Error& e) {
    decline(direction, e.what());
    return nullptr;
  }
}

std::vector<std::int64_t> cache_key(std::int64_t direction, const std::vector<const Tensor*>& operands, bool causal) {
  std::vector<std::int64_t> key{direction, operands.front()->device().index, causal ? 1 : 0};
  for (const Tensor* t : operands) {
    key.insert(key.end(), t->shape().begin(), t->shape().end());
    key.insert(key.end(), t->strides().begin(), t->strides().end());
  }
  return key;
}

std::int64_t round_up(std::int64_t bytes) { return (bytes + 255) / 256 * 256; }

// Device scratch of at least `bytes` (256-byte aligned by the allocator).
Tensor workspace(std::int64_t bytes, Device device) {
  return empty({std::max<std::int64_t>(1, (bytes + 3) / 4)}, TensorOptions(kFloat32, device));
}

}  // namespace

float causal_mask_fill(std::size_t cudnn_version) {
  return cudnn_version < 91000 ? std::numeric_limits<float>::lowest() : -std::numeric_limits<float>::infinity();
}

void describe_cudnn_sdpa_graphs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv, bool causal) {
  CudnnGraphBuilder forward, backward;
  build_forward(forward, q, k, v, out, causal);
  build_backward(backward, q, k, v, out, g, dq, dk, dv, causal);
}

bool cudnn_sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                        const Tensor& out, const Tensor& lse, const kernels::SdpaParams& params) {
  const std::vector<const Tensor*> operands{&q, &k, &v, &out};
  const std::string why = unsupported(operands, key_lengths, params, q.size(3), v.size(3));
  if (!why.empty()) return decline("forward", why);
  const int device = q.device().index;
  launch_stream(q.device());  // makes the device current
  cudnnHandle_t handle = cudnn_handle(device);  // queues on the device's Ember stream
  auto plan = find_plan("forward", cache_key(0, operands, params.causal), handle,
                        [&](CudnnGraphBuilder& g) { build_forward(g, q, k, v, out, params.causal); });
  if (!plan) return false;
  Tensor ws = workspace(plan->workspace_bytes(), q.device());
  float scale = static_cast<float>(params.scale), neg_inf = causal_mask_fill(cudnnGetVersion());
  std::vector<std::int64_t> ids{kQ, kK, kV, kOut, kStats, kScale};
  std::vector<void*> pointers{q.raw_data(), k.raw_data(), v.raw_data(), out.raw_data(), lse.raw_data(), &scale};
  if (params.causal) {
    ids.push_back(kNegInf);
    pointers.push_back(&neg_inf);
  }
  std::lock_guard lock(plan_cache().execute_mutex());
  plan->execute(handle, ids, pointers, ws.raw_data());
  return true;
}

bool cudnn_sdpa_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                         const Tensor& out, const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk,
                         const Tensor& dv, const kernels::SdpaParams& params) {
  const std::vector<const Tensor*> operands{&q, &k, &v, &out, &g, &dq, &dk, &dv};
  const std::string why = unsupported(operands, key_lengths, params, q.size(3), v.size(3));
  if (!why.empty()) return decline("backward", why);
  const int device = q.device().index;
  launch_stream(q.device());  // makes the device current
  cudnnHandle_t handle = cudnn_handle(device);  // queues on the device's Ember stream
  auto plan = find_plan("backward", cache_key(1, operands, params.causal), handle, [&](CudnnGraphBuilder& graph) {
    build_backward(graph, q, k, v, out, g, dq, dk, dv, params.causal);
  });
  if (!plan) return false;
  // Workspace: float32 dQ accumulator (B, H, Nq, D), then delta (B, H, Nq), then cuDNN's own.
  const std::int64_t rows = q.size(0) * q.size(1) * q.size(2);
  const std::int64_t accum_bytes = round_up(rows * q.size(3) * 4), delta_bytes = round_up(rows * 4);
  Tensor ws = workspace(accum_bytes + delta_bytes + plan->workspace_bytes(), q.device());
  char* base = static_cast<char*>(ws.raw_data());
  float scale = static_cast<float>(params.scale), one = 1.0f, neg_inf = causal_mask_fill(cudnnGetVersion());
  std::vector<std::int64_t> ids{kQ, kK, kV, kOut, kGradOut, kStats, kGradQ, kGradK, kGradV,
                                kScale, kOne, kDelta, kGradQAccum};
  std::vector<void*> pointers{q.raw_data(),  k.raw_data(),  v.raw_data(),  out.raw_data(), g.raw_data(),
                              lse.raw_data(), dq.raw_data(), dk.raw_data(), dv.raw_data(),  &scale,
                              &one,           base + accum_bytes,           base};
  if (params.causal) {
    ids.push_back(kNegInf);
    pointers.push_back(&neg_inf);
  }
  // Cleared here although cuDNN >= 9.6 clears it too: cheap, and independent of that behaviour.
  EMBER_CUDA_CHECK(cudaMemsetAsync(base, 0, static_cast<std::size_t>(accum_bytes), stream(device)));
  std::lock_guard lock(plan_cache().execute_mutex());
  plan->execute(handle, ids, pointers, base + accum_bytes + delta_bytes);
  return true;
}

}  // namespace ember::cuda
