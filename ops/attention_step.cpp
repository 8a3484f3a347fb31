// softmax_attention_step and linear_attention_step entry points: checks shared by both (the new
// position's q, k, v and out), the layout of the memory each kind updates, and version bumps.
#include "ops/attention_step.h"

#include <algorithm>
#include <cmath>

#include "autograd/node.h"
#include "core/memory_overlap.h"

namespace ember {

namespace kernels {
constinit DispatchStub<softmax_attention_step_fn> softmax_attention_step_stub("softmax_attention_step");
constinit DispatchStub<linear_attention_step_fn> linear_attention_step_stub("linear_attention_step");
}  // namespace kernels

namespace {

bool unit_last_stride(const Tensor& t) { return t.size(-1) <= 1 || t.stride(-1) == 1; }

// t.shape() == dims without building a Shape (a heap allocation per step).
bool has_shape(const Tensor& t, std::initializer_list<std::int64_t> dims) {
  return std::equal(t.shape().begin(), t.shape().end(), dims.begin(), dims.end());
}

// q, k (B, H, D), v and out (B, H, M); one float dtype and device for these and `memory` (the
// cache or the state), no input that requires grad, and an out that overlaps none of them.
void check_step(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                std::initializer_list<Tensor> memory) {
  EMBER_CHECK(q.defined() && k.defined() && v.defined() && out.defined() &&
                  std::all_of(memory.begin(), memory.end(), [](const Tensor& t) { return t.defined(); }),
              "{}: undefined tensor argument", op);
  EMBER_CHECK(q.dim() == 3 && k.shape() == q.shape() && v.dim() == 3 && v.size(0) == q.size(0) &&
                  v.size(1) == q.size(1) && out.shape() == v.shape(),
              "{}: expected q, k (B, H, D) and v, out (B, H, M), got q {}, k {}, v {}, out {}", op, q.shape(),
              k.shape(), v.shape(), out.shape());
  bool same = is_floating(q.dtype());
  for (const Tensor& t : {k, v, out}) same = same && t.dtype() == q.dtype() && t.device() == q.device();
  for (const Tensor& t : memory) same = same && t.dtype() == q.dtype() && t.device() == q.device();
  EMBER_CHECK(same, "{}: q, k, v, out and the cache must share one device and a float32 or float64 dtype, got q {} "
              "on {}, k {} on {}, v {} on {}, out {} on {}", op, q.dtype(), q.device(), k.dtype(), k.device(),
              v.dtype(), v.device(), out.dtype(), out.device());
  EMBER_CHECK(unit_last_stride(q) && unit_last_stride(k) && unit_last_stride(v) && unit_last_stride(out),
              "{}: q, k, v and out need a unit last-dim stride, got strides {}, {}, {}, {}", op, q.strides(),
              k.strides(), v.strides(), out.strides());
  EMBER_CHECK(!autograd::any_requires_grad({q, k, v}) &&
                  std::none_of(memory.begin(), memory.end(), [](const Tensor& t) { return t.requires_grad(); }) &&
                  !out.requires_grad(),
              "{}: inference only, but an input requires grad (call it under NoGradGuard)", op);
  bool apart = !has_internal_overlap(out);
  for (const Tensor& t : {q, k, v}) apart = apart && memory_overlap(out, t) == Overlap::None;
  for (const Tensor& t : memory) apart = apart && memory_overlap(out, t) == Overlap::None;
  EMBER_CHECK(apart, "{}: out of shape {} overlaps itself or an input", op, out.shape());
}

}  // namespace

void softmax_attention_step(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& keys,
                            const Tensor& values, std::int64_t length, const Tensor& out, double scale) {
  const char* op = "softmax_attention_step";
  check_step(op, q, k, v, out, {keys, values});
  const std::int64_t B = q.size(0), H = q.size(1), D = q.size(2), M = v.size(2);
  EMBER_CHECK(keys.dim() == 4 && keys.size(0) == B && keys.size(1) == H && keys.size(3) == D && values.dim() == 4 &&
                  values.size(0) == B && values.size(1) == H && values.size(2) == keys.size(2) && values.size(3) == M &&
                  keys.is_contiguous() && values.is_contiguous(),
              "{}: expected contiguous keys (B, H, capacity, D) and values (B, H, capacity, M) for q {} and v {}, "
              "got {} and {}", op, q.shape(), v.shape(), keys.shape(), values.shape());
  EMBER_CHECK(length >= 0 && length < keys.size(2) && scale >= 0,
              "{}: the new position {} must lie inside the cache's capacity {}, and scale {} must not be negative", op,
              length, keys.size(2), scale);
  const double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(std::max<std::int64_t>(D, 1)));
  kernels::softmax_attention_step_stub(q.device())(q, k, v, keys, values, length, out, s);
  keys.storage()->bump_version();
  values.storage()->bump_version();
  out.storage()->bump_version();
}

void linear_attention_step(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& state,
                           const Tensor& normalizer, const Tensor& out, StepFeatureMap feature_map, double eps) {
  const char* op = "linear_attention_step";
  check_step(op, q, k, v, out, {state, normalizer});
  const std::int64_t B = q.size(0), H = q.size(1), D = q.size(2), M = v.size(2);
  EMBER_CHECK(has_shape(state, {B, H, D, M}) && has_shape(normalizer, {B, H, D, 1}) &&
                  state.is_contiguous() && normalizer.is_contiguous(),
              "{}: expected contiguous state [{}, {}, {}, {}] and normalizer [{}, {}, {}, 1], got {} and {}", op, B, H,
              D, M, B, H, D, state.shape(), normalizer.shape());
  EMBER_CHECK(eps >= 0, "{}: eps must be >= 0, got {}", op, eps);
  kernels::linear_attention_step_stub(q.device())(q, k, v, state, normalizer, out, feature_map, eps);
  state.storage()->bump_version();
  normalizer.storage()->bump_version();
  out.storage()->bump_version();
}

}  // namespace ember
