// plan_buckets (gradient_buckets.h): reverse registration order, closed by size, dtype or device.
#include "distributed/gradient_buckets.h"

#include "core/error.h"

namespace ember::dist {

std::vector<BucketPlan> plan_buckets(const std::vector<Tensor>& parameters, std::size_t bucket_bytes) {
  EMBER_CHECK(bucket_bytes > 0, "DistributedDataParallel: bucket_bytes must be positive, got 0");
  std::vector<BucketPlan> buckets;
  std::size_t open_bytes = 0;
  for (std::size_t i = parameters.size(); i-- > 0;) {
    const Tensor& p = parameters[i];
    const bool fits = !buckets.empty() && open_bytes < bucket_bytes && buckets.back().dtype == p.dtype() &&
                      buckets.back().device == p.device();
    if (!fits) {
      buckets.push_back(BucketPlan{.dtype = p.dtype(), .device = p.device(), .numel = 0, .slots = {}});
      open_bytes = 0;
    }
    BucketPlan& bucket = buckets.back();
    bucket.slots.push_back({.parameter = i, .offset = bucket.numel, .numel = p.numel()});
    bucket.numel += p.numel();
    open_bytes += static_cast<std::size_t>(p.numel()) * element_size(p.dtype());
  }
  return buckets;
}

}  // namespace ember::dist
