// How data-parallel training groups gradients into buckets, one all-reduce per bucket.
//
// Backward produces gradients roughly in reverse registration order (the last layer first), so
// buckets are filled walking the parameters backwards: the first bucket holds the last layers'
// gradients and is ready to reduce while backward still works on the early layers. A bucket closes
// once it holds at least bucket_bytes (so one large parameter makes a bucket of its own), and at
// every change of dtype or device (a bucket is one flat tensor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace ember::dist {

// One parameter's place in a bucket: its index in the parameter list, and where its gradient's
// elements sit in the bucket's flat buffer.
struct BucketSlot {
  std::size_t parameter = 0;
  std::int64_t offset = 0;
  std::int64_t numel = 0;
};

struct BucketPlan {
  DType dtype = kFloat32;
  Device device = kCPU;
  std::int64_t numel = 0;        // elements in the flat buffer
  std::vector<BucketSlot> slots;  // in the order gradients are expected (reverse registration)
};

// Buckets for `parameters` (in registration order). bucket_bytes must be positive.
std::vector<BucketPlan> plan_buckets(const std::vector<Tensor>& parameters, std::size_t bucket_bytes);

}  // namespace ember::dist
